// SPDX-License-Identifier: Apache-2.0
// disco.ts: the only TypeScript that touches the wasm module (src/wasm/capi.h, docs/wasm-abi.md).
// A thin typed wrapper: it copies bytes in and out of the module's memory and turns the C ABI's
// handles into classes with dispose(). Every protocol and ML decision stays in C++; nothing here
// parses a protocol message or does arithmetic on weights.
//
//   import createDisco from './disco.mjs';            // the wasm-release build's ES module
//   const disco = await Disco.load(createDisco);
//   const task = disco.parseTask(taskJsonBytes);
//   const model = disco.createModel(task, task.info.training.seed);
//
// Ownership: every object owns one C handle; call dispose() exactly once when done (objects that
// borrow another, e.g. a Trainer borrows its Model, must be disposed first). Arrays returned are
// copies owned by JS. Not thread-safe: use one Disco from one thread (the training worker).

/** The exports of the Emscripten module this file relies on. */
export interface DiscoModule {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  UTF8ToString(ptr: number, maxBytesToRead?: number): string;
  stringToUTF8(str: string, ptr: number, maxBytes: number): void;
  lengthBytesUTF8(str: string): number;
  [fn: `_disco_${string}`]: (...args: number[]) => number;
}

export type DiscoFactory = (options?: Record<string, unknown>) => Promise<DiscoModule>;

/** Error codes of capi.h (mirrors disco::Errc). */
export const ErrorCode = {
  Ok: 0,
  InvalidArgument: 1,
  NotFound: 2,
  Corruption: 3,
  ProtocolViolation: 4,
  Unavailable: 5,
  Cancelled: 6,
  Internal: 7,
} as const;

/** A failure reported by the C ABI: its code and message (disco_last_error). */
export class DiscoError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'DiscoError';
  }
}

export interface TaskInfo {
  id: string;
  title: string;
  summary: string;
  description: string;
  data_type: 'image' | 'tabular' | 'text';
  labels: string[];
  n_rounds: number;
  training: {
    epochs: number;
    batch_size: number;
    validation_split: number;
    seed: number;
    round_duration: number;
  };
  federation: { scheme: string; min_participants: number; proximal_mu: number };
  raw: unknown;
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  n: number;
  n_classes: number;
  confusion: number[][]; // row = true class, column = predicted
  precision: number[];
  recall: number[];
}

export interface EpochLog {
  epoch: number;
  loss: number;
  accuracy: number;
  n_samples: number;
  validation: Evaluation | null;
}

export interface ClientStatus {
  phase: 'Connecting' | 'Waiting' | 'Training' | 'AwaitingResult' | 'Finished' | 'Failed';
  round: number;
  n_rounds_completed: number;
  n_connected: number;
  n_required: number;
  client_id: string;
  n_params: number;
  last_round_metrics: { loss: number | null; accuracy: number | null } | null;
  /** n_participants of the last RoundResult (0 before one). */
  last_round_participants: number;
  /** `protocol_code`: the ErrorMessage's code name ("Unauthorized", "Unavailable", ...) or null. */
  last_error: { code: string; message: string; protocol_code: string | null } | null;
}

/** Whether samples carry labels (DISCO_LABELS_* in capi.h). */
export const Labels = {
  /** Inputs only (prediction); labels given are ignored. */
  None: 0,
  /** Every sample needs a label (training, testing). */
  Required: 1,
  /** Labelled iff every sample has a label (prediction whose answers are known). */
  Optional: 2,
} as const;
export type LabelMode = (typeof Labels)[keyof typeof Labels];

export interface DatasetInfo {
  n: number;
  labelled: boolean;
  n_classes: number;
  /** Names of the model's output classes. */
  classes: string[];
  /** Samples per class (labelled single-label classification), else []. */
  per_class: number[];
}

/** Per-sample classification (disco_trainer_classify): indices into `classes`. */
export interface Classification {
  classes: string[];
  predicted: number[];
  confidence: number[];
  /** True class per sample, or null for unlabelled data. */
  label: number[] | null;
}

