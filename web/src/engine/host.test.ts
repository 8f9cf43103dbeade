// SPDX-License-Identifier: Apache-2.0
// EngineHost with the real module (node build): data connection and its errors, local training,
// stop, test, predict, model export / import. Fashion-MNIST comes from Debian's
// dataset-fashion-mnist, encoded here as BMP files as a browser user would pick them.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Disco } from '@wasm/disco';
import type { DataSource, DataSummary, ImageFile, PredictResult, TaskLoaded, TestResult, TrainResult } from './protocol';
import { bmp, fashionMnist, hostWithAsk, loadNodeDisco, readTask, recorder, repoDir } from './test_support';

let disco: Disco;
beforeAll(async () => {
  disco = await loadNodeDisco();
});

const noSocket = () => {
  throw new Error('no sockets in this test');
};

/** A host plus a request helper that resolves with the reply's value or rejects with its error. */
function setup() {
  const rec = recorder(disco, noSocket);
  return { rec, ...hostWithAsk(rec) };
}

function fashionFiles(n: number, split: 'train' | 't10k', labelled = true): ImageFile[] {
  const labels = (readTask('fashion-mnist').data as { labels: string[] }).labels;
  const { pixels, labels: ys } = fashionMnist(n, split);
  return pixels.map((p, i) => ({
    name: `${labels[ys[i]!]}/img_${i}.bmp`,
    label: labelled ? labels[ys[i]!]! : null,
    bytes: bmp(p, 28, 28),
  }));
}

