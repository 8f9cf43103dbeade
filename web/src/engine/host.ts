// SPDX-License-Identifier: Apache-2.0
// EngineHost: what the training worker does with each request of protocol.ts. It owns the module,
// the task, the model, one trainer at a time (a trainer holds pthreads from the module's fixed
// pool, so two would risk a hang), the connected data sets and a running training. It is free of
// worker globals (worker.ts wires it to `self`), so tests drive it in node with the node build of
// the module.
//
// Requests run one after another in arrival order, except `stop`, which acts at once. While a
// training runs, other requests are refused (the trainer and the data are in use).
// Local training follows `disco train`: the model starts from Rng(task seed), the validation rows
// are split off with the task seed (stratified), the trainer's seed is task seed + 1.
import { type Dataset, type Disco, type Model, type Task, Trainer } from '@wasm/disco';
import { buildDataset, type Connected, evalBatchSize } from './data';
import { type Connect, FederatedDriver, type SessionPolicy } from './federated';
import { chooseThreads } from './load';
import type {
  DataRole,
  DataSource,
  DataSummary,
  EngineEvent,
  PredictResult,
  Ready,
  Request,
  SampleResult,
  TaskJson,
  TaskLoaded,
  TestResult,
  TrainMode,
  TrainResult,
  WorkerMessage,
} from './protocol';
import { type Clock, messageOf, monotonic, runSliced, Throttle } from './runtime';

export interface HostEnvironment {
  /** Sends a message to the page (transferring the listed buffers). */
  post(message: WorkerMessage, transfer?: Transferable[]): void;
  /** Loads and instantiates the module. */
  loadModule(): Promise<Disco>;
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
  /** Opens the federated socket. */
  connect: Connect;
  clock?: Clock;
  /** Overrides of the federated session's timing (tests). */
  sessionPolicy?: Partial<SessionPolicy>;
}

/** The training part of the 'train' data, with its validation rows split off. */
interface TrainData extends Connected {
  validation: Dataset | null;
}

export class EngineHost {
  private readonly env: HostEnvironment;
  private readonly clock: Clock;
  private disco: Disco | null = null;
  private ready: Ready | null = null;
  private task: Task | null = null;
  private model: Model | null = null;
  private trainer: Trainer | null = null;
  /** The tabular transform of the training data or of the loaded model (JSON). */
  private transformJson: string | null = null;
  private train_: TrainData | null = null;
  private test_: Connected | null = null;
  private predict_: Connected | null = null;
  private queue: Promise<void> = Promise.resolve();
  private training = false;
  private stopRequested = false;
  private driver: FederatedDriver | null = null;

  constructor(env: HostEnvironment) {
    this.env = env;
    this.clock = env.clock ?? monotonic;
  }

  /** Handles one request; its reply is posted when it is done. */
  handle(request: Request): void {
    if (request.type === 'stop') {
      this.stopRequested = true;
      this.driver?.stop();
      this.reply(request.id, undefined);
      return;
    }
    if (this.training) {
      this.replyError(request.id, `cannot ${request.type} while training; stop the training first`);
      return;
    }
    if (request.type === 'train') this.stopRequested = false;
    this.queue = this.queue.then(() => this.run(request));
  }

  private async run(request: Exclude<Request, { type: 'stop' }>): Promise<void> {
    try {
      let value: unknown;
      let transfer: Transferable[] = [];
      switch (request.type) {
        case 'init':
          value = await this.init(request.threads);
          break;
        case 'loadTask':
          value = this.loadTask(request.task);
          break;
        case 'loadModel':
          value = this.loadModel(request.bytes);
          break;
        case 'connectData':
          value = await this.connectData(request.role, request.source);
          break;
        case 'train':
          value = await this.train(request.mode);
          break;
        case 'test':
          value = this.test();
          break;
        case 'predict':
          value = this.predict();
          break;
        case 'exportModel': {
          const bytes = this.exportModel();
          value = { bytes };
          transfer = [bytes];
          break;
        }
      }
      this.reply(request.id, value, transfer);
    } catch (e) {
      this.replyError(request.id, messageOf(e));
    }
  }

  // ---- requests ---------------------------------------------------------------------------------

