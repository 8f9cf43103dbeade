// SPDX-License-Identifier: Apache-2.0
// The browser's federated driver: proto::FederatedClient (through disco.ts) over a WebSocket,
// local rounds trained step-wise (core::LocalRound) on this worker's event loop. It mirrors the
// native driver, src/client/session.cpp, so browsers and `disco train --server` clients train one
// task together:
//   - after every input (open, message, trained, timeout) the machine's actions are drained: Send
//     goes to the socket, TrainLocal starts a local round, Finished keeps the final model; one
//     timer is kept at the machine's deadline;
//   - a round trains in slices (runSliced), so Pings and other messages reach the machine at once;
//     a new TrainLocal for another round or other weights abandons the running round; a finished
//     round's result is cached and reused when the same round restarts with the same weights;
//   - round r's seed is task seed + r, the trainer's seed is task seed + 1, as natively;
//   - after the first ServerWelcome a dropped connection is retried with exponential backoff
//     (500 ms doubling to 10 s, 5 attempts in a row) under the same client id; a refusal is final
//     except Unavailable while rejoining; nothing is retried before the first welcome;
//   - a browser cannot see WebSocket pings, so the machine's keepalive (keepaliveMs) pings a quiet
//     server and, when nothing comes back, the connection counts as dropped (and is retried).
// The driver decides nothing about the protocol: phases, rounds and errors are the machine's.
import { type ClientStatus, type Dataset, type Disco, FederatedClient, LocalRound, type Model, type Task, type Trainer } from '@wasm/disco';
import { evalBatchSize } from './data';
import type { EngineEvent, Phase, TrainResult } from './protocol';
import { type Clock, messageOf, monotonic, pause, runSliced, Throttle } from './runtime';

/** What the driver needs of a socket (engine/socket.ts adapts a WebSocket; tests fake it). */
export interface Connection {
  send(bytes: Uint8Array): void;
  /** Closes after the queued sends; `reason` is for the peer's logs. */
  close(reason: string): void;
  /** Bytes queued and not yet sent. */
  bufferedAmount(): number;
}
export interface ConnectionHandlers {
  onOpen(): void;
  onMessage(bytes: Uint8Array): void;
  /** The connection ended (or never opened); `reason` is a human sentence. Called at most once. */
  onClose(reason: string): void;
}
export type Connect = (url: string, handlers: ConnectionHandlers) => Connection;

/** Timing of reconnects and timeouts; the defaults are the native session's (session.hpp). */
export interface SessionPolicy {
  maxReconnects: number;
  backoffMs: number;
  maxBackoffMs: number;
  helloTimeoutMs: number;
  connectTimeoutMs: number;
  /** The machine's keepalive: a browser cannot see WebSocket pings, so after this long without a
   *  server message the client pings, and after twice this long it treats the connection as
   *  lost and reconnects. */
  keepaliveMs: number;
  /** Longest stretch of training between two yields to the event loop. */
  sliceMs: number;
  /** Least time between two progress events. */
  progressMs: number;
}
export const NATIVE_POLICY: SessionPolicy = {
  maxReconnects: 5,
  backoffMs: 500,
  maxBackoffMs: 10_000,
  helloTimeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  keepaliveMs: 15_000,
  sliceMs: 50,
  progressMs: 250,
};

export interface FederatedOptions {
  disco: Disco;
  task: Task;
  model: Model;
  /** Trains the rounds; `model` is its model. Must not be used by anyone else while running. */
  trainer: Trainer;
  data: Dataset;
  validation: Dataset | null;
  url: string;
  clientId?: string;
  joinToken?: string;
  connect: Connect;
  emit(event: EngineEvent): void;
  clock?: Clock;
  policy?: Partial<SessionPolicy>;
}

/** Thrown by run() when the session failed (the message says why). */
export class SessionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SessionError';
  }
}

type OutcomeKind = 'finished' | 'failed' | 'broken' | 'cancelled';
interface Outcome {
  kind: OutcomeKind;
  error: string;
  protocolCode: string | null;
  welcomed: boolean;
  finished: { round: number; weights: Float32Array } | null;
}