/** What the federated client asks the host to do next (drain after every input). */
export type ClientAction =
  | { kind: 'send'; bytes: Uint8Array }
  | { kind: 'trainLocal'; round: number; weights: Float32Array }
  | { kind: 'close'; reason: string }
  | { kind: 'finished'; round: number; weights: Float32Array };

/** The loaded module plus the byte-moving helpers every wrapper class uses. */
export class Disco {
  private constructor(readonly module: DiscoModule) {}

  static async load(factory: DiscoFactory, options?: Record<string, unknown>): Promise<Disco> {
    return new Disco(await factory(options));
  }

  get version(): string {
    return this.module.UTF8ToString(this.call('version'));
  }
  /** The largest thread count a Trainer accepts in this build. */
  get maxThreads(): number {
    return this.call('max_threads');
  }

  parseTask(json: Uint8Array | string): Task {
    const bytes = typeof json === 'string' ? new TextEncoder().encode(json) : json;
    return new Task(this, this.orThrow(this.withBytes(bytes, (p, n) => this.call('task_parse', p, n))));
  }
  createModel(task: Task, seed: number): Model {
    return new Model(this, this.call('model_create', task.handle, seed >>> 0));
  }
  loadModel(safetensors: Uint8Array): Model {
    return new Model(this, this.orThrow(this.withBytes(safetensors, (p, n) => this.call('model_load', p, n))));
  }
  /** The __metadata__ of a safetensors file (string values, e.g. "tabular_transform"). */
  safetensorsMetadata(safetensors: Uint8Array): Record<string, string> {
    return this.takeJson<Record<string, string>>(this.withBytes(safetensors, (p, n) => this.call('safetensors_metadata_json', p, n)));
  }

  // ---- Internals shared by the wrapper classes (not part of the public surface). ----

  /** Calls disco_<name>. */
  call(name: string, ...args: number[]): number {
    const fn = this.module[`_disco_${name}`];
    if (typeof fn !== 'function') throw new Error(`disco: missing export _disco_${name}`);
    return fn(...args);
  }
  /** The thread's last error as a DiscoError. */
  lastError(): DiscoError {
    return new DiscoError(this.call('last_error_code'), this.module.UTF8ToString(this.call('last_error')));
  }
  /** A handle or buffer pointer, or throws the last error when it is NULL. */
  orThrow(ptr: number): number {
    if (ptr === 0) throw this.lastError();
    return ptr;
  }
  /** Throws the last error unless rc is DISCO_OK. */
  check(rc: number): void {
    if (rc !== ErrorCode.Ok) throw this.lastError();
  }
  /** Copies bytes into module memory for the duration of fn(ptr, size). */
  withBytes<T>(bytes: Uint8Array | null, fn: (ptr: number, size: number) => T): T {
    if (bytes === null) return fn(0, 0);
    const ptr = this.module._malloc(Math.max(bytes.length, 1));
    try {
      this.module.HEAPU8.set(bytes, ptr);
      return fn(ptr, bytes.length);
    } finally {
      this.module._free(ptr);
    }
  }
  withFloats<T>(values: Float32Array, fn: (ptr: number, count: number) => T): T {
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    return this.withBytes(bytes, (ptr) => fn(ptr, values.length));
  }
  withString<T>(s: string | null, fn: (ptr: number) => T): T {
    if (s === null) return fn(0);
    const size = this.module.lengthBytesUTF8(s) + 1;
    const ptr = this.module._malloc(size);
    try {
      this.module.stringToUTF8(s, ptr, size);
      return fn(ptr);
    } finally {
      this.module._free(ptr);
    }
  }
  /** Copies `size` bytes at ptr out of module memory (re-reading HEAPU8: memory may have grown). */
  copyOut(ptr: number, size: number): Uint8Array {
    return this.module.HEAPU8.slice(ptr, ptr + size);
  }
  copyFloats(ptr: number, count: number): Float32Array {
    return new Float32Array(this.copyOut(ptr, 4 * count).buffer);
  }
  /** Takes ownership of a disco_buffer (throws the last error when NULL) and frees it. */
  takeBuffer(buffer: number): Uint8Array {
    this.orThrow(buffer);
    try {
      return this.copyOut(this.call('buffer_data', buffer), this.call('buffer_size', buffer));
    } finally {
      this.call('buffer_free', buffer);
    }
  }
  takeJson<T>(buffer: number): T {
    return JSON.parse(new TextDecoder().decode(this.takeBuffer(buffer))) as T;
  }
}