  /** Loads the module once; a later init answers with the first one's Ready. */
  private async init(threads: number | undefined): Promise<Ready> {
    if (this.ready) return this.ready;
    const disco = await this.env.loadModule();
    this.disco = disco;
    const maxThreads = disco.maxThreads;
    this.ready = {
      version: disco.version,
      threads: chooseThreads(threads, this.env.crossOriginIsolated, this.env.hardwareConcurrency, maxThreads),
      maxThreads,
      crossOriginIsolated: this.env.crossOriginIsolated,
    };
    return this.ready;
  }

  private loadTask(json: TaskJson): TaskLoaded {
    const disco = this.need(this.disco, 'the engine is not initialised (init first)');
    const task = disco.parseTask(JSON.stringify(json));
    this.dropTask();
    this.task = task;
    this.model = disco.createModel(task, task.info.training.seed);
    return this.loaded();
  }

  private loadModel(bytes: ArrayBuffer): TaskLoaded {
    const disco = this.need(this.disco, 'the engine is not initialised (init first)');
    const model = this.need(this.model, 'no task loaded (loadTask first)');
    const file = new Uint8Array(bytes);
    model.loadWeights(file);
    const transform = disco.safetensorsMetadata(file)['tabular_transform'];
    if (transform !== undefined) this.transformJson = transform;
    return this.loaded();
  }

  private async connectData(role: DataRole, source: DataSource): Promise<DataSummary> {
    const disco = this.need(this.disco, 'the engine is not initialised (init first)');
    const task = this.need(this.task, 'no task loaded (loadTask first)');
    const isTable = source.kind === 'csv';
    if (isTable && role !== 'train' && this.transformJson === null) {
      throw new Error(`${source.name}: connect the training data or load a trained model first (its column statistics read this file)`);
    }
    const connected = await buildDataset(disco, task, role, source, {
      transformJson: role === 'train' ? null : this.transformJson,
      onProgress: (done, total) => this.event({ type: 'dataProgress', role, done, total }),
      clock: this.clock,
    });
    switch (role) {
      case 'train': {
        this.disposeTrain();
        const fraction = task.info.training.validation_split;
        let validation: Dataset | null = null;
        try {
          if (fraction > 0) validation = connected.dataset.split(fraction, task.info.training.seed);
          if (validation !== null && validation.size === 0) {
            validation.dispose();
            validation = null;
          }
        } catch (e) {
          connected.dataset.dispose();
          throw e;
        }
        this.train_ = { ...connected, validation };
        if (isTable) this.transformJson = connected.dataset.transformJson();
        break;
      }
      case 'test':
        this.test_?.dataset.dispose();
        this.test_ = connected;
        break;
      case 'predict':
        this.predict_?.dataset.dispose();
        this.predict_ = connected;
        break;
    }
    return connected.summary;
  }

  private async train(mode: TrainMode): Promise<TrainResult> {
    const disco = this.need(this.disco, 'the engine is not initialised (init first)');
    const task = this.need(this.task, 'no task loaded (loadTask first)');
    const model = this.need(this.model, 'no task loaded (loadTask first)');
    const data = this.need(this.train_, 'no training data connected');
    this.training = true;
    try {
      // A fresh trainer per run (optimizer state, Rng), as each `disco train` run starts one.
      this.trainer?.dispose();
      this.trainer = null;
      this.trainer = new Trainer(disco, model, this.need(this.ready, 'not initialised').threads, task.info.training.seed + 1);
      if (mode.kind === 'local') return await this.trainLocal(task, this.trainer, data);
      this.driver = new FederatedDriver({
        disco,
        task,
        model,
        trainer: this.trainer,
        data: data.dataset,
        validation: data.validation,
        url: mode.url,
        clientId: mode.clientId,
        joinToken: mode.joinToken,
        connect: this.env.connect,
        emit: (event) => this.event(event),
        clock: this.clock,
        policy: this.env.sessionPolicy,
      });
      if (this.stopRequested) this.driver.stop();
      return await this.driver.run();
    } finally {
      this.driver = null;
      this.training = false;
    }
  }