describe('EngineHost', () => {
  it('trains locally on Fashion-MNIST images, lowers the loss, tests and predicts', async () => {
    const { rec, ask } = setup();
    const ready = await ask<{ threads: number; maxThreads: number }>({ type: 'init' });
    expect(ready.threads).toBe(1); // not cross-origin isolated
    const task = readTask('fashion-mnist');
    task['training'] = { epochs: 3, batch_size: 32, validation_split: 0.1, seed: 1 };
    const loaded = await ask<TaskLoaded>({ type: 'loadTask', task });
    expect(loaded.fingerprint).toMatch(/^[0-9a-f]{16}$/);

    const summary = await ask<DataSummary>({ type: 'connectData', role: 'train', source: { kind: 'images', files: fashionFiles(300, 'train') } });
    expect(summary.count).toBe(300);
    expect(Object.values(summary.perLabel).reduce((a, b) => a + b, 0)).toBe(300);
    expect(Object.keys(summary.perLabel)).toContain('Ankle boot');

    const result = await ask<TrainResult>({ type: 'train', mode: { kind: 'local' } });
    expect(result).toEqual({ stopped: false, rounds: 0 });
    const epochs = rec.events('epoch');
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    console.log('local epochs', epochs.map((e) => `${e.epoch}: loss ${e.loss.toFixed(3)} acc ${e.accuracy.toFixed(3)} val ${e.valLoss?.toFixed(3)}`).join(' | '));
    expect(epochs[2]!.loss).toBeLessThan(epochs[0]!.loss);
    expect(epochs[2]!.valLoss).not.toBeNull();
    expect(rec.events('status').at(-1)).toMatchObject({ phase: 'finished' });

    await ask<DataSummary>({ type: 'connectData', role: 'test', source: { kind: 'images', files: fashionFiles(100, 't10k') } });
    const test = await ask<TestResult>({ type: 'test' });
    expect(test.samples).toHaveLength(100);
    expect(test.confusion).toHaveLength(10);
    expect(test.labels[9]).toBe('Ankle boot');
    expect(test.accuracy).toBeGreaterThan(0.3);
    expect(test.samples[0]!.name).toMatch(/\/img_0\.bmp$/);
    expect(test.samples.filter((s) => s.label === s.predicted).length / 100).toBeCloseTo(test.accuracy, 5);

    const predictSummary = await ask<DataSummary>({ type: 'connectData', role: 'predict', source: { kind: 'images', files: fashionFiles(5, 't10k', false) } });
    expect(predictSummary.perLabel).toEqual({});
    const predicted = await ask<PredictResult>({ type: 'predict' });
    expect(predicted.samples).toHaveLength(5);
    expect(predicted.samples.every((s) => s.label === null && s.confidence > 0 && s.confidence <= 1)).toBe(true);

    // The trained model survives export and import.
    const bytes = await ask<{ bytes: ArrayBuffer }>({ type: 'exportModel' });
    await ask<TaskLoaded>({ type: 'loadTask', task });
    await ask<DataSummary>({ type: 'connectData', role: 'test', source: { kind: 'images', files: fashionFiles(100, 't10k') } });
    const fresh = await ask<TestResult>({ type: 'test' });
    const again = await ask<TaskLoaded>({ type: 'loadModel', bytes: bytes.bytes });
    expect(again.fingerprint).toBe(loaded.fingerprint);
    const reloaded = await ask<TestResult>({ type: 'test' });
    expect(reloaded.accuracy).toBeCloseTo(test.accuracy, 6);
    expect(reloaded.accuracy).not.toBeCloseTo(fresh.accuracy, 6);
  }, 120_000);

  it('names the file in data errors', async () => {
    const { ask } = setup();
    await ask({ type: 'init' });
    await ask({ type: 'loadTask', task: readTask('fashion-mnist') });
    const files = fashionFiles(3, 'train');
    files[1] = { name: 'Sandal/img_12.png', label: 'Sandal', bytes: new Uint8Array([1, 2, 3]).buffer };
    await expect(ask({ type: 'connectData', role: 'train', source: { kind: 'images', files } })).rejects.toThrow(/^Sandal\/img_12\.png: cannot decode image/);
    const unknown = fashionFiles(2, 'train');
    unknown[0]!.label = 'Sock';
    await expect(ask({ type: 'connectData', role: 'train', source: { kind: 'images', files: unknown } })).rejects.toThrow(
      /unknown label 'Sock' \(labels: T-shirt\/top, Trouser/,
    );
    const unlabelled = fashionFiles(2, 'train', false);
    await expect(ask({ type: 'connectData', role: 'train', source: { kind: 'images', files: unlabelled } })).rejects.toThrow(/img_0\.bmp: no label/);
    await expect(ask({ type: 'train', mode: { kind: 'local' } })).rejects.toThrow(/no training data/);
  }, 30_000);

  it('stops local training mid-epoch', async () => {
    const { rec, host, ask, nextId } = setup();
    await ask({ type: 'init' });
    const task = readTask('fashion-mnist');
    task['training'] = { epochs: 50, batch_size: 8, validation_split: 0, seed: 1 };
    await ask({ type: 'loadTask', task });
    await ask({ type: 'connectData', role: 'train', source: { kind: 'images', files: fashionFiles(200, 'train') } });
    const trainId = nextId();
    const training = ask<TrainResult>({ type: 'train', mode: { kind: 'local' } });
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (rec.events('progress').length > 0) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    await expect(ask({ type: 'test' })).rejects.toThrow(/while training/);
    host.handle({ id: 9999, type: 'stop' });
    const result = await training;
    expect(result.stopped).toBe(true);
    expect(trainId).toBeGreaterThan(0);
    expect(rec.events('epoch').length).toBeLessThan(50);
    expect(rec.events('status').at(-1)).toMatchObject({ phase: 'stopped' });
  }, 60_000);

  it('maps CSV columns, names file and line in errors, and predicts without labels', async () => {
    const { ask, rec } = setup();
    await ask({ type: 'init' });
    const task = readTask('penguins');
    task['training'] = { epochs: 5, batch_size: 16, validation_split: 0.2, seed: 7 };
    await ask({ type: 'loadTask', task });
    const csv = readFileSync(resolve(repoDir, 'tasks/data/penguins.csv'), 'utf8').replace(/^species,island,bill_length_mm/, 'Species,Island,Bill (mm)');
    const columns = { species: 'Species', island: 'Island', bill_length_mm: 'Bill (mm)' };
    const enc = (s: string) => new TextEncoder().encode(s).buffer as ArrayBuffer;
    const source = (text: string, cols: Record<string, string> | undefined): DataSource => ({ kind: 'csv', name: 'penguins.csv', bytes: enc(text), columns: cols });

    await expect(ask({ type: 'connectData', role: 'train', source: source(csv, undefined) })).rejects.toThrow(/penguins\.csv: no column 'island' \(columns: Species, Island/);
    const lines = csv.split('\n');
    lines[3] = lines[3]!.replace(/^(\w+),(\w+),[\d.]+/, '$1,$2,abc');
    await expect(ask({ type: 'connectData', role: 'train', source: source(lines.join('\n'), columns) })).rejects.toThrow(
      /penguins\.csv:4: column 'Bill \(mm\)' \(task column 'bill_length_mm'\): 'abc' is not a number/,
    );
    await expect(ask({ type: 'connectData', role: 'predict', source: source(csv, columns) })).rejects.toThrow(/connect the training data or load a trained model first/);

    const summary = await ask<DataSummary>({ type: 'connectData', role: 'train', source: source(csv, columns) });
    expect(summary.count).toBeGreaterThan(300);
    expect(Object.keys(summary.perLabel)).toEqual(['Adelie', 'Chinstrap', 'Gentoo']);
    await ask({ type: 'train', mode: { kind: 'local' } });
    const epochs = rec.events('epoch');
    expect(epochs.at(-1)!.valAccuracy).toBeGreaterThan(0.8);

    // Prediction rows without the label column, read with the training data's transform.
    const header = 'Island,Bill (mm),bill_depth_mm,flipper_length_mm,body_mass_g,sex,year';
    const rows = csv
      .split('\n')
      .slice(1, 6)
      .map((l) => l.split(',').slice(1).join(','));
    await ask({ type: 'connectData', role: 'predict', source: source([header, ...rows].join('\n'), columns) });
    const predicted = await ask<PredictResult>({ type: 'predict' });
    expect(predicted.samples.map((s) => s.name)).toEqual(['1', '2', '3', '4', '5']);
    expect(predicted.samples.every((s) => s.label === null)).toBe(true);
    expect(predicted.samples[0]!.predicted).toBe('Adelie');

    // Exported with its transform: a fresh task reads test CSVs after loading the model.
    const exported = await ask<{ bytes: ArrayBuffer }>({ type: 'exportModel' });
    await ask({ type: 'loadTask', task });
    await ask({ type: 'loadModel', bytes: exported.bytes });
    await ask({ type: 'connectData', role: 'test', source: source(csv, columns) });
    const test = await ask<TestResult>({ type: 'test' });
    expect(test.accuracy).toBeGreaterThan(0.8);
  }, 60_000);

  it('refuses requests while training and before init', async () => {
    const { ask } = setup();
    await expect(ask({ type: 'loadTask', task: readTask('penguins') })).rejects.toThrow(/not initialised/);
    await ask({ type: 'init' });
    await expect(ask({ type: 'loadTask', task: { id: 'x' } })).rejects.toThrow(/.+/);
    await expect(ask({ type: 'test' })).rejects.toThrow(/no test data/);
  });
});
