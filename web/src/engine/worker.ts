// SPDX-License-Identifier: Apache-2.0
// The training worker's entry (started by engine.ts as a module worker): wires EngineHost to the
// worker's global scope, the WebAssembly module served at /wasm/disco.mjs (or
// /wasm/single/disco.mjs on pages that are not cross-origin isolated) and the browser's
// WebSocket. Everything else is in host.ts.
import { EngineHost } from './host';
import { loadDisco, moduleUrl } from './load';
import type { Request, WorkerMessage } from './protocol';
import { connectWebSocket } from './socket';

/** The parts of DedicatedWorkerGlobalScope used here (the project's tsconfig has DOM types). */
interface WorkerScope {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<Request>) => void): void;
  crossOriginIsolated: boolean;
  navigator: { hardwareConcurrency: number };
}

const scope = self as unknown as WorkerScope;

const host = new EngineHost({
  post: (message: WorkerMessage, transfer: Transferable[] = []) => scope.postMessage(message, transfer),
  // Threads need SharedArrayBuffer (a cross-origin isolated page); otherwise the one-thread build.
  loadModule: () => loadDisco(new URL(moduleUrl(scope.crossOriginIsolated === true && typeof SharedArrayBuffer !== 'undefined'), self.location.href).href),
  crossOriginIsolated: scope.crossOriginIsolated === true,
  hardwareConcurrency: scope.navigator.hardwareConcurrency || 1,
  connect: connectWebSocket,
});

scope.addEventListener('message', (event: MessageEvent<Request>) => host.handle(event.data));
