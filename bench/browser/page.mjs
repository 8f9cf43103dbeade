// SPDX-License-Identifier: Apache-2.0
// Page side of the browser benchmark: runs one job in a fresh Web Worker and resolves with the
// worker's answer. driver.mjs calls window.benchRun(job) through Playwright; a fresh worker per
// job means a fresh wasm module (and pthread pool) or a fresh TF.js per measurement.
//
// job.kind: 'probe' | 'disco' | 'tfjs'; job.timeoutMs bounds the whole job (a hung pthread pool
// or a stuck backend becomes an error instead of a hang). Resolves {ok: true, ...result} or
// {ok: false, error}.

const workers = {
  probe: ['./disco_worker.mjs', { type: 'module' }],
  disco: ['./disco_worker.mjs', { type: 'module' }],
  tfjs: ['./tfjs_worker.js', { type: 'classic' }],
};

window.benchRun = (job) =>
  new Promise((resolve) => {
    const spec = workers[job.kind];
    if (!spec) {
      resolve({ ok: false, error: `unknown job kind ${job.kind}` });
      return;
    }
    const worker = new Worker(spec[0], spec[1]);
    let settled = false;
    const finish = (answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      worker.terminate();
      resolve(answer);
    };
    const timer = setTimeout(
      () => finish({ ok: false, error: `timed out after ${job.timeoutMs} ms` }),
      job.timeoutMs,
    );
    worker.onmessage = (e) => {
      if (e.data && e.data.log) console.log(`[${job.kind} worker] ${e.data.log}`);
      else finish(e.data);
    };
    worker.onerror = (e) => finish({ ok: false, error: `worker error: ${e.message || e.type}` });
    worker.onmessageerror = () => finish({ ok: false, error: 'worker message could not be read' });
    worker.postMessage({
      ...job,
      page: { crossOriginIsolated: self.crossOriginIsolated, userAgent: navigator.userAgent },
    });
  });

document.getElementById('status').textContent = `ready (crossOriginIsolated=${self.crossOriginIsolated})`;
window.benchReady = true;