interface Job {
  round: number;
  global: Float32Array;
  cancelled: boolean;
}

interface Cached {
  round: number;
  global: Float32Array;
  delta: Float32Array;
  nSamples: number;
  loss: number;
  accuracy: number;
}

/** The live connection: its machine, and how to drain it or end it. */
interface Live {
  machine: FederatedClient;
  pump(): void;
  end(kind: OutcomeKind, error?: string, protocolCode?: string | null): void;
}

function sameWeights(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

export class FederatedDriver {
  private readonly o: FederatedOptions;
  private readonly policy: SessionPolicy;
  private readonly clock: Clock;
  private readonly nRounds: number;
  private readonly classification: boolean;
  private stopped = false;
  private wakeBackoff: (() => void) | null = null;
  private fatal: string | null = null;

  private clientId = ''; // from the first ServerWelcome
  private completedBase = 0;
  private live: Live | null = null;
  private job: Job | null = null;
  private pending: { round: number; weights: Float32Array } | null = null;
  private cache: Cached | null = null;
  private lastGlobal = -1;
  private readonly progress: Throttle;

  // Status, as native absorb() keeps it.
  private phase: Phase = 'connecting';
  private round = 0;
  private nConnected = 0;
  private nRequired = 0;
  private nCompleted = 0;
  private machineSeen = { connected: 0, required: 0, round: 0, completed: 0 };
  private sending = false;
  private lostReason = '';
  private lastEmitted = '';

  constructor(o: FederatedOptions) {
    this.o = o;
    this.policy = { ...NATIVE_POLICY, ...o.policy };
    this.clock = o.clock ?? monotonic;
    this.nRounds = o.task.info.n_rounds;
    this.classification = o.task.info.labels.length > 0;
    this.nRequired = o.task.info.federation.min_participants;
    this.progress = new Throttle(this.policy.progressMs, this.clock);
  }

  /** Stops soon: the connection closes, a running round is abandoned; run() resolves stopped. */
  stop(): void {
    this.stopped = true;
    if (this.job) this.job.cancelled = true;
    this.wakeBackoff?.();
    this.live?.end('cancelled', 'stopped');
  }

  /** Takes part until training finishes (resolves) or fails (rejects with SessionError). */
  async run(): Promise<TrainResult> {
    this.setPhase('connecting');
    let failures = 0; // consecutive failed reconnect attempts
    while (true) {
      const rejoining = this.clientId !== '';
      if (rejoining) {
        if (failures >= this.policy.maxReconnects) {
          return this.fail(`${this.lostReason}; gave up after ${this.policy.maxReconnects} reconnect attempts`);
        }
        let delay = this.policy.backoffMs;
        for (let i = 0; i < failures && delay < this.policy.maxBackoffMs; i++) delay *= 2;
        failures++;
        await this.sleep(Math.min(delay, this.policy.maxBackoffMs));
      }
      if (this.stopped) return this.finishStopped();

      const outcome = await this.connectOnce(rejoining);
      if (this.fatal !== null) return this.fail(this.fatal);
      switch (outcome.kind) {
        case 'finished':
          return this.finish(outcome.finished!);
        case 'cancelled':
          return this.finishStopped();
        case 'failed':
          if (!(rejoining && !outcome.welcomed && outcome.protocolCode === 'Unavailable')) return this.fail(outcome.error);
          break;
        case 'broken':
          if (this.clientId === '') return this.fail(`${outcome.error} (before joining the task)`);
          break;
      }
      if (outcome.welcomed) failures = 0;
      this.lostReason = outcome.error;
      this.setPhase('reconnecting');
    }
  }

  // ---- one connection ---------------------------------------------------------------------------

  private connectOnce(rejoining: boolean): Promise<Outcome> {
    const o = this.o;
    return new Promise<Outcome>((resolve) => {
      let machine: FederatedClient;
      try {
        machine = new FederatedClient(o.disco, {
          taskId: o.task.info.id,
          modelFingerprint: o.model.fingerprint,
          clientId: rejoining ? this.clientId : o.clientId,
          joinToken: o.joinToken,
          helloTimeoutMs: this.policy.helloTimeoutMs,
          keepaliveMs: this.policy.keepaliveMs,
        });
      } catch (e) {
        this.fatal = messageOf(e);
        resolve({ kind: 'failed', error: this.fatal, protocolCode: null, welcomed: false, finished: null });
        return;
      }
      this.machineSeen = { connected: 0, required: 0, round: 0, completed: 0 };
      let conn: Connection | null = null;
      let connectTimer: ReturnType<typeof setTimeout> | null = null;
      let ended = false;
      let opened = false;
      let welcomed = false;
      let finished: Outcome['finished'] = null;
      let timer: ReturnType<typeof setTimeout> | null = null;
      let inTimeout = false; // the machine is handling its own deadline (no server input)
      let flushTimer: ReturnType<typeof setInterval> | null = null;
      const clearTimers = () => {
        if (timer !== null) clearTimeout(timer);
        if (flushTimer !== null) clearInterval(flushTimer);
        timer = flushTimer = null;
      };

      const end = (kind: OutcomeKind, error = '', protocolCode: string | null = null) => {
        if (ended) return;
        ended = true;
        clearTimers();
        if (connectTimer !== null) clearTimeout(connectTimer);
        this.completedBase += machine.status().n_rounds_completed;
        this.live = null;
        this.pending = null; // a new connection brings a new StartRound
        this.sending = false;
        machine.dispose();
        conn?.close(kind === 'finished' ? 'training finished' : 'client leaving');
        resolve({ kind, error, protocolCode, welcomed, finished });
      };

      const armTimer = () => {
        if (timer !== null) clearTimeout(timer);
        timer = null;
        const deadline = machine.deadline();
        if (deadline === null) return;
        timer = setTimeout(
          () => {
            timer = null;
            if (ended) return;
            inTimeout = true;
            machine.onTimeout(this.clock());
            pump();
            inTimeout = false;
          },
          Math.max(0, deadline - this.clock()),
        );
      };

      const watchFlush = () => {
        if (flushTimer !== null) return;
        flushTimer = setInterval(() => {
          if (conn !== null && conn.bufferedAmount() > 0) return;
          if (flushTimer !== null) clearInterval(flushTimer);
          flushTimer = null;
          this.sending = false;
          this.emitStatus();
        }, 50);
      };

      const pump = () => {
        if (ended) return;
        let action;
        while ((action = machine.nextAction()) !== null) {
          switch (action.kind) {
            case 'send':
              conn?.send(action.bytes);
              break;
            case 'trainLocal':
              if (action.round > 0) this.reportGlobal(action.round - 1, action.weights);
              this.handleTrainLocal(action.round, action.weights);
              break;
            case 'finished':
              this.reportGlobal(action.round, action.weights);
              finished = { round: action.round, weights: action.weights };
              break;
            case 'close':
              break; // the terminal phase below ends the connection
          }
        }
        const status = machine.status();
        const wasTraining = this.phase === 'training';
        this.absorb(status);
        if (!welcomed && status.phase !== 'Connecting' && status.phase !== 'Failed') {
          welcomed = true;
          this.clientId = status.client_id;
        }
        if (status.phase === 'Finished' && finished) return end('finished');
        if (status.phase === 'Failed') {
          const error = status.last_error;
          // A joined connection the keepalive found silent is lost, not refused: reconnect.
          if (inTimeout && welcomed) return end('broken', `${o.url}: ${error?.message ?? 'the server went silent'}`);
          return end('failed', `${o.url}: ${error?.message ?? 'the session failed without a reason'}`, error?.protocol_code ?? null);
        }
        if (wasTraining && status.phase === 'AwaitingResult' && conn !== null && conn.bufferedAmount() > 0) {
          this.sending = true; // the update is still leaving: 'sending' until the socket drained
          watchFlush();
        }
        this.emitStatus();
        if (this.stopped) return end('cancelled', 'stopped');
        armTimer();
      };

      this.live = { machine, pump, end };
      connectTimer = setTimeout(() => {
        if (!opened) end('broken', `cannot connect to ${o.url}: timed out`);
      }, this.policy.connectTimeoutMs);
      conn = o.connect(o.url, {
        onOpen: () => {
          if (ended) return;
          opened = true;
          if (connectTimer !== null) clearTimeout(connectTimer);
          machine.onConnected(this.clock());
          pump();
        },
        onMessage: (bytes) => {
          if (ended) return;
          machine.onMessage(bytes, this.clock());
          pump();
        },
        onClose: (reason) => {
          end('broken', opened ? reason : `cannot connect to ${o.url}: ${reason}`);
        },
      });
      if (ended) conn.close('client leaving'); // closed during connect()
      else if (this.stopped) end('cancelled', 'stopped');
    });
  }

  // ---- local rounds -----------------------------------------------------------------------------

  private handleTrainLocal(round: number, weights: Float32Array): void {
    if (this.cache && this.cache.round === round && sameWeights(this.cache.global, weights)) {
      this.feedCached();
      return;
    }
    if (this.job) {
      if (this.job.round === round && sameWeights(this.job.global, weights)) return;
      this.pending = { round, weights };
      this.job.cancelled = true;
      return;
    }
    const job: Job = { round, global: weights, cancelled: false };
    this.job = job;
    void this.runJob(job);
  }

  private async runJob(job: Job): Promise<void> {
    const o = this.o;
    const t = o.task.info.training;
    let local: LocalRound | null = null;
    let done = false;
    try {
      local = new LocalRound(o.disco, o.trainer, o.data, job.global, {
        epochs: t.round_duration,
        batchSize: t.batch_size,
        proximalMu: o.task.info.federation.proximal_mu,
        seed: (t.seed + job.round) >>> 0,
      });
      const round = local;
      let epochsReported = 0;
      done = await runSliced(
        () => {
          const more = round.step();
          // Each finished local epoch: its own training metrics (the new global model's
          // validation metrics come with the round event).
          for (let e = epochsReported + 1; e <= round.epochsDone; e++) {
            const log = round.epochLog(e);
            o.emit({ type: 'epoch', round: job.round, epoch: e, loss: log.loss, accuracy: log.accuracy, valLoss: null, valAccuracy: null });
          }
          epochsReported = round.epochsDone;
          if (more && this.progress.ready()) {
            o.emit({
              type: 'progress',
              round: job.round,
              epoch: round.epoch,
              batch: round.batchesDone,
              nBatches: round.nBatches,
              loss: round.loss,
              accuracy: round.accuracy,
            });
          }
          return more;
        },
        () => job.cancelled || this.stopped,
        this.clock,
        this.policy.sliceMs,
      );
      if (done) {
        this.cache = { round: job.round, global: job.global, delta: round.delta(), nSamples: round.nSamples, loss: round.loss, accuracy: round.accuracy };
      }
    } catch (e) {
      this.fatal = `local training failed: ${messageOf(e)}`;
    } finally {
      local?.dispose();
      this.job = null;
    }
    if (this.fatal !== null) {
      this.live?.end('failed', this.fatal);
      return;
    }
    // A pending request superseded this job; it decides whether the result still fits.
    if (done && !this.pending) this.feedCached();
    const next = this.pending;
    this.pending = null;
    if (next) this.handleTrainLocal(next.round, next.weights);
    this.live?.pump();
  }

  private feedCached(): void {
    const live = this.live;
    const c = this.cache;
    if (!live || !c) return;
    live.machine.onTrained(c.round, c.delta, c.nSamples, c.loss, this.classification ? c.accuracy : null, this.clock());
  }

  /** A new global model (aggregated in `round`): its metrics on the local validation data. */
  private reportGlobal(round: number, weights: Float32Array): void {
    if (round <= this.lastGlobal) return;
    this.lastGlobal = round;
    if (round < 1) return; // the initial model
    const o = this.o;
    let valLoss: number | null = null;
    let valAccuracy: number | null = null;
    if (o.validation && this.job === null) {
      try {
        o.model.setWeights(weights);
        const ev = o.trainer.evaluate(o.validation, evalBatchSize(o.task));
        valLoss = ev.loss;
        valAccuracy = ev.n_classes > 0 ? ev.accuracy : null;
      } catch (e) {
        o.emit({ type: 'log', message: `cannot evaluate the round ${round} model: ${messageOf(e)}` });
      }
    }
    const participants = this.live?.machine.status().last_round_participants ?? 0;
    o.emit({ type: 'round', round, participants, valLoss, valAccuracy });
  }

  // ---- status -----------------------------------------------------------------------------------

  /** The machine's status as native absorb() reads it (counts survive reconnects). */
  private absorb(s: ClientStatus): void {
    switch (s.phase) {
      case 'Connecting':
        this.phase = this.clientId === '' ? 'connecting' : 'reconnecting';
        break;
      case 'Waiting':
        this.phase = 'waiting';
        break;
      case 'Training':
        this.phase = 'training';
        break;
      case 'AwaitingResult':
        this.phase = 'aggregating';
        break;
      case 'Finished':
      case 'Failed':
        break;
    }
    if (s.round > this.round) this.round = s.round;
    // WaitingForParticipants' count is current only until a round starts or closes.
    const seen = this.machineSeen;
    if (s.n_connected !== seen.connected || s.n_required !== seen.required) this.nConnected = s.n_connected;
    else if (s.round !== seen.round || s.n_rounds_completed !== seen.completed) this.nConnected = 0;
    this.machineSeen = { connected: s.n_connected, required: s.n_required, round: s.round, completed: s.n_rounds_completed };
    if (s.n_required > 0) this.nRequired = s.n_required;
    this.nCompleted = this.completedBase + s.n_rounds_completed;
  }

  private describe(phase: Phase): string {
    const r = `round ${this.round}/${this.nRounds}`;
    switch (phase) {
      case 'connecting':
        return `connecting to ${this.o.url}`;
      case 'reconnecting':
        return `connection lost${this.lostReason ? ` (${this.lostReason})` : ''}; reconnecting`;
      case 'waiting':
        if (this.nConnected > 0 && this.nConnected < this.nRequired) return `waiting for participants ${this.nConnected}/${this.nRequired}`;
        if (this.nRounds > 0 && this.round >= this.nRounds) return 'waiting for the final model';
        return `waiting for round ${this.round + 1}/${this.nRounds}`;
      case 'training':
        return `${r}: training`;
      case 'sending':
        return `${r}: sending the update`;
      case 'aggregating':
        return `${r}: update sent, waiting for the others`;
      default:
        return phase;
    }
  }

  private emitStatus(message?: string): void {
    const phase: Phase = this.phase === 'aggregating' && this.sending ? 'sending' : this.phase;
    const text = message ?? this.describe(phase);
    const key = `${phase}|${text}`;
    if (key === this.lastEmitted) return;
    this.lastEmitted = key;
    this.o.emit({
      type: 'status',
      phase,
      message: text,
      round: this.round,
      nRounds: this.nRounds,
      participants: this.nConnected,
      minParticipants: this.nRequired,
    });
  }

  private setPhase(phase: Phase, message?: string): void {
    this.phase = phase;
    this.emitStatus(message);
  }

  // ---- endings ----------------------------------------------------------------------------------

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeBackoff = done;
    }).then(() => {
      this.wakeBackoff = null;
    });
  }

  private async settle(): Promise<void> {
    // Let an abandoned round notice and release the trainer.
    while (this.job !== null) await pause(5);
  }

  private async finish(final: { round: number; weights: Float32Array }): Promise<TrainResult> {
    await this.settle();
    try {
      this.o.model.setWeights(final.weights);
    } catch (e) {
      return this.fail(`${this.o.url}: the final model does not fit the task (${messageOf(e)})`);
    }
    this.round = Math.max(this.round, final.round);
    this.setPhase('finished', `training finished after ${final.round} rounds`);
    return { stopped: false, rounds: final.round };
  }

  private async finishStopped(): Promise<TrainResult> {
    await this.settle();
    this.setPhase('stopped', 'training stopped');
    return { stopped: true, rounds: this.nCompleted };
  }

  private async fail(message: string): Promise<never> {
    this.stopped = true;
    if (this.job) this.job.cancelled = true;
    await this.settle();
    this.setPhase('failed', message);
    throw new SessionError(message);
  }
}
