import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { ModelLibrary, modelFileName } from './store';

let n = 0;
const fresh = () => new ModelLibrary(indexedDB, `test-library-${++n}`);
const bytes = (...v: number[]) => new Uint8Array(v).buffer;

describe('ModelLibrary', () => {
  it('adds, lists newest first, reads bytes, renames and deletes', async () => {
    const lib = fresh();
    const a = await lib.add(
      { taskId: 'penguins', taskTitle: 'Penguins', name: 'first', savedAt: 1000, source: 'trained', metrics: { accuracy: 0.9 } },
      bytes(1, 2, 3),
    );
    const b = await lib.add(
      { taskId: 'mnist', taskTitle: 'MNIST', name: 'second', savedAt: 2000, source: 'server', metrics: {} },
      bytes(4),
    );
    expect(a.size).toBe(3);
    expect((await lib.list()).map((m) => m.name)).toEqual(['second', 'first']);
    expect((await lib.list('penguins')).map((m) => m.id)).toEqual([a.id]);
    expect([...new Uint8Array(await lib.bytes(a.id))]).toEqual([1, 2, 3]);

    await lib.rename(a.id, 'renamed');
    expect((await lib.get(a.id))!.name).toBe('renamed');
    expect((await lib.get(a.id))!.metrics).toEqual({ accuracy: 0.9 });

    await lib.remove(b.id);
    expect((await lib.list()).map((m) => m.id)).toEqual([a.id]);
    await expect(lib.bytes(b.id)).rejects.toThrow(/not in the library/);
    await expect(lib.rename(b.id, 'x')).rejects.toThrow(/not in the library/);
    lib.close();
  });
  it('keeps its own copy of the bytes', async () => {
    const lib = fresh();
    const buf = bytes(7, 8);
    const m = await lib.add({ taskId: 't', taskTitle: 't', name: 'n', savedAt: 1, source: 'file', metrics: {} }, buf);
    new Uint8Array(buf)[0] = 0;
    expect([...new Uint8Array(await lib.bytes(m.id))]).toEqual([7, 8]);
  });
  it('makes safe file names', () => {
    expect(modelFileName({ taskId: 'fashion-mnist', name: 'round 3/5' })).toBe('fashion-mnist-round-3-5.safetensors');
    expect(modelFileName({ taskId: 't', name: '' })).toBe('t.safetensors');
  });
});
