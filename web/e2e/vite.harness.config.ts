// SPDX-License-Identifier: Apache-2.0
// Builds the engine's test-only harness page (web/e2e/harness.html) for e2e/engine_smoke.mjs; the
// production app (web/index.html, vite.config.ts) is untouched. Usage:
//   npx vite build --config e2e/vite.harness.config.ts --outDir /tmp/some-dir
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  publicDir: false,
  resolve: { alias: { '@wasm': fileURLToPath(new URL('../../src/wasm', import.meta.url)) } },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    emptyOutDir: true,
    rollupOptions: { input: fileURLToPath(new URL('./harness.html', import.meta.url)) },
  },
});