/** Base of every handle-owning class. */
export abstract class Handle {
  private handle_: number;
  constructor(
    protected readonly disco: Disco,
    handle: number,
    private readonly freeName: string,
  ) {
    this.handle_ = handle;
  }
  get handle(): number {
    if (this.handle_ === 0) throw new Error(`disco: ${this.freeName} handle used after dispose()`);
    return this.handle_;
  }
  dispose(): void {
    if (this.handle_ !== 0) this.disco.call(this.freeName, this.handle_);
    this.handle_ = 0;
  }
}

export class Task extends Handle {
  readonly info: TaskInfo;
  constructor(disco: Disco, handle: number) {
    super(disco, handle, 'task_free');
    this.info = disco.takeJson<TaskInfo>(disco.call('task_info_json', handle));
  }
}

export class Model extends Handle {
  constructor(disco: Disco, handle: number) {
    super(disco, handle, 'model_free');
  }
  get fingerprint(): string {
    return this.disco.module.UTF8ToString(this.disco.call('model_fingerprint', this.handle));
  }
  get nWeights(): number {
    return this.disco.call('model_n_weights', this.handle);
  }
  /** A copy of the weights. */
  getWeights(): Float32Array {
    return this.disco.copyFloats(this.disco.call('model_weights', this.handle), this.nWeights);
  }
  setWeights(weights: Float32Array): void {
    this.disco.check(this.disco.withFloats(weights, (p, n) => this.disco.call('model_set_weights', this.handle, p, n)));
  }
  /** Loads the weights of a safetensors file of the same architecture. */
  loadWeights(safetensors: Uint8Array): void {
    this.disco.check(this.disco.withBytes(safetensors, (p, n) => this.disco.call('model_load_weights', this.handle, p, n)));
  }
  /** The model as safetensors; `metadata` values are added to __metadata__. */
  save(metadata: Record<string, string> | null = null): Uint8Array {
    const meta = metadata === null ? null : new TextEncoder().encode(JSON.stringify(metadata));
    return this.disco.takeBuffer(this.disco.withBytes(meta, (p, n) => this.disco.call('model_save', this.handle, p, n)));
  }
}

