// SPDX-License-Identifier: Apache-2.0
// A scripted stand-in for the engine (protocol.ts's Engine) for UI development and demos: it
// counts the connected samples and plays a plausible sequence of events. It trains nothing.
import type { DataRole, DataSource, DataSummary, Engine, EngineEvent, TaskJson, TrainMode } from '../engine/protocol';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createFakeEngine(opts: { delayMs?: number } = {}): Engine {
  const delay = opts.delayMs ?? 250;
  const listeners = new Set<(e: EngineEvent) => void>();
  const emit = (e: EngineEvent) => listeners.forEach((l) => l(e));
  let task: TaskJson | null = null;
  const data = new Map<DataRole, { names: string[]; labels: (string | null)[] }>();
  let stopping = false;
  const labels = () => {
    const d = (task?.data ?? {}) as Record<string, unknown>;
    return Array.isArray(d.labels) && d.labels.length > 0 ? (d.labels as string[]) : ['0', '1'];
  };
  const count = (s: DataSource) => {
    if (s.kind === 'images') {
      const bad = s.files.find((f) => f.bytes.byteLength === 0);
      if (bad) throw new Error(`${bad.name}: not an image (empty file)`);
      return { names: s.files.map((f) => f.name), labels: s.files.map((f) => f.label) };
    }
    const lines = new TextDecoder().decode(s.bytes).split(/\r?\n/).filter((l) => l.trim() !== '');
    const rows = s.kind === 'csv' ? lines.slice(1) : lines;
    return { names: rows.map((_, i) => String(i + 1)), labels: rows.map(() => null) };
  };
  return {
    async init() {
      await sleep(10);
      return { version: 'fake', threads: 1, maxThreads: 1, crossOriginIsolated: false };
    },
    async loadTask(t) {
      task = t;
      return { fingerprint: 'fake', nWeights: 0 };
    },
    async loadModel(bytes) {
      if (bytes.byteLength === 0) throw new Error('model: empty file');
      return { fingerprint: 'fake', nWeights: 0 };
    },
    async connectData(role, source): Promise<DataSummary> {
      const d = count(source);
      data.set(role, d);
      const perLabel: Record<string, number> = {};
      for (const l of d.labels) if (l !== null) perLabel[l] = (perLabel[l] ?? 0) + 1;
      return { role, count: d.names.length, perLabel };
    },
    async train(mode: TrainMode) {
      if (!data.has('train')) throw new Error('no training data connected');
      stopping = false;
      const tr = (task?.training ?? {}) as Record<string, number>;
      const epochs = tr.epochs ?? 3;
      const fed = mode.kind === 'federated';
      const nRounds = fed ? epochs : 1;
      const perRound = fed ? 1 : epochs;
      if (fed) {
        emit({ type: 'status', phase: 'connecting', message: 'connecting' });
        await sleep(delay);
        emit({ type: 'status', phase: 'waiting', message: 'waiting for participants 1/2', participants: 1, minParticipants: 2 });
        await sleep(delay * 2);
      }
      let e = 0;
      for (let r = 1; r <= nRounds; r++) {
        emit({ type: 'status', phase: 'training', message: fed ? `round ${r}/${nRounds}: training` : 'training locally', round: fed ? r : undefined, nRounds: fed ? nRounds : undefined, participants: 2 });
        for (let k = 0; k < perRound; k++) {
          e++;
          for (let b = 1; b <= 4; b++) {
            if (stopping) {
              emit({ type: 'status', phase: 'stopped', message: 'stopped' });
              return { stopped: true, rounds: r - 1 };
            }
            await sleep(delay / 4);
            emit({ type: 'progress', round: fed ? r : 0, epoch: e, batch: b, nBatches: 4, loss: 2 / (e + b / 4), accuracy: 1 - 0.8 / (e + 1) });
          }
          emit({ type: 'epoch', round: fed ? r : 0, epoch: e, loss: 2 / (e + 1), accuracy: 1 - 0.7 / (e + 1), valLoss: 2.2 / (e + 1), valAccuracy: 1 - 0.8 / (e + 1) });
        }
        if (fed) {
          emit({ type: 'status', phase: 'sending', message: 'sending', round: r, nRounds });
          await sleep(delay / 2);
          emit({ type: 'status', phase: 'aggregating', message: 'aggregating', round: r, nRounds });
          await sleep(delay / 2);
          emit({ type: 'round', round: r, participants: 2, valLoss: 2.1 / (r + 1), valAccuracy: 1 - 0.75 / (r + 1) });
        }
      }
      emit({ type: 'status', phase: 'finished', message: 'finished', round: fed ? nRounds : undefined, nRounds: fed ? nRounds : undefined });
      return { stopped: false, rounds: fed ? nRounds : 0 };
    },
    async stop() {
      stopping = true;
    },
    async test() {
      const d = data.get('test');
      if (!d) throw new Error('no test data connected');
      const ls = labels();
      const confusion = ls.map(() => ls.map(() => 0));
      const samples = d.names.map((name, i) => {
        const label = d.labels[i] ?? ls[i % ls.length];
        const t = ls.indexOf(label);
        const p = i % 8 === 7 ? (t + 1) % ls.length : t;
        confusion[t][p]++;
        return { name, label, predicted: ls[p], confidence: 0.6 + (i % 4) / 10 };
      });
      const correct = samples.filter((s) => s.label === s.predicted).length;
      return { loss: 0.42, accuracy: samples.length ? correct / samples.length : 0, labels: ls, confusion, samples };
    },
    async predict() {
      const d = data.get('predict');
      if (!d) throw new Error('no prediction data connected');
      const ls = labels();
      return { labels: ls, samples: d.names.map((name, i) => ({ name, label: null, predicted: ls[i % ls.length], confidence: 0.9 })) };
    },
    async exportModel() {
      return new Uint8Array(1024).buffer;
    },
    onEvent(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    terminate() {
      stopping = true;
      listeners.clear();
    },
  };
}
