// SPDX-License-Identifier: Apache-2.0
// The model library: saved models in IndexedDB. Two object stores, so listing does not read
// the weights: "models" (metadata, auto-incremented id, index on taskId) and "weights" (the
// safetensors bytes under the same id).

export interface ModelMetrics {
  loss?: number | null;
  accuracy?: number | null;
  valLoss?: number | null;
  valAccuracy?: number | null;
  rounds?: number;
  epochs?: number;
}

export interface SavedModel {
  id: number;
  taskId: string;
  taskTitle: string;
  name: string;
  /** Milliseconds since the epoch. */
  savedAt: number;
  size: number;
  source: 'trained' | 'server' | 'file';
  metrics: ModelMetrics;
}

export type NewModel = Omit<SavedModel, 'id' | 'size'>;

const DB_NAME = 'disco-library';
const VERSION = 1;

function promisify<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

export class ModelLibrary {
  private db: Promise<IDBDatabase> | null = null;

  constructor(
    private readonly idb: IDBFactory = indexedDB,
    private readonly name = DB_NAME,
  ) {}

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise((resolve, reject) => {
      const req = this.idb.open(this.name, VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        const models = db.createObjectStore('models', { keyPath: 'id', autoIncrement: true });
        models.createIndex('taskId', 'taskId');
        db.createObjectStore('weights');
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error('Cannot open the model library'));
      req.onblocked = () => reject(new Error('The model library is open in an older tab; close it and retry'));
    });
    return this.db;
  }

  /** Saves a model; returns its record. */
  async add(meta: NewModel, bytes: ArrayBuffer): Promise<SavedModel> {
    const db = await this.open();
    const tx = db.transaction(['models', 'weights'], 'readwrite');
    const record = { ...meta, size: bytes.byteLength };
    const id = (await promisify(tx.objectStore('models').add(record))) as number;
    tx.objectStore('weights').put(bytes.slice(0), id);
    await done(tx);
    return { ...record, id };
  }

  /** All models, newest first (optionally only a task's). */
  async list(taskId?: string): Promise<SavedModel[]> {
    const db = await this.open();
    const store = db.transaction('models').objectStore('models');
    const all = (await promisify(
      taskId === undefined ? store.getAll() : store.index('taskId').getAll(taskId),
    )) as SavedModel[];
    return all.sort((a, b) => b.savedAt - a.savedAt || b.id - a.id);
  }

  async get(id: number): Promise<SavedModel | undefined> {
    const db = await this.open();
    return (await promisify(db.transaction('models').objectStore('models').get(id))) as SavedModel | undefined;
  }

  async bytes(id: number): Promise<ArrayBuffer> {
    const db = await this.open();
    const b = (await promisify(db.transaction('weights').objectStore('weights').get(id))) as ArrayBuffer | undefined;
    if (!b) throw new Error(`Model ${id} is not in the library`);
    return b;
  }

  async rename(id: number, name: string): Promise<void> {
    const db = await this.open();
    const tx = db.transaction('models', 'readwrite');
    const store = tx.objectStore('models');
    const rec = (await promisify(store.get(id))) as SavedModel | undefined;
    if (!rec) throw new Error(`Model ${id} is not in the library`);
    store.put({ ...rec, name });
    await done(tx);
  }

  async remove(id: number): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(['models', 'weights'], 'readwrite');
    tx.objectStore('models').delete(id);
    tx.objectStore('weights').delete(id);
    await done(tx);
  }

  close(): void {
    void this.db?.then((db) => db.close());
    this.db = null;
  }
}

let shared: ModelLibrary | null = null;
/** The app's library (one per page). */
export function library(): ModelLibrary {
  shared ??= new ModelLibrary();
  return shared;
}

/** A file name for a saved model: "<task>-<name>.safetensors" with unsafe characters replaced. */
export function modelFileName(m: Pick<SavedModel, 'taskId' | 'name'>): string {
  const safe = (s: string) => s.replace(/[^\p{L}\p{N}._-]+/gu, '-').replace(/^-+|-+$/g, '');
  const name = safe(m.name);
  return `${safe(m.taskId)}${name ? '-' + name : ''}.safetensors`;
}