export class Dataset extends Handle {
  constructor(disco: Disco, handle: number) {
    super(disco, handle, 'dataset_free');
  }
  /** IDX images + labels (MNIST format) for an image task. */
  static fromIdx(disco: Disco, task: Task, images: Uint8Array, labels: Uint8Array): Dataset {
    const h = disco.withBytes(images, (pi, ni) =>
      disco.withBytes(labels, (pl, nl) => disco.call('dataset_from_idx', task.handle, pi, ni, pl, nl)),
    );
    return new Dataset(disco, disco.orThrow(h));
  }
  /** CSV for a tabular task; without `transformJson` the transform is fitted on this CSV. */
  static fromCsv(disco: Disco, task: Task, csv: Uint8Array, transformJson: string | null = null): Dataset {
    const t = transformJson === null ? null : new TextEncoder().encode(transformJson);
    const h = disco.withBytes(csv, (pc, nc) =>
      disco.withBytes(t, (pt, nt) => disco.call('dataset_from_csv', task.handle, pc, nc, pt, nt)),
    );
    return new Dataset(disco, disco.orThrow(h));
  }
  /** A tabular CSV file `name`; `columns` maps task column names to the CSV's (identity when
   *  null); `transformJson` null fits the transform on this file (which then needs labels). */
  static fromTable(
    disco: Disco,
    task: Task,
    name: string,
    csv: Uint8Array,
    columns: Record<string, string> | null,
    transformJson: string | null,
    labels: LabelMode,
  ): Dataset {
    const enc = new TextEncoder();
    const c = columns === null ? null : enc.encode(JSON.stringify(columns));
    const t = transformJson === null ? null : enc.encode(transformJson);
    const h = disco.withString(name, (pn) =>
      disco.withBytes(csv, (pc, nc) =>
        disco.withBytes(c, (pm, nm) => disco.withBytes(t, (pt, nt) => disco.call('dataset_from_table', task.handle, pn, pc, nc, pm, nm, pt, nt, labels))),
      ),
    );
    return new Dataset(disco, disco.orThrow(h));
  }
  /** A UTF-8 text file `name` for a text task: training samples (Required) or prediction inputs. */
  static fromText(disco: Disco, task: Task, name: string, text: Uint8Array, labels: LabelMode): Dataset {
    const h = disco.withString(name, (pn) => disco.withBytes(text, (p, n) => disco.call('dataset_from_text', task.handle, pn, p, n, labels)));
    return new Dataset(disco, disco.orThrow(h));
  }
  /** x: nSamples rows of the model's input shape; y: class indices (nClasses > 0) or targets. */
  static fromFloats(disco: Disco, model: Model, nSamples: number, x: Float32Array, y: Float32Array, nClasses: number): Dataset {
    const h = disco.withFloats(x, (px, nx) =>
      disco.withFloats(y, (py, ny) => disco.call('dataset_from_floats', model.handle, nSamples, px, nx, py, ny, nClasses)),
    );
    return new Dataset(disco, disco.orThrow(h));
  }
  get size(): number {
    return this.disco.call('dataset_size', this.handle);
  }
  /** False for prediction inputs (no labels). */
  get labelled(): boolean {
    return this.disco.call('dataset_labelled', this.handle) === 1;
  }
  info(): DatasetInfo {
    return this.disco.takeJson<DatasetInfo>(this.disco.call('dataset_info_json', this.handle));
  }
  /** The fitted tabular transform (CSV datasets), to build validation / test data with. */
  transformJson(): string {
    return new TextDecoder().decode(this.disco.takeBuffer(this.disco.call('dataset_transform_json', this.handle)));
  }
  /** Moves round(fraction * size) rows into a new Dataset (validation), chosen with `seed`. */
  split(fraction: number, seed: number): Dataset {
    return new Dataset(this.disco, this.disco.orThrow(this.disco.call('dataset_split', this.handle, fraction, seed >>> 0)));
  }
}

