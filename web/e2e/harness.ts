// SPDX-License-Identifier: Apache-2.0
// Test-only: drives the real training worker through the Engine for e2e/engine_smoke.mjs. Image
// fixtures are BMP files the smoke script writes next to this page (fixtures/<set>/index.json).
import { createEngine } from '../src/engine/engine';
import type { Engine, EngineEvent, ImageFile, TaskJson, TrainMode } from '../src/engine/protocol';

interface Fixture {
  name: string;
  label: string;
}

async function fixtures(set: string, offset: number, n: number): Promise<ImageFile[]> {
  const index = (await (await fetch(`fixtures/${set}/index.json`)).json()) as Fixture[];
  const chosen = index.slice(offset, offset + n);
  return Promise.all(
    chosen.map(async (f) => ({ name: f.name, label: f.label, bytes: await (await fetch(`fixtures/${set}/${f.name}`)).arrayBuffer() })),
  );
}

async function task(id: string): Promise<TaskJson> {
  return (await (await fetch(`/api/tasks/${id}`)).json()) as TaskJson;
}

/** One engine with its events recorded. */
async function open(threads?: number) {
  const engine: Engine = createEngine();
  const events: EngineEvent[] = [];
  engine.onEvent((e) => events.push(e));
  const ready = await engine.init(threads);
  return { engine, events, ready };
}

async function localTraining(taskId: string, n: number, epochs: number) {
  const { engine, events, ready } = await open();
  const t = await task(taskId);
  (t['training'] as Record<string, unknown>)['epochs'] = epochs;
  await engine.loadTask(t);
  const summary = await engine.connectData('train', { kind: 'images', files: await fixtures('train', 0, n) });
  const started = performance.now();
  const result = await engine.train({ kind: 'local' });
  const seconds = (performance.now() - started) / 1000;
  await engine.connectData('test', { kind: 'images', files: await fixtures('test', 0, 200) });
  const test = await engine.test();
  engine.terminate();
  return { ready, summary, result, seconds, epochs: events.filter((e) => e.type === 'epoch'), testAccuracy: test.accuracy, testLoss: test.loss };
}

async function stopTraining(taskId: string, n: number) {
  const { engine, events } = await open();
  const t = await task(taskId);
  (t['training'] as Record<string, unknown>)['epochs'] = 100;
  await engine.loadTask(t);
  await engine.connectData('train', { kind: 'images', files: await fixtures('train', 0, n) });
  const training = engine.train({ kind: 'local' });
  while (!events.some((e) => e.type === 'progress')) await new Promise((r) => setTimeout(r, 10));
  const asked = performance.now();
  await engine.stop();
  const result = await training;
  const stopMs = performance.now() - asked;
  engine.terminate();
  return { result, stopMs, epochsDone: events.filter((e) => e.type === 'epoch').length, lastStatus: events.filter((e) => e.type === 'status').at(-1) };
}

async function federated(taskId: string, offset: number, n: number) {
  const { engine, events, ready } = await open();
  await engine.loadTask(await task(taskId));
  await engine.connectData('train', { kind: 'images', files: await fixtures('train', offset, n) });
  const mode: TrainMode = { kind: 'federated', url: `${location.origin.replace(/^http/, 'ws')}/ws/${taskId}` };
  const started = performance.now();
  let result;
  try {
    result = await engine.train(mode);
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e), events };
  }
  const seconds = (performance.now() - started) / 1000;
  await engine.connectData('test', { kind: 'images', files: await fixtures('test', 0, 200) });
  const test = await engine.test();
  const model = new Uint8Array(await engine.exportModel());
  let hash = 0;
  for (const b of model) hash = (hash * 31 + b) >>> 0;
  engine.terminate();
  return {
    ready,
    result,
    seconds,
    rounds: events.filter((e) => e.type === 'round'),
    phases: [...new Set(events.filter((e) => e.type === 'status').map((e) => (e.type === 'status' ? e.phase : '')))],
    messages: events.filter((e) => e.type === 'status').map((e) => (e.type === 'status' ? e.message : '')),
    testAccuracy: test.accuracy,
    modelHash: hash,
    modelBytes: model.length,
  };
}

const harness = { localTraining, stopTraining, federated, open };
(window as unknown as { harness: typeof harness }).harness = harness;
document.getElementById('state')!.textContent = 'ready';
