// SPDX-License-Identifier: Apache-2.0
// Vite 7 build of the web app (web/dist, served by `disco serve`) and the Vitest configuration.
// public/wasm/ holds the wasm-release build's disco.mjs, disco.wasm and disco.worker.js, copied
// there by tools/build_web.sh; the training worker imports them at run time (not bundled).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Cross-origin isolation (SharedArrayBuffer, hence wasm threads), as `disco serve` sends.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
// `npm run dev` proxies the API and the task sockets to a `disco serve` on this address.
const server = process.env.DISCO_SERVER ?? 'http://127.0.0.1:8080';

export default defineConfig({
  resolve: {
    alias: { '@wasm': fileURLToPath(new URL('../src/wasm', import.meta.url)) },
  },
  server: {
    headers: isolation,
    fs: { allow: ['..'] },
    proxy: {
      '/api': server,
      '/ws': { target: server.replace(/^http/, 'ws'), ws: true },
    },
  },
  preview: { headers: isolation },
  worker: { format: 'es' },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true },
  test: { environment: 'node', include: ['src/**/*.test.ts'] },
});