export class Trainer extends Handle {
  /** `model` must outlive the trainer. threads: 1, or up to disco.maxThreads (a pthread pool). */
  constructor(disco: Disco, model: Model, threads: number, seed: number) {
    super(disco, disco.orThrow(disco.call('trainer_create', model.handle, threads, seed >>> 0)), 'trainer_free');
  }
  /** `data` must stay alive until endEpoch(). */
  beginEpoch(data: Dataset, batchSize: number): void {
    this.disco.check(this.disco.call('trainer_begin_epoch', this.handle, data.handle, batchSize));
  }
  /** Trains one batch; false when the epoch has no batch left. */
  step(): boolean {
    const r = this.disco.call('trainer_step', this.handle);
    if (r < 0) throw this.disco.lastError();
    return r === 1;
  }
  get batchesDone(): number {
    return this.disco.call('trainer_batches_done', this.handle);
  }
  get nBatches(): number {
    return this.disco.call('trainer_n_batches', this.handle);
  }
  /** Running loss / accuracy of the current epoch. */
  get loss(): number {
    return this.disco.call('trainer_loss', this.handle);
  }
  get accuracy(): number {
    return this.disco.call('trainer_accuracy', this.handle);
  }
  endEpoch(validation: Dataset | null = null): EpochLog {
    return this.disco.takeJson<EpochLog>(this.disco.call('trainer_end_epoch', this.handle, validation ? validation.handle : 0));
  }
  /** begin / step / end, calling onBatch after every batch (e.g. to postMessage progress). */
  trainEpoch(data: Dataset, batchSize: number, onBatch?: (done: number, total: number, loss: number) => void, validation: Dataset | null = null): EpochLog {
    this.beginEpoch(data, batchSize);
    while (this.step()) onBatch?.(this.batchesDone, this.nBatches, this.loss);
    return this.endEpoch(validation);
  }
  evaluate(data: Dataset, batchSize: number): Evaluation {
    return this.disco.takeJson<Evaluation>(this.disco.call('trainer_evaluate', this.handle, data.handle, batchSize));
  }
  /** Per-sample predicted class, its probability and the true class when known. */
  classify(data: Dataset, batchSize: number): Classification {
    return this.disco.takeJson<Classification>(this.disco.call('trainer_classify', this.handle, data.handle, batchSize));
  }
  /** Model outputs for x (whole samples of the input shape), row after row. */
  predict(x: Float32Array, batchSize: number): Float32Array {
    const bytes = this.disco.takeBuffer(this.disco.withFloats(x, (p, n) => this.disco.call('trainer_predict', this.handle, p, n, batchSize)));
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }
}

/** Builds an image data set one file at a time (decoding in C++); `task` must outlive it. */
export class ImageBuilder extends Handle {
  constructor(disco: Disco, task: Task, labels: LabelMode) {
    super(disco, disco.orThrow(disco.call('image_builder_create', task.handle, labels)), 'image_builder_free');
  }
  /** Decodes one PNG / JPEG / BMP file; errors name `name`. */
  add(name: string, bytes: Uint8Array, label: string | null): void {
    this.disco.check(
      this.disco.withString(name, (pn) =>
        this.disco.withString(label, (pl) => this.disco.withBytes(bytes, (p, n) => this.disco.call('image_builder_add', this.handle, pn, p, n, pl))),
      ),
    );
  }
  get size(): number {
    return this.disco.call('image_builder_size', this.handle);
  }
  /** Moves the images into a new Dataset (the builder is empty afterwards). */
  finish(): Dataset {
    return new Dataset(this.disco, this.disco.orThrow(this.disco.call('image_builder_finish', this.handle)));
  }
}

export interface LocalRoundOptions {
  epochs: number;
  batchSize: number;
  proximalMu?: number;
  seed?: number; // reseeds the trainer's Rng: the round is then a pure function of its inputs
}

/** core::LocalRound: trains on a round's global weights and yields the delta. */
export class LocalRound extends Handle {
  /** The trainer is busy (and `data` borrowed) until dispose(). */
  constructor(disco: Disco, trainer: Trainer, data: Dataset, global: Float32Array, o: LocalRoundOptions) {
    const h = disco.withFloats(global, (p, n) =>
      disco.call('round_begin', trainer.handle, data.handle, p, n, o.epochs, o.batchSize, o.proximalMu ?? 0, o.seed === undefined ? 0 : 1, (o.seed ?? 0) >>> 0),
    );
    super(disco, disco.orThrow(h), 'round_free');
  }
  /** Trains one batch; false once every epoch is done (delta() is available then). */
  step(): boolean {
    return this.disco.call('round_step', this.handle) === 1;
  }
  get epoch(): number {
    return this.disco.call('round_epoch', this.handle);
  }
  get batchesDone(): number {
    return this.disco.call('round_batches_done', this.handle);
  }
  get nBatches(): number {
    return this.disco.call('round_n_batches', this.handle);
  }
  get loss(): number {
    return this.disco.call('round_loss', this.handle);
  }
  get accuracy(): number {
    return this.disco.call('round_accuracy', this.handle);
  }
  get nSamples(): number {
    return this.disco.call('round_n_samples', this.handle);
  }
  /** Epochs of this round finished so far. */
  get epochsDone(): number {
    return this.disco.call('round_epochs_done', this.handle);
  }
  /** Training loss and accuracy of finished epoch `epoch` (1-based) alone. */
  epochLog(epoch: number): { loss: number; accuracy: number } {
    return {
      loss: this.disco.call('round_epoch_loss', this.handle, epoch),
      accuracy: this.disco.call('round_epoch_accuracy', this.handle, epoch),
    };
  }
  /** local - global; throws before the round is finished. */
  delta(): Float32Array {
    const p = this.disco.call('round_delta', this.handle);
    if (p === 0) throw new Error('disco: LocalRound.delta() before the round finished');
    return this.disco.copyFloats(p, this.disco.call('round_delta_size', this.handle));
  }
}

