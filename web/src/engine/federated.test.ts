// SPDX-License-Identifier: Apache-2.0
// Federated training through EngineHost with the real module (node build) against a scripted
// server behind a fake socket: a full session, a dropped connection rejoined under the same client
// id, a final refusal, a failure before joining, and stop.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Disco } from '@wasm/disco';
import type { Connect } from './federated';
import type { DataSummary, TaskLoaded, TrainResult } from './protocol';
import { fakeServer, message, Msg, hostWithAsk, recorder, type ServerSide, weights } from './test_support';

let disco: Disco;
beforeAll(async () => {
  disco = await (await import('./test_support')).loadNodeDisco();
});

const TASK = {
  id: 'tiny',
  title: 'tiny',
  data: { type: 'tabular', labels: ['a', 'b'], tabular: { input_columns: ['x1', 'x2'], output_columns: ['y'] } },
  model: {
    input_shape: [2],
    layers: [
      { type: 'dense', units: 4, activation: 'relu' },
      { type: 'dense', units: 2, activation: 'softmax' },
    ],
    loss: 'sparse_categorical_crossentropy',
    optimizer: { type: 'adam', learning_rate: 0.05 },
  },
  training: { epochs: 3, batch_size: 4, validation_split: 0.2, seed: 3, round_duration: 1 },
  federation: { scheme: 'federated', min_participants: 2 },
};

function csv(n: number): ArrayBuffer {
  let text = 'x1,x2,y\n';
  for (let i = 0; i < n; i++) {
    const a = Math.sin(i * 1.7) * 2;
    const b = Math.cos(i * 2.3) * 2;
    text += `${a},${b},${a + b > 0 ? 'b' : 'a'}\n`;
  }
  return new TextEncoder().encode(text).buffer as ArrayBuffer;
}

const FAST = { backoffMs: 5, maxBackoffMs: 20, sliceMs: 5, progressMs: 0, keepaliveMs: 0 };

async function setup(connect: Connect, policy: Partial<typeof FAST> = {}) {
  const rec = recorder(disco, connect, { sessionPolicy: { ...FAST, ...policy } });
  const { host, ask } = hostWithAsk(rec);
  await ask({ type: 'init' });
  const loaded = await ask<TaskLoaded>({ type: 'loadTask', task: TASK });
  await ask<DataSummary>({ type: 'connectData', role: 'train', source: { kind: 'csv', name: 'tiny.csv', bytes: csv(40) } });
  return { rec, host, ask, loaded };
}

/** A sync server for `nRounds` rounds with one client, global = previous global + mean delta. */
function roundServer(fingerprint: () => string, nParams: () => number, opts: { nRounds: number; dropInRound?: number; silentFirst?: boolean }) {
  let global: Float32Array | null = null;
  let round = 0;
  let dropped = false;
  const ids: string[] = [];
  const start = (side: ServerSide) => {
    round += 1;
    side.send(message(Msg.StartRound, { round, weights: weights(fingerprint(), global!), deadline_ms: 0 }));
  };
  const server = fakeServer({
    onMessage(side, msg) {
      if (msg.type === Msg.Hello) {
        const id = (msg.body['client_id'] as string) || 'client-1';
        ids.push(msg.body['client_id'] as string);
        global ??= new Float32Array(nParams()).fill(0.01);
        side.send(message(Msg.Welcome, { client_id: id, round, model_fingerprint: fingerprint(), n_params: nParams(), min_participants: 1, n_rounds: opts.nRounds }));
        side.send(message(Msg.Waiting, { n_connected: 1, n_required: 2 }));
        // silentFirst: the first connection goes quiet (answers nothing, not even Pings).
        if (opts.silentFirst && ids.length === 1) return;
        if (round === 0) setTimeout(() => start(side), 20);
        else {
          round -= 1; // the abandoned round restarts
          start(side);
        }
        return;
      }
      if (msg.type === Msg.Contribution) {
        if (opts.dropInRound === round && !dropped) {
          dropped = true;
          side.drop('reset by peer');
          return;
        }
        const update = msg.body['update'] as { data: Uint8Array };
        const delta = new Float32Array(update.data.slice().buffer);
        global = global!.map((w, i) => w + delta[i]!);
        side.send(message(Msg.RoundResult, { round, n_participants: 1, loss: { f64: msg.body['loss'] as number } }));
        if (round < opts.nRounds) start(side);
        else side.send(message(Msg.Finished, { round, weights: weights(fingerprint(), global) }));
      }
    },
  });
  return { ...server, ids, global: () => global };
}

