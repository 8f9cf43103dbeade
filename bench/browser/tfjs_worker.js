// SPDX-License-Identifier: Apache-2.0
// TF.js (tf.min.js, @tensorflow/tfjs 4.22) in a Web Worker: the fashion-mnist task's CNN
// (tasks/fashion-mnist.json) built with tf.layers, Adam 1e-3 (epsilon 1e-7), categorical
// cross-entropy on one-hot labels, batch job.batchSize, on the same IDX subset as disco.
//
// job.backend: 'webgl' | 'cpu' | ... One answer per job: {ok: false, error} when the backend
// cannot be set up or fails to train, else {rates: [samples/s of each timed batch], ...}.
// Time-bounded, because the cpu backend trains a handful of samples per second:
// job.warmupBatches untimed batches (shader compilation, first allocations), then timed batches
// until job.seconds have passed or job.maxBatches were trained (at least one). Each batch is one
// model.trainOnBatch, whose promise resolves once the loss is read back (a GPU sync), like
// PyTorch's loss.item() and disco's per-batch loss.
importScripts('./tf.min.js');

function readIdx(bytes, wantDims) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ndim = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08 || ndim !== wantDims)
    throw new Error('not a uint8 IDX file of the expected rank');
  const dims = [];
  for (let i = 0; i < ndim; ++i) dims.push(view.getUint32(4 + 4 * i));
  return { dims, data: bytes.subarray(4 + 4 * ndim) };
}

async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

function buildModel() {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 5, activation: 'relu' }));
  model.add(tf.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.dropout({ rate: 0.25 }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 32, activation: 'relu' }));
  model.add(tf.layers.dropout({ rate: 0.25 }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  model.compile({
    optimizer: tf.train.adam(0.001, 0.9, 0.999, 1e-7),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
  });
  return model;
}

function backendDetails(name) {
  const details = {};
  try {
    if (name === 'webgl') {
      const gl = tf.backend().gpgpu.gl;
      const ext = gl.getExtension('WEBGL_debug_renderer_info');
      details.webglVersion = tf.env().get('WEBGL_VERSION');
      details.renderer = ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
    }
  } catch (err) {
    details.detailsError = String(err);
  }
  return details;
}

async function run(job) {
  const [imagesBytes, labelsBytes] = await Promise.all([fetchBytes(job.images), fetchBytes(job.labels)]);
  const images = readIdx(imagesBytes, 3);
  const labels = readIdx(labelsBytes, 1);
  const n = images.dims[0];
  if (labels.dims[0] !== n || images.dims[1] !== 28 || images.dims[2] !== 28)
    throw new Error('unexpected IDX shapes');

  let ok = false;
  try {
    ok = await tf.setBackend(job.backend);
  } catch (err) {
    throw new Error(`setBackend('${job.backend}') threw: ${err}`);
  }
  await tf.ready();
  if (!ok || tf.getBackend() !== job.backend)
    throw new Error(`backend '${job.backend}' is not available here (active: ${tf.getBackend()})`);

  // Stage every batch as tensors before timing (the timed part is training only).
  const bs = job.batchSize;
  const nBatches = Math.max(1, Math.min(Math.floor(n / bs), job.warmupBatches + job.maxBatches));
  const x = new Float32Array(bs * 784);
  const y = new Float32Array(bs * 10);
  const batches = [];
  for (let b = 0; b < nBatches; ++b) {
    y.fill(0);
    for (let i = 0; i < bs; ++i) {
      const s = (b * bs + i) % n;
      for (let p = 0; p < 784; ++p) x[i * 784 + p] = images.data[s * 784 + p] / 255;
      y[i * 10 + labels.data[s]] = 1;
    }
    batches.push([tf.tensor4d(x, [bs, 28, 28, 1]), tf.tensor2d(y, [bs, 10])]);
  }

  const model = buildModel();
  let b = 0;
  const next = () => batches[b++ % batches.length];
  const t0 = performance.now();
  for (let i = 0; i < job.warmupBatches; ++i) await model.trainOnBatch(...next());
  const warmupSeconds = (performance.now() - t0) / 1000;

  const rates = [];
  let lastLoss = null;
  const start = performance.now();
  while (rates.length < Math.max(1, job.maxBatches)) {
    const t = performance.now();
    const out = await model.trainOnBatch(...next());
    rates.push(bs / ((performance.now() - t) / 1000));
    lastLoss = Array.isArray(out) ? out[0] : out;
    if (performance.now() - start >= job.seconds * 1000) break;
  }
  const timedSeconds = (performance.now() - start) / 1000;
  if (!Number.isFinite(lastLoss)) throw new Error(`training produced a non-finite loss (${lastLoss})`);
  for (const [bx, by] of batches) {
    bx.dispose();
    by.dispose();
  }
  model.dispose();
  return {
    backend: tf.getBackend(),
    version: tf.version.tfjs,
    ...backendDetails(job.backend),
    rates,
    meanRate: (rates.length * bs) / timedSeconds,
    warmupSeconds,
    lastLoss,
  };
}

self.onmessage = async (e) => {
  try {
    self.postMessage({ ok: true, ...(await run(e.data)) });
  } catch (err) {
    self.postMessage({ ok: false, error: String(err && err.message ? err.message : err) });
  }
};