export interface ClientOptions {
  taskId: string;
  modelFingerprint: string;
  clientId?: string; // to rejoin as an earlier client
  joinToken?: string;
  helloTimeoutMs?: number; // 0 = none
  /** Once joined: Ping after this long without a server message, give up (Unavailable) after
   *  twice this long; 0 = off (proto::ClientConfig::keepalive). */
  keepaliveMs?: number;
}

/**
 * proto::FederatedClient. The host feeds it (onConnected / onMessage / onTrained / onTimeout with
 * performance.now()), drains nextAction() after every input and keeps one timer at deadline():
 * 'send' -> ws.send, 'trainLocal' -> train (LocalRound) and onTrained, 'close' -> ws.close.
 */
export class FederatedClient extends Handle {
  constructor(disco: Disco, o: ClientOptions) {
    const h = disco.withString(o.taskId, (task) =>
      disco.withString(o.modelFingerprint, (fp) =>
        disco.withString(o.clientId ?? null, (id) =>
          disco.withString(o.joinToken ?? null, (token) => disco.call('client_create', task, fp, id, token, o.helloTimeoutMs ?? 0, o.keepaliveMs ?? 0)),
        ),
      ),
    );
    super(disco, disco.orThrow(h), 'client_free');
  }
  onConnected(nowMs: number): void {
    this.disco.call('client_on_connected', this.handle, nowMs);
  }
  onMessage(bytes: Uint8Array, nowMs: number): void {
    this.disco.withBytes(bytes, (p, n) => this.disco.call('client_on_message', this.handle, p, n, nowMs));
  }
  onTrained(round: number, delta: Float32Array, nSamples: number, loss: number | null, accuracy: number | null, nowMs: number): void {
    this.disco.withFloats(delta, (p, n) =>
      this.disco.call('client_on_trained', this.handle, round, p, n, nSamples, loss ?? NaN, accuracy ?? NaN, nowMs),
    );
  }
  onTimeout(nowMs: number): void {
    this.disco.call('client_on_timeout', this.handle, nowMs);
  }
  nextAction(): ClientAction | null {
    const kind = this.disco.call('client_next_action', this.handle);
    const bytes = () => this.disco.copyOut(this.disco.call('client_action_bytes', this.handle), this.disco.call('client_action_size', this.handle));
    const round = () => this.disco.call('client_action_round', this.handle);
    const weights = () => this.disco.copyFloats(this.disco.call('client_action_weights', this.handle), this.disco.call('client_action_n_weights', this.handle));
    switch (kind) {
      case 1:
        return { kind: 'send', bytes: bytes() };
      case 2:
        return { kind: 'trainLocal', round: round(), weights: weights() };
      case 3:
        return { kind: 'close', reason: new TextDecoder().decode(bytes()) };
      case 4:
        return { kind: 'finished', round: round(), weights: weights() };
      default:
        return null;
    }
  }
  /** When to call onTimeout (host ms), or null. */
  deadline(): number | null {
    const d = this.disco.call('client_deadline', this.handle);
    return Number.isNaN(d) ? null : d;
  }
  status(): ClientStatus {
    return this.disco.takeJson<ClientStatus>(this.disco.call('client_status_json', this.handle));
  }
}
