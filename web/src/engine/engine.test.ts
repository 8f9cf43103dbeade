// SPDX-License-Identifier: Apache-2.0
// The page side of the worker (connectEngine) over a fake worker port: ids, replies, errors,
// transfers, events, terminate.
import { describe, expect, it } from 'vitest';
import { connectEngine, type WorkerPort } from './engine';
import type { EngineEvent, Request, WorkerMessage } from './protocol';
import { chooseThreads, moduleUrl } from './load';
import { runSliced, Throttle } from './runtime';

class FakePort implements WorkerPort {
  sent: { message: Request; transfer: Transferable[] }[] = [];
  terminated = false;
  private listeners: ((event: MessageEvent) => void)[] = [];
  private errorListeners: ((event: ErrorEvent) => void)[] = [];
  postMessage(message: unknown, transfer: Transferable[]): void {
    this.sent.push({ message: message as Request, transfer });
  }
  addEventListener(type: 'message' | 'error', listener: ((event: MessageEvent) => void) & ((event: ErrorEvent) => void)): void {
    if (type === 'message') this.listeners.push(listener);
    else this.errorListeners.push(listener);
  }
  terminate(): void {
    this.terminated = true;
  }
  deliver(message: WorkerMessage): void {
    for (const l of this.listeners) l({ data: message } as MessageEvent);
  }
  crash(message: string): void {
    for (const l of this.errorListeners) l({ message } as ErrorEvent);
  }
}

describe('connectEngine', () => {
  it('matches replies to requests by id', async () => {
    const port = new FakePort();
    const engine = connectEngine(port);
    const a = engine.init(2);
    const b = engine.loadTask({ id: 't' });
    expect(port.sent.map((s) => [s.message.id, s.message.type])).toEqual([
      [1, 'init'],
      [2, 'loadTask'],
    ]);
    expect(port.sent[0]!.message).toEqual({ id: 1, type: 'init', threads: 2 });
    port.deliver({ id: 2, type: 'reply', ok: true, value: { fingerprint: 'f', nWeights: 3 } });
    port.deliver({ id: 1, type: 'reply', ok: false, error: 'cannot load the module' });
    await expect(b).resolves.toEqual({ fingerprint: 'f', nWeights: 3 });
    await expect(a).rejects.toThrow('cannot load the module');
  });

  it('transfers the bytes it sends and unwraps exported models', async () => {
    const port = new FakePort();
    const engine = connectEngine(port);
    const shared = new ArrayBuffer(8);
    void engine.connectData('train', {
      kind: 'images',
      files: [
        { name: 'a.png', label: 'x', bytes: shared },
        { name: 'b.png', label: 'y', bytes: shared },
        { name: 'c.png', label: 'y', bytes: new ArrayBuffer(4) },
      ],
    });
    expect(port.sent[0]!.transfer).toHaveLength(2);
    void engine.loadModel(new ArrayBuffer(16));
    expect(port.sent[1]!.transfer).toHaveLength(1);
    const exported = engine.exportModel();
    const bytes = new ArrayBuffer(5);
    port.deliver({ id: 3, type: 'reply', ok: true, value: { bytes } });
    await expect(exported).resolves.toBe(bytes);
  });

  it('passes events to listeners until they unsubscribe', () => {
    const port = new FakePort();
    const engine = connectEngine(port);
    const seen: EngineEvent[] = [];
    const off = engine.onEvent((e) => seen.push(e));
    const event: EngineEvent = { type: 'status', phase: 'training', message: 'round 1/3: training' };
    port.deliver(event);
    off();
    port.deliver({ type: 'log', message: 'not seen' });
    expect(seen).toEqual([event]);
  });

  it('rejects pending and later requests once the worker is gone', async () => {
    const port = new FakePort();
    const engine = connectEngine(port);
    const training = engine.train({ kind: 'local' });
    port.crash('out of memory');
    await expect(training).rejects.toThrow('the training worker failed: out of memory');
    await expect(engine.test()).rejects.toThrow('out of memory');
    const other = connectEngine(new FakePort());
    const pending = other.predict();
    other.terminate();
    await expect(pending).rejects.toThrow('terminated');
  });
});

describe('engine runtime', () => {
  it('uses threads only when cross-origin isolated, within the pool', () => {
    expect(chooseThreads(undefined, false, 8, 3)).toBe(1);
    expect(chooseThreads(undefined, true, 8, 3)).toBe(3);
    expect(chooseThreads(2, true, 8, 3)).toBe(2);
    expect(chooseThreads(0, true, 8, 3)).toBe(1);
    expect(chooseThreads(undefined, true, 1, 3)).toBe(1);
    // Without isolation the worker loads the one-thread build.
    expect(moduleUrl(true)).toBe('/wasm/disco.mjs');
    expect(moduleUrl(false)).toBe('/wasm/single/disco.mjs');
  });

  it('yields between slices and stops when cancelled', async () => {
    let t = 0;
    let steps = 0;
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const done = await runSliced(
      () => {
        t += 10;
        return ++steps < 20;
      },
      () => false,
      () => t,
      30,
    );
    clearInterval(timer);
    expect(done).toBe(true);
    expect(steps).toBe(20);
    expect(ticks).toBeGreaterThan(0); // the event loop ran in between
    let n = 0;
    expect(await runSliced(() => true, () => ++n > 5)).toBe(false);
    const throttle = new Throttle(100, () => t);
    expect(throttle.ready()).toBe(true);
    expect(throttle.ready()).toBe(false);
    t += 100;
    expect(throttle.ready()).toBe(true);
  });
});
