// SPDX-License-Identifier: Apache-2.0
// Test-only helpers for the engine's Vitest suites (never imported by the app): the node build of
// the module, a scripted federated server behind a fake Connection, and image fixtures from
// Debian's Fashion-MNIST. The server's messages are written with a minimal MessagePack writer that
// follows docs/protocol.md ("Wire format"); it exists only to script the server side here, the
// engine itself never encodes or decodes a message.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Disco, type DiscoFactory } from '@wasm/disco';
import type { Connect, Connection, ConnectionHandlers } from './federated';
import { EngineHost, type HostEnvironment } from './host';
import type { Request, WorkerMessage } from './protocol';

/** A request without its id, for each request type. */
export type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;

const webDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const repoDir = resolve(webDir, '..');

/** The node build of the module (DISCO_WASM_NODE, default build/wasm-release). Fails, never
 *  skips, when it is absent. */
export async function loadNodeDisco(): Promise<Disco> {
  const path = resolve(webDir, process.env.DISCO_WASM_NODE ?? '../build/wasm-release/src/wasm/disco_node.js');
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: build the node module first (NODE_PATH=/usr/share/nodejs cmake --preset wasm-release && ` +
        `NODE_PATH=/usr/share/nodejs cmake --build build/wasm-release --target disco_wasm_node), or set DISCO_WASM_NODE to another build's disco_node.js`,
    );
  }
  const factory = createRequire(import.meta.url)(path) as DiscoFactory;
  return Disco.load(factory);
}

export function readTask(id: string): Record<string, unknown> & { id: string } {
  return JSON.parse(readFileSync(resolve(repoDir, 'tasks', `${id}.json`), 'utf8')) as Record<string, unknown> & { id: string };
}

// ---- a host environment that records what the worker posts ---------------------------------------

export interface Recorder {
  env: HostEnvironment;
  messages: WorkerMessage[];
  /** Resolves with the reply to request `id`. */
  reply(id: number): Promise<{ ok: boolean; value?: unknown; error?: string }>;
  events<T extends string>(type: T): Extract<WorkerMessage, { type: T }>[];
}

/** An EngineHost on a recorder, and `ask`: send one request, await its reply's value (throws the
 *  reply's error). `nextId` is the id the next request will get. */
export function hostWithAsk(rec: Recorder) {
  const host = new EngineHost(rec.env);
  let id = 0;
  const ask = async <T>(body: RequestBody): Promise<T> => {
    const request = { ...body, id: ++id } as Request;
    host.handle(request);
    const reply = await rec.reply(request.id);
    if (!reply.ok) throw new Error(reply.error);
    return reply.value as T;
  };
  return { host, ask, nextId: () => id + 1 };
}

export function recorder(disco: Disco, connect: Connect, extra: Partial<HostEnvironment> = {}): Recorder {
  const messages: WorkerMessage[] = [];
  const waiters = new Map<number, (m: { ok: boolean; value?: unknown; error?: string }) => void>();
  const env: HostEnvironment = {
    post(message) {
      messages.push(message);
      if (message.type === 'reply') waiters.get(message.id)?.(message);
    },
    loadModule: async () => disco,
    crossOriginIsolated: false,
    hardwareConcurrency: 2,
    connect,
    ...extra,
  };
  return {
    env,
    messages,
    reply(id: number) {
      const done = messages.find((m) => m.type === 'reply' && m.id === id);
      if (done) return Promise.resolve(done as { ok: boolean });
      return new Promise((resolve) => waiters.set(id, resolve));
    },
    events<T extends string>(type: T) {
      return messages.filter((m) => m.type === type) as Extract<WorkerMessage, { type: T }>[];
    },
  };
}

// ---- a minimal MessagePack writer / reader for the scripted server ----------------------------------

type Value = null | boolean | number | string | Uint8Array | Value[] | { [key: string]: Value } | { u64: number } | { f64: number };

function pack(v: Value, out: number[]): void {
  const u32 = (n: number) => out.push((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  if (v === null) out.push(0xc0);
  else if (typeof v === 'boolean') out.push(v ? 0xc3 : 0xc2);
  else if (typeof v === 'number' || (typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && 'u64' in v)) {
    const n: number = typeof v === 'number' ? v : (v as { u64: number }).u64;
    if (n < 128) out.push(n);
    else if (n < 65536) out.push(0xcd, n >> 8, n & 255);
    else {
      out.push(0xce);
      u32(n);
    }
  } else if (typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && 'f64' in v) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, (v as { f64: number }).f64);
    out.push(0xcb, ...b);
  } else if (typeof v === 'string') {
    const b = new TextEncoder().encode(v);
    if (b.length < 32) out.push(0xa0 | b.length);
    else out.push(0xd9, b.length);
    out.push(...b);
  } else if (v instanceof Uint8Array) {
    out.push(0xc6);
    u32(v.length);
    for (const x of v) out.push(x);
  } else if (Array.isArray(v)) {
    out.push(0x90 | v.length);
    for (const x of v) pack(x, out);
  } else {
    const entries = Object.entries(v as { [key: string]: Value });
    out.push(0x80 | entries.length);
    for (const [k, x] of entries) {
      pack(k, out);
      pack(x, out);
    }
  }
}

/** [1, type, body] as bytes. */
export function message(type: number, body: { [key: string]: Value }): Uint8Array {
  const out: number[] = [];
  pack([1, type, body], out);
  return Uint8Array.from(out);
}

/** The weights payload of docs/protocol.md. */
export function weights(fingerprint: string, values: Float32Array): { [key: string]: Value } {
  return { fingerprint, n_params: values.length, data: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)) };
}

