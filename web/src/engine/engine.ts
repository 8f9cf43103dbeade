// SPDX-License-Identifier: Apache-2.0
// The page's side of the training worker: createEngine() starts engine/worker.ts and returns the
// Engine of protocol.ts. Each method posts one request with a fresh id and resolves (or rejects)
// when the worker's reply with that id arrives; events go to the listeners of onEvent(). Nothing
// here knows what a request does: the worker decides everything.
import type {
  DataRole,
  DataSource,
  DataSummary,
  Engine,
  EngineEvent,
  PredictResult,
  Ready,
  Request,
  TaskJson,
  TaskLoaded,
  TestResult,
  TrainMode,
  TrainResult,
  WorkerMessage,
} from './protocol';

/** What the engine needs of a Worker (tests pass a fake). */
export interface WorkerPort {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  addEventListener(type: 'error', listener: (event: ErrorEvent) => void): void;
  terminate(): void;
}

/** A request without its id (the engine assigns ids). */
type Body = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;

/** The ArrayBuffers a request carries, transferred to the worker (the caller's become detached). */
function transferables(body: Body): Transferable[] {
  if (body.type === 'loadModel') return [body.bytes];
  if (body.type !== 'connectData') return [];
  const source = body.source;
  if (source.kind === 'images') {
    // One buffer may back several files; transfer each once.
    return [...new Set(source.files.map((f) => f.bytes))];
  }
  return [source.bytes];
}

/** An Engine over any worker-like port. */
export function connectEngine(port: WorkerPort): Engine {
  let nextId = 1;
  let dead: Error | null = null;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Set<(event: EngineEvent) => void>();

  const failAll = (error: Error) => {
    dead = error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };

  port.addEventListener('message', (event: MessageEvent) => {
    const message = event.data as WorkerMessage;
    if (message.type === 'reply') {
      const p = pending.get(message.id);
      if (!p) return;
      pending.delete(message.id);
      if (message.ok) p.resolve(message.value);
      else p.reject(new Error(message.error));
      return;
    }
    for (const listener of [...listeners]) {
      try {
        listener(message);
      } catch (e) {
        console.error('engine event listener failed', e);
      }
    }
  });
  port.addEventListener('error', (event: ErrorEvent) => {
    failAll(new Error(`the training worker failed: ${event.message || 'unknown error'}`));
  });

  function send<T>(body: Body): Promise<T> {
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      try {
        port.postMessage({ ...body, id }, transferables(body));
      } catch (e) {
        pending.delete(id);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  return {
    init: (threads?: number) => send<Ready>(threads === undefined ? { type: 'init' } : { type: 'init', threads }),
    loadTask: (task: TaskJson) => send<TaskLoaded>({ type: 'loadTask', task }),
    loadModel: (bytes: ArrayBuffer) => send<TaskLoaded>({ type: 'loadModel', bytes }),
    connectData: (role: DataRole, source: DataSource) => send<DataSummary>({ type: 'connectData', role, source }),
    train: (mode: TrainMode) => send<TrainResult>({ type: 'train', mode }),
    stop: () => send<void>({ type: 'stop' }),
    test: () => send<TestResult>({ type: 'test' }),
    predict: () => send<PredictResult>({ type: 'predict' }),
    exportModel: () => send<{ bytes: ArrayBuffer }>({ type: 'exportModel' }).then((r) => r.bytes),
    onEvent(listener: (event: EngineEvent) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    terminate(): void {
      port.terminate();
      failAll(new Error('the engine was terminated'));
    },
  };
}

/** Starts the training worker (engine/worker.ts) and returns its Engine. */
export function createEngine(): Engine {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'disco-engine' });
  return connectEngine(worker);
}
