// SPDX-License-Identifier: Apache-2.0
// Types of the wasm-release build's disco.mjs (target disco_wasm: an Emscripten MODULARIZE +
// EXPORT_ES6 module whose default export is the factory `createDisco`). The module itself lives in
// the build directory (or web/public/wasm/), not here; this declaration lets TypeScript check code
// that imports it. The factory resolves to the module whose exports disco.ts wraps.
import type { DiscoFactory } from './disco';

declare const createDisco: DiscoFactory;
export default createDisco;