/** Reads a message's type tag and body (enough of MessagePack for what clients send). */
export function unpack(bytes: Uint8Array): { type: number; body: Record<string, unknown> } {
  let at = 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = (): unknown => {
    const b = bytes[at++]!;
    if (b < 0x80) return b;
    if ((b & 0xf0) === 0x80) return map(b & 15);
    if ((b & 0xf0) === 0x90) return arr(b & 15);
    if ((b & 0xe0) === 0xa0) return str(b & 31);
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return bin(bytes[at++]!);
      case 0xc5:
        return bin(view.getUint16((at += 2) - 2));
      case 0xc6:
        return bin(view.getUint32((at += 4) - 4));
      case 0xca:
        return view.getFloat32((at += 4) - 4);
      case 0xcb:
        return view.getFloat64((at += 8) - 8);
      case 0xcc:
        return bytes[at++];
      case 0xcd:
        return view.getUint16((at += 2) - 2);
      case 0xce:
        return view.getUint32((at += 4) - 4);
      case 0xcf:
        return Number(view.getBigUint64((at += 8) - 8));
      case 0xd9:
        return str(bytes[at++]!);
      case 0xda:
        return str(view.getUint16((at += 2) - 2));
      case 0xdc:
        return arr(view.getUint16((at += 2) - 2));
      case 0xde:
        return map(view.getUint16((at += 2) - 2));
      default:
        throw new Error(`test msgpack reader: unsupported byte 0x${b.toString(16)}`);
    }
  };
  const str = (n: number) => new TextDecoder().decode(bytes.subarray(at, (at += n)));
  const bin = (n: number) => bytes.slice(at, (at += n));
  const arr = (n: number) => Array.from({ length: n }, read);
  const map = (n: number) => {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) o[read() as string] = read();
    return o;
  };
  const [, type, body] = read() as [number, number, Record<string, unknown>];
  return { type, body };
}

export const Msg = { Hello: 1, Welcome: 2, Waiting: 3, StartRound: 4, Contribution: 5, RoundResult: 6, Finished: 7, Error: 8, Ping: 9, Pong: 10 } as const;

// ---- a fake Connection driven by a scripted server ---------------------------------------------------

/** One connection as the server sees it. */
export interface ServerSide {
  index: number;
  received: { type: number; body: Record<string, unknown> }[];
  /** Delivers a server message to the client (asynchronously, as a socket would). */
  send(bytes: Uint8Array): void;
  /** Drops the connection (the client sees onClose). */
  drop(reason?: string): void;
  closedByClient: string | null;
}

/**
 * A Connect whose connections are handed to `onConnection`; `onMessage` sees each client message.
 * refuse: connections that fail to open (by index).
 */
export function fakeServer(script: {
  onConnection?(side: ServerSide): void;
  onMessage(side: ServerSide, msg: { type: number; body: Record<string, unknown> }): void;
  refuse?(index: number): boolean;
}): { connect: Connect; connections: ServerSide[] } {
  const connections: ServerSide[] = [];
  const connect: Connect = (_url: string, h: ConnectionHandlers): Connection => {
    let open = false;
    let closed = false;
    const side: ServerSide = {
      index: connections.length,
      received: [],
      closedByClient: null,
      send(bytes) {
        setTimeout(() => {
          if (open && !closed) h.onMessage(bytes);
        }, 0);
      },
      drop(reason = 'dropped') {
        if (closed) return;
        closed = true;
        setTimeout(() => h.onClose(reason), 0);
      },
    };
    connections.push(side);
    setTimeout(() => {
      if (closed) return;
      if (script.refuse?.(side.index)) {
        closed = true;
        h.onClose('connection refused');
        return;
      }
      open = true;
      h.onOpen();
      script.onConnection?.(side);
    }, 0);
    return {
      send(bytes) {
        if (closed) return;
        const msg = unpack(bytes);
        side.received.push(msg);
        script.onMessage(side, msg);
      },
      close(reason) {
        closed = true;
        side.closedByClient = reason;
      },
      bufferedAmount: () => 0,
    };
  };
  return { connect, connections };
}

// ---- image fixtures ---------------------------------------------------------------------------------

const FASHION_DIR = process.env.DISCO_FASHION_MNIST ?? '/usr/share/datasets/fashion-mnist';

/** The first n Fashion-MNIST training images (28 x 28 grey bytes) and labels. */
export function fashionMnist(n: number, split: 'train' | 't10k' = 'train'): { pixels: Uint8Array[]; labels: number[] } {
  const images = gunzipSync(readFileSync(`${FASHION_DIR}/${split}-images-idx3-ubyte.gz`));
  const labels = gunzipSync(readFileSync(`${FASHION_DIR}/${split}-labels-idx1-ubyte.gz`));
  const pixels: Uint8Array[] = [];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    pixels.push(images.subarray(16 + i * 784, 16 + (i + 1) * 784));
    out.push(labels[8 + i]!);
  }
  return { pixels, labels: out };
}

/** A grey w x h image as a 24-bit BMP file. */
export function bmp(grey: Uint8Array, w: number, h: number): ArrayBuffer {
  const row = Math.ceil((w * 3) / 4) * 4;
  const size = 54 + row * h;
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  b[0] = 0x42;
  b[1] = 0x4d;
  v.setUint32(2, size, true);
  v.setUint32(10, 54, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, w, true);
  v.setInt32(22, -h, true); // top-down rows
  v.setUint16(26, 1, true);
  v.setUint16(28, 24, true);
  v.setUint32(34, row * h, true);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const g = grey[y * w + x]!;
      b.set([g, g, g], 54 + y * row + x * 3);
    }
  return b.buffer;
}
