// SPDX-License-Identifier: Apache-2.0
// disco's wasm module in a Web Worker, driven through the typed wrapper src/wasm/disco.ts (which
// driver.mjs transpiles to ./disco.js, unchanged, when it prepares the web directory).
//
// job 'probe': load the module, answer {maxThreads, version, hardwareConcurrency, ...}.
// job 'disco': fashion-mnist task, model seeded like the CLI (seed, trainer seed + 1), the IDX
//   files job.images / job.labels (a subset of Fashion-MNIST's training split), a Trainer with
//   job.threads threads; job.warmupEpochs untimed epochs, then job.reps timed epochs of batch
//   job.batchSize. Answers {rates: [samples/s per timed epoch], ...}. Each timed epoch is
//   begin_epoch .. step until done .. end_epoch(no validation), as the CLI's train loop.
import createDisco from './disco.mjs';
import { Dataset, Disco, Trainer } from './disco.js';

async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

function probeInfo(disco) {
  return {
    version: disco.version,
    maxThreads: disco.maxThreads,
    hardwareConcurrency: navigator.hardwareConcurrency,
    crossOriginIsolated: self.crossOriginIsolated,
    sharedArrayBuffer: typeof SharedArrayBuffer === 'function',
  };
}

async function runDisco(job) {
  const [taskJson, images, labels] = await Promise.all([
    fetchBytes(job.task),
    fetchBytes(job.images),
    fetchBytes(job.labels),
  ]);
  const t0 = performance.now();
  const disco = await Disco.load(createDisco);
  const loadMs = performance.now() - t0;
  const info = probeInfo(disco);
  if (job.kind === 'probe') return { ...info, loadMs };
  if (job.threads > info.maxThreads)
    throw new Error(`${job.threads} threads requested, the module allows ${info.maxThreads}`);
  if (job.threads > 1 && !info.crossOriginIsolated)
    throw new Error('threads need a cross-origin-isolated page (COOP/COEP headers)');

  const task = disco.parseTask(taskJson);
  const seed = task.info.training.seed;
  const model = disco.createModel(task, seed);
  const data = Dataset.fromIdx(disco, task, images, labels);
  const trainer = new Trainer(disco, model, job.threads, seed + 1);
  try {
    for (let e = 0; e < job.warmupEpochs; ++e) trainer.trainEpoch(data, job.batchSize);
    const rates = [];
    let last = null;
    for (let r = 0; r < job.reps; ++r) {
      const start = performance.now();
      last = trainer.trainEpoch(data, job.batchSize);
      const secs = (performance.now() - start) / 1000;
      rates.push(last.n_samples / secs);
    }
    return {
      ...info,
      loadMs,
      threads: job.threads,
      nSamples: data.size,
      nWeights: model.nWeights,
      rates,
      lastLoss: last ? last.loss : null,
      lastAccuracy: last ? last.accuracy : null,
    };
  } finally {
    trainer.dispose();
    data.dispose();
    model.dispose();
    task.dispose();
  }
}

self.onmessage = async (e) => {
  try {
    self.postMessage({ ok: true, ...(await runDisco(e.data)) });
  } catch (err) {
    self.postMessage({ ok: false, error: String(err && err.stack ? err.stack : err) });
  }
};