  private async trainLocal(task: Task, trainer: Trainer, data: TrainData): Promise<TrainResult> {
    const t = task.info.training;
    const progress = new Throttle(250, this.clock);
    const status = (phase: 'training' | 'finished' | 'stopped', message: string) => this.event({ type: 'status', phase, message, round: 0 });
    for (let epoch = 1; epoch <= t.epochs; epoch++) {
      status('training', `training epoch ${epoch}/${t.epochs}`);
      trainer.beginEpoch(data.dataset, t.batch_size);
      const done = await runSliced(
        () => {
          const more = trainer.step();
          if (more && progress.ready()) {
            this.event({ type: 'progress', round: 0, epoch, batch: trainer.batchesDone, nBatches: trainer.nBatches, loss: trainer.loss, accuracy: trainer.accuracy });
          }
          return more;
        },
        () => this.stopRequested,
      );
      if (!done) {
        trainer.endEpoch(null);
        status('stopped', `training stopped in epoch ${epoch}/${t.epochs}`);
        return { stopped: true, rounds: 0 };
      }
      const log = trainer.endEpoch(data.validation);
      this.event({
        type: 'epoch',
        round: 0,
        epoch,
        loss: log.loss,
        accuracy: log.accuracy,
        valLoss: log.validation ? log.validation.loss : null,
        valAccuracy: log.validation && log.validation.n_classes > 0 ? log.validation.accuracy : null,
      });
    }
    status('finished', `training finished after ${t.epochs} epochs`);
    return { stopped: false, rounds: 0 };
  }

  private test(): TestResult {
    const data = this.need(this.test_, 'no test data connected');
    const trainer = this.idleTrainer();
    const batch = this.evalBatch();
    const ev = trainer.evaluate(data.dataset, batch);
    const c = trainer.classify(data.dataset, batch);
    return {
      loss: ev.loss,
      accuracy: ev.accuracy,
      labels: c.classes,
      confusion: ev.confusion,
      samples: this.samples(data, c.classes, c.predicted, c.confidence, c.label),
    };
  }

  private predict(): PredictResult {
    const data = this.need(this.predict_, 'no prediction data connected');
    const c = this.idleTrainer().classify(data.dataset, this.evalBatch());
    return { labels: c.classes, samples: this.samples(data, c.classes, c.predicted, c.confidence, c.label) };
  }

  private exportModel(): ArrayBuffer {
    const task = this.need(this.task, 'no task loaded (loadTask first)');
    const model = this.need(this.model, 'no task loaded (loadTask first)');
    const metadata: Record<string, string> = { task: task.info.id };
    if (this.transformJson !== null) metadata['tabular_transform'] = this.transformJson;
    const bytes = model.save(metadata);
    return bytes.buffer.byteLength === bytes.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer);
  }

  // ---- helpers ----------------------------------------------------------------------------------

  private samples(data: Connected, classes: string[], predicted: number[], confidence: number[], label: number[] | null): SampleResult[] {
    return predicted.map((p, i) => ({
      name: data.names[i] ?? String(i + 1),
      label: label === null ? null : (classes[label[i]!] ?? String(label[i])),
      predicted: classes[p] ?? String(p),
      confidence: confidence[i]!,
    }));
  }

  private idleTrainer(): Trainer {
    const disco = this.need(this.disco, 'the engine is not initialised (init first)');
    const model = this.need(this.model, 'no task loaded (loadTask first)');
    const task = this.need(this.task, 'no task loaded (loadTask first)');
    if (!this.trainer) this.trainer = new Trainer(disco, model, this.need(this.ready, 'not initialised').threads, task.info.training.seed + 1);
    return this.trainer;
  }

  private evalBatch(): number {
    return evalBatchSize(this.need(this.task, 'no task loaded'));
  }

  private loaded(): TaskLoaded {
    const model = this.need(this.model, 'no task loaded (loadTask first)');
    return { fingerprint: model.fingerprint, nWeights: model.nWeights };
  }

  private disposeTrain(): void {
    this.train_?.validation?.dispose();
    this.train_?.dataset.dispose();
    this.train_ = null;
  }

  /** Frees everything that belongs to the current task (borrowers first). */
  private dropTask(): void {
    this.trainer?.dispose();
    this.trainer = null;
    this.disposeTrain();
    this.test_?.dataset.dispose();
    this.test_ = null;
    this.predict_?.dataset.dispose();
    this.predict_ = null;
    this.model?.dispose();
    this.model = null;
    this.task?.dispose();
    this.task = null;
    this.transformJson = null;
  }

  private need<T>(value: T | null, message: string): T {
    if (value === null) throw new Error(message);
    return value;
  }

  private event(event: EngineEvent): void {
    this.env.post(event);
  }

  private reply(id: number, value: unknown, transfer: Transferable[] = []): void {
    this.env.post({ id, type: 'reply', ok: true, value }, transfer);
  }

  private replyError(id: number, error: string): void {
    this.env.post({ id, type: 'reply', ok: false, error });
  }
}
