// SPDX-License-Identifier: Apache-2.0
// The messages between the page (UI thread) and the training worker (engine/worker.ts). The
// worker owns the WebAssembly module, the task, the connected datasets, the model and, in
// federated training, the WebSocket; the page only draws what the worker reports. Every request
// carries an `id`; the worker answers each with exactly one `reply` (ok or error) with the same id,
// and sends `event`s at any time. Bytes travel as ArrayBuffers (transferred, not copied).

/** The task document as served by GET /api/tasks/ID (the task JSON, docs/task-format.md). */
export type TaskJson = Record<string, unknown> & { id: string };

/** One image to connect: its file name, its label (null for unlabelled data) and its bytes. */
export interface ImageFile {
  name: string;
  label: string | null;
  bytes: ArrayBuffer;
}

/** A data source as the user connected it. */
export type DataSource =
  | { kind: 'images'; files: ImageFile[] }
  /** A tabular CSV; `columns` maps each task column name to the CSV's column name (identity when
   *  absent or for unmapped columns). */
  | { kind: 'csv'; name: string; bytes: ArrayBuffer; columns?: Record<string, string> }
  | { kind: 'text'; name: string; bytes: ArrayBuffer };

/** What the data is for: training (labelled), testing (labelled) or prediction (inputs only). */
export type DataRole = 'train' | 'test' | 'predict';

export interface DataSummary {
  role: DataRole;
  count: number;
  /** Samples per class label (classification tasks with labels), else empty. */
  perLabel: Record<string, number>;
}

export type TrainMode =
  | { kind: 'local' }
  | {
      kind: 'federated';
      /** ws:// or wss:// URL of the task's socket, e.g. ws://127.0.0.1:8080/ws/fashion-mnist. */
      url: string;
      clientId?: string;
      joinToken?: string;
    };

/** Requests (page -> worker). */
export type Request =
  /** Loads the module; reply: Ready. `threads` caps the threads used (default: all available). */
  | { id: number; type: 'init'; threads?: number }
  /** Parses the task and creates a fresh model from its seed; reply: TaskLoaded. */
  | { id: number; type: 'loadTask'; task: TaskJson }
  /** Loads saved weights (safetensors of this task's model) instead of the fresh model. */
  | { id: number; type: 'loadModel'; bytes: ArrayBuffer }
  /** Decodes and checks the data against the task; reply: DataSummary. Replaces earlier data of
   *  the same role. Bad data fails the request with a message naming the file (and line). */
  | { id: number; type: 'connectData'; role: DataRole; source: DataSource }
  /** Trains on the 'train' data; replies when training ends (finished or stopped) with
   *  TrainResult; progress arrives as events meanwhile. */
  | { id: number; type: 'train'; mode: TrainMode }
  /** Stops training at the next batch; the pending 'train' request then replies stopped. */
  | { id: number; type: 'stop' }
  /** Evaluates the current model on the 'test' data; reply: TestResult. */
  | { id: number; type: 'test' }
  /** Predicts on the 'predict' data; reply: PredictResult. */
  | { id: number; type: 'predict' }
  /** The current model as safetensors; reply: { bytes }. */
  | { id: number; type: 'exportModel' };

export interface Ready {
  version: string;
  threads: number;
  maxThreads: number;
  crossOriginIsolated: boolean;
}

export interface TaskLoaded {
  fingerprint: string;
  nWeights: number;
}

export interface TrainResult {
  stopped: boolean;
  /** Rounds completed (federated) or 0 (local). */
  rounds: number;
}

export interface SampleResult {
  /** File name (images) or 1-based data row (CSV, text). */
  name: string;
  label: string | null;
  predicted: string;
  confidence: number;
}

export interface TestResult {
  loss: number;
  accuracy: number;
  labels: string[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  samples: SampleResult[];
}

export interface PredictResult {
  labels: string[];
  samples: SampleResult[];
}

export type Reply =
  | { id: number; type: 'reply'; ok: true; value: unknown }
  | { id: number; type: 'reply'; ok: false; error: string };

/** Phases of a training run, shown as status messages. */
export type Phase =
  | 'connecting'
  | 'waiting' // for participants (federated)
  | 'training'
  | 'sending'
  | 'aggregating' // waiting for the server's new global model
  | 'reconnecting'
  | 'finished'
  | 'stopped'
  | 'failed';

/** Events (worker -> page). */
export type EngineEvent =
  /** A status change; `message` is a human sentence ("waiting for participants 1/2"). */
  | {
      type: 'status';
      phase: Phase;
      message: string;
      round?: number;
      nRounds?: number;
      participants?: number;
      minParticipants?: number;
    }
  /** Progress inside an epoch (throttled to a few per second). */
  | { type: 'progress'; round: number; epoch: number; batch: number; nBatches: number; loss: number; accuracy: number }
  /** One finished local epoch: training and (when there is a validation split) validation
   *  metrics. `round` is 0 in local training. */
  | {
      type: 'epoch';
      round: number;
      epoch: number;
      loss: number;
      accuracy: number;
      valLoss: number | null;
      valAccuracy: number | null;
    }
  /** One finished federated round: the new global model's metrics on this participant's
   *  validation data (null without validation data) and how many contributed. */
  | {
      type: 'round';
      round: number;
      participants: number;
      valLoss: number | null;
      valAccuracy: number | null;
    }
  | { type: 'log'; message: string }
  /** Data being decoded for connectData (images), a few times per second: `done` of `total`
   *  files. (Added by the engine; optional to handle.) */
  | { type: 'dataProgress'; role: DataRole; done: number; total: number };

export type WorkerMessage = Reply | EngineEvent;

/** The page's handle on the worker (engine/engine.ts implements it with a real Worker; tests use a
 *  fake). Each method sends one request and resolves with its reply, or rejects with an Error whose
 *  message is the worker's. */
export interface Engine {
  init(threads?: number): Promise<Ready>;
  loadTask(task: TaskJson): Promise<TaskLoaded>;
  loadModel(bytes: ArrayBuffer): Promise<TaskLoaded>;
  connectData(role: DataRole, source: DataSource): Promise<DataSummary>;
  train(mode: TrainMode): Promise<TrainResult>;
  stop(): Promise<void>;
  test(): Promise<TestResult>;
  predict(): Promise<PredictResult>;
  /** The current model as safetensors bytes. */
  exportModel(): Promise<ArrayBuffer>;
  /** Subscribes to events; returns the unsubscribe function. */
  onEvent(listener: (event: EngineEvent) => void): () => void;
  /** Ends the worker (any training stops at once). */
  terminate(): void;
}