describe('federated training', () => {
  it('trains every round and ends with the final global model', async () => {
    let fp = '';
    let n = 0;
    const server = roundServer(() => fp, () => n, { nRounds: 3 });
    const { rec, ask, loaded } = await setup(server.connect);
    fp = loaded.fingerprint;
    n = loaded.nWeights;
    const result = await ask<TrainResult>({ type: 'train', mode: { kind: 'federated', url: 'ws://test/ws/tiny' } });
    expect(result).toEqual({ stopped: false, rounds: 3 });
    const contributions = server.connections[0]!.received.filter((m) => m.type === Msg.Contribution);
    expect(contributions.map((m) => m.body['round'])).toEqual([1, 2, 3]);
    expect(contributions[0]!.body['n_samples']).toBe(32); // 40 rows minus the 20 % validation split
    const rounds = rec.events('round');
    expect(rounds.map((r) => r.round)).toEqual([1, 2, 3]);
    expect(rounds.every((r) => r.participants === 1 && r.valLoss !== null && r.valAccuracy !== null)).toBe(true);
    // Every local epoch of every round is reported with its own training metrics.
    const epochs = rec.events('epoch');
    const perRound = epochs.length / 3;
    expect(perRound).toBeGreaterThanOrEqual(1);
    expect(epochs.map((e) => [e.round, e.epoch])).toEqual(
      [1, 2, 3].flatMap((r) => Array.from({ length: perRound }, (_, i) => [r, i + 1])),
    );
    expect(epochs.every((e) => Number.isFinite(e.loss) && e.loss > 0 && e.valLoss === null)).toBe(true);
    const phases = rec.events('status').map((s) => s.phase);
    expect(phases[0]).toBe('connecting');
    expect(phases).toContain('waiting');
    expect(phases).toContain('training');
    expect(phases).toContain('aggregating');
    expect(phases.at(-1)).toBe('finished');
    expect(rec.events('status').some((s) => s.message === 'waiting for participants 1/2')).toBe(true);
    // The model holds the final global weights.
    const exported = await ask<{ bytes: ArrayBuffer }>({ type: 'exportModel' });
    const model = disco.loadModel(new Uint8Array(exported.bytes));
    expect(Array.from(model.getWeights())).toEqual(Array.from(server.global()!));
    model.dispose();
    expect(server.connections[0]!.closedByClient).toBe('training finished');
  }, 30_000);

  it('rejoins under the same client id after a dropped connection', async () => {
    let fp = '';
    let n = 0;
    const server = roundServer(() => fp, () => n, { nRounds: 2, dropInRound: 1 });
    const { rec, ask, loaded } = await setup(server.connect);
    fp = loaded.fingerprint;
    n = loaded.nWeights;
    const result = await ask<TrainResult>({ type: 'train', mode: { kind: 'federated', url: 'ws://test/ws/tiny' } });
    expect(result.rounds).toBe(2);
    expect(server.connections).toHaveLength(2);
    expect(server.ids).toEqual(['', 'client-1']);
    expect(rec.events('status').some((s) => s.phase === 'reconnecting' && /reset by peer/.test(s.message))).toBe(true);
    // The restarted round 1 (same weights) is answered from the cached result.
    const c1 = server.connections[0]!.received.find((m) => m.type === Msg.Contribution)!;
    const c2 = server.connections[1]!.received.find((m) => m.type === Msg.Contribution)!;
    expect((c2.body['update'] as { data: Uint8Array }).data).toEqual((c1.body['update'] as { data: Uint8Array }).data);
  }, 30_000);

  it('pings a quiet server and reconnects when nothing comes back (keepalive)', async () => {
    let fp = '';
    let n = 0;
    const server = roundServer(() => fp, () => n, { nRounds: 2, silentFirst: true });
    const { rec, ask, loaded } = await setup(server.connect, { keepaliveMs: 40 });
    fp = loaded.fingerprint;
    n = loaded.nWeights;
    const result = await ask<TrainResult>({ type: 'train', mode: { kind: 'federated', url: 'ws://test/ws/tiny' } });
    expect(result).toEqual({ stopped: false, rounds: 2 });
    expect(server.connections).toHaveLength(2);
    expect(server.ids).toEqual(['', 'client-1']); // the same client id rejoined
    expect(server.connections[0]!.received.some((m) => m.type === Msg.Ping)).toBe(true);
    expect(rec.events('status').some((s) => s.phase === 'reconnecting' && /no message from the server for 80 ms/.test(s.message))).toBe(true);
  }, 30_000);

  it('reports a refusal and does not retry it', async () => {
    const server = fakeServer({
      onMessage(side, msg) {
        if (msg.type === Msg.Hello) {
          side.send(message(Msg.Error, { code: 4, message: 'wrong join token' }));
          setTimeout(() => side.drop('closed'), 5);
        }
      },
    });
    const { rec, ask } = await setup(server.connect);
    await expect(ask({ type: 'train', mode: { kind: 'federated', url: 'ws://test/ws/tiny', joinToken: 'nope' } })).rejects.toThrow(/wrong join token/);
    expect(server.connections).toHaveLength(1);
    expect(server.connections[0]!.received[0]!.body['join_token']).toBe('nope');
    expect(rec.events('status').at(-1)).toMatchObject({ phase: 'failed' });
  }, 30_000);

  it('fails clearly when it cannot connect before joining', async () => {
    const server = fakeServer({ onMessage() {}, refuse: () => true });
    const { ask } = await setup(server.connect);
    await expect(ask({ type: 'train', mode: { kind: 'federated', url: 'ws://nowhere/ws/tiny' } })).rejects.toThrow(
      'cannot connect to ws://nowhere/ws/tiny: connection refused (before joining the task)',
    );
  }, 30_000);

  it('gives up after the reconnect attempts, and stop ends a session', async () => {
    let fp = '';
    let n = 0;
    let refuseFrom = Infinity;
    const server = fakeServer({
      onMessage(side, msg) {
        if (msg.type === Msg.Contribution && side.index === 0) {
          refuseFrom = 1;
          side.drop('gone');
          return;
        }
        if (msg.type === Msg.Hello) {
          side.send(message(Msg.Welcome, { client_id: 'c9', round: 0, model_fingerprint: fp, n_params: n, min_participants: 1, n_rounds: 5 }));
          side.send(message(Msg.StartRound, { round: 1, weights: weights(fp, new Float32Array(n)), deadline_ms: 0 }));
        }
      },
      refuse: (index) => index >= refuseFrom,
    });
    const { rec, ask, loaded, host } = await setup(server.connect);
    fp = loaded.fingerprint;
    n = loaded.nWeights;
    await expect(ask({ type: 'train', mode: { kind: 'federated', url: 'ws://test/ws/tiny' } })).rejects.toThrow(/gave up after 5 reconnect attempts/);
    expect(server.connections).toHaveLength(6);

    // Stop while waiting for participants.
    const waiting = fakeServer({
      onMessage(side, msg) {
        if (msg.type === Msg.Hello) {
          side.send(message(Msg.Welcome, { client_id: 'c1', round: 0, model_fingerprint: fp, n_params: n, min_participants: 2, n_rounds: 5 }));
          side.send(message(Msg.Waiting, { n_connected: 1, n_required: 2 }));
        }
      },
    });
    rec.env.connect = waiting.connect;
    const training = ask<TrainResult>({ type: 'train', mode: { kind: 'federated', url: 'ws://test/ws/tiny' } });
    while (!rec.events('status').some((s) => s.message === 'waiting for participants 1/2')) await new Promise((r) => setTimeout(r, 5));
    host.handle({ id: 777, type: 'stop' });
    expect(await training).toEqual({ stopped: true, rounds: 0 });
    expect(waiting.connections[0]!.closedByClient).toBe('client leaving');
  }, 30_000);
});
