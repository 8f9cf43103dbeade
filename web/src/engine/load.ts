// SPDX-License-Identifier: Apache-2.0
// Loading the WebAssembly module in the training worker and choosing its thread count. Two builds
// of the same module are copied to web/public/wasm/ by tools/build_web.sh and imported at run time
// (not bundled): wasm/disco.mjs (+ disco.wasm + disco.worker.js) is built with pthreads and a fixed
// pool (-sPTHREAD_POOL_SIZE), which needs SharedArrayBuffer, i.e. a cross-origin isolated page; a
// trainer of n threads uses n - 1 pool workers, and asking for more workers than the pool holds
// hangs the page, so the count never exceeds disco_max_threads(). wasm/single/disco.mjs (preset
// wasm-single) is built without pthreads for pages that are not isolated: one thread.
import { Disco, type DiscoFactory } from '@wasm/disco';
import { messageOf } from './runtime';

/** Where the page serves the multi-threaded module (web/public/wasm/ in the build). */
export const DEFAULT_MODULE_URL = '/wasm/disco.mjs';
/** The one-thread module, for pages without cross-origin isolation. */
export const SINGLE_THREAD_MODULE_URL = '/wasm/single/disco.mjs';

/** The module a worker can run: the threaded one only when SharedArrayBuffer is available. */
export function moduleUrl(isolated: boolean): string {
  return isolated ? DEFAULT_MODULE_URL : SINGLE_THREAD_MODULE_URL;
}

/**
 * The trainer's thread count: 1 without cross-origin isolation (no SharedArrayBuffer, so no
 * threads), else the requested count (default: the machine's cores), at least 1 and at most what
 * the module's pthread pool allows.
 */
export function chooseThreads(requested: number | undefined, isolated: boolean, hardwareConcurrency: number, maxThreads: number): number {
  if (!isolated) return 1;
  const wanted = requested ?? hardwareConcurrency;
  const n = Number.isFinite(wanted) ? Math.floor(wanted) : 1;
  return Math.max(1, Math.min(n, maxThreads));
}

/** Imports the module from `url` and instantiates it. Errors say what to fix. */
export async function loadDisco(url: string = DEFAULT_MODULE_URL): Promise<Disco> {
  let factory: DiscoFactory;
  try {
    const imported = (await import(/* @vite-ignore */ url)) as { default: DiscoFactory };
    factory = imported.default;
  } catch (e) {
    throw new Error(`cannot load the WebAssembly module ${url} (${messageOf(e)}); build it with tools/build_web.sh`);
  }
  return Disco.load(factory);
}
