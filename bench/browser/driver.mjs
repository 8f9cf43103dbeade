// SPDX-License-Identifier: Apache-2.0
// Node driver of bench/browser_throughput.sh (run it through that script, which serves the web
// directory with `disco serve` and cleans up). It
//   1. prepares the web directory: the first --samples images of Fashion-MNIST's training split
//      as plain IDX files, and src/wasm/disco.ts transpiled (unchanged) to disco.js;
//   2. opens the page in headless Chromium (playwright-core from web/node_modules);
//   3. for 1 thread and for all threads, measures in turn disco wasm in a Web Worker, native
//      disco (`disco train`) and PyTorch (bench/pytorch_mnist_cnn.py) on the same model, batch and
//      number of samples; then TF.js on each backend it can set up in the same browser;
//   4. prints the figures and ratios. Exit status: 0 when every path ran, 1 when one broke (speed
//      never fails the run), 2 on bad arguments.
// Options: see usage() below. Progress goes to stderr, the report to stdout.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

function usage() {
  return `usage: driver.mjs --root DIR --web-dir DIR --url URL --tmp DIR --disco-bin FILE [options]
  --samples N         training samples per epoch, every path (default 8192)
  --reps N            timed epochs per path after --warmup-epochs untimed ones (default 5)
  --warmup-epochs N   untimed epochs first (default 1)
  --threads-all N     the "all threads" count (default: min(disco_max_threads, CPUs))
  --paths L           comma-separated subset of wasm,native,pytorch,tfjs (default: all; the
                      ratios that need a path left out print n/a)
  --tfjs-backends L   comma-separated TF.js backends to try (default webgl,cpu)
  --tfjs-seconds S    timed seconds per TF.js backend (default 10; at least one batch)
  --tfjs-max-batches N  cap on timed TF.js batches (default samples / 64)
  --python FILE       python with torch (default /usr/bin/python3)
  --data-dir DIR      Fashion-MNIST IDX .gz files (default /usr/share/datasets/fashion-mnist)
  --chromium FILE     (default /usr/bin/chromium)
  --verbose           forward the page's console to stderr`;
}

// ---- arguments

const opt = {
  samples: 8192,
  reps: 5,
  warmupEpochs: 1,
  threadsAll: 0,
  paths: 'wasm,native,pytorch,tfjs',
  tfjsBackends: 'webgl,cpu',
  tfjsSeconds: 10,
  tfjsMaxBatches: 0,
  python: '/usr/bin/python3',
  dataDir: '/usr/share/datasets/fashion-mnist',
  chromium: '/usr/bin/chromium',
  verbose: false,
};
const numeric = new Set(['samples', 'reps', 'warmupEpochs', 'threadsAll', 'tfjsSeconds', 'tfjsMaxBatches']);
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--verbose') {
      opt.verbose = true;
      continue;
    }
    if (a === '-h' || a === '--help') {
      console.log(usage());
      process.exit(0);
    }
    const key = a.replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!a.startsWith('--') || i + 1 >= argv.length) {
      console.error(`driver: bad argument '${a}'\n${usage()}`);
      process.exit(2);
    }
    const v = argv[++i];
    if (numeric.has(key)) {
      if (!/^[0-9]+(\.[0-9]+)?$/.test(v)) {
        console.error(`driver: ${a} expects a number, got '${v}'`);
        process.exit(2);
      }
      opt[key] = Number(v);
    } else {
      opt[key] = v;
    }
  }
  for (const k of ['root', 'webDir', 'url', 'tmp', 'discoBin']) {
    if (!opt[k]) {
      console.error(`driver: --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} is required\n${usage()}`);
      process.exit(2);
    }
  }
  const known = ['wasm', 'native', 'pytorch', 'tfjs'];
  opt.paths = new Set(opt.paths.split(',').filter(Boolean));
  if ([...opt.paths].some((p) => !known.includes(p))) {
    console.error(`driver: --paths takes a subset of ${known.join(',')}`);
    process.exit(2);
  }
  if (opt.samples < 64 || opt.reps < 1) {
    console.error('driver: --samples must be >= 64 and --reps >= 1');
    process.exit(2);
  }
}
const BATCH = 64;
const log = (msg) => console.error(`browser_throughput: ${msg}`);
const requireWeb = createRequire(path.join(opt.root, 'web', 'package.json'));

// ---- 1. the web directory's data and wrapper

function writeIdxSubset(n) {
  const read = (stem) => {
    for (const name of [`${stem}.gz`, stem]) {
      const p = path.join(opt.dataDir, name);
      if (fs.existsSync(p)) return name.endsWith('.gz') ? zlib.gunzipSync(fs.readFileSync(p)) : fs.readFileSync(p);
    }
    throw new Error(`${stem}(.gz) not found in ${opt.dataDir}`);
  };
  const images = read('train-images-idx3-ubyte');
  const labels = read('train-labels-idx1-ubyte');
  const total = images.readUInt32BE(4);
  if (n > total) throw new Error(`--samples ${n} is more than the ${total} training images`);
  const img = Buffer.from(images.subarray(0, 16 + n * 784));
  img.writeUInt32BE(n, 4);
  const lab = Buffer.from(labels.subarray(0, 8 + n));
  lab.writeUInt32BE(n, 4);
  fs.mkdirSync(path.join(opt.webDir, 'data'), { recursive: true });
  fs.writeFileSync(path.join(opt.webDir, 'data', 'train-images-idx3-ubyte'), img);
  fs.writeFileSync(path.join(opt.webDir, 'data', 'train-labels-idx1-ubyte'), lab);
}

function transpileWrapper() {
  const ts = requireWeb('typescript');
  const src = fs.readFileSync(path.join(opt.root, 'src', 'wasm', 'disco.ts'), 'utf8');
  const out = ts.transpileModule(src, {
    compilerOptions: { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.ESNext },
    reportDiagnostics: true,
    fileName: 'disco.ts',
  });
  if (out.diagnostics && out.diagnostics.length)
    throw new Error(`transpiling disco.ts: ${out.diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('; ')}`);
  fs.writeFileSync(path.join(opt.webDir, 'disco.js'), out.outputText);
}

// ---- statistics

function stats(rates) {
  const s = [...rates].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], n: s.length };
}

// ---- native paths (child processes)

function runChild(cmd, args, logFile, timeoutMs) {
  return new Promise((resolve) => {
    const out = fs.openSync(logFile, 'w');
    const child = spawn(cmd, args, { cwd: opt.tmp, stdio: ['ignore', out, out] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      fs.closeSync(out);
      resolve({ code: -1, error: String(err) });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      fs.closeSync(out);
      resolve({ code, signal });
    });
  });
}

function tail(file, n = 15) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

const epochs = () => opt.warmupEpochs + opt.reps;
// Time limit of one measurement: generous (200 samples/s, ~10x below the slowest path but TF.js)
// but bounded, so a hung pthread pool fails the run instead of stalling it.
const childTimeoutMs = () => 60_000 + (epochs() * opt.samples * 1000) / 200;

async function runNative(threads) {
  const tag = `native_${threads}t`;
  const report = path.join(opt.tmp, `${tag}.json`);
  const logFile = path.join(opt.tmp, `${tag}.log`);
  const r = await runChild(
    opt.discoBin,
    ['train', '--task', 'fashion-mnist', '--epochs', String(epochs()), '--limit', String(opt.samples),
      '--threads', String(threads), '--seed', '1', '--batch-size', String(BATCH), '--validation-split', '0',
      '--no-progress', '-o', path.join(opt.tmp, `${tag}.safetensors`), '--report-json', report],
    logFile, childTimeoutMs());
  if (r.code !== 0) return { ok: false, error: `disco train exited ${r.code ?? r.signal}${r.error ? ': ' + r.error : ''}\n${tail(logFile)}` };
  try {
    const j = JSON.parse(fs.readFileSync(report, 'utf8'));
    const rates = j.epochs.slice(opt.warmupEpochs).map((e) => e.samples_per_s);
    if (j.threads !== threads) return { ok: false, error: `disco train ran ${j.threads} threads, not ${threads}` };
    if (rates.length !== opt.reps || !rates.every((x) => x > 0)) throw new Error('missing epochs');
    return { ok: true, rates, lastLoss: j.epochs.at(-1).loss };
  } catch (err) {
    return { ok: false, error: `cannot read ${report}: ${err}` };
  }
}

async function runPytorch(threads) {
  const tag = `pytorch_${threads}t`;
  const out = path.join(opt.tmp, `${tag}.out`);
  const r = await runChild(
    opt.python,
    [path.join(opt.root, 'bench', 'pytorch_mnist_cnn.py'), '--epochs', String(epochs()), '--limit', String(opt.samples),
      '--threads', String(threads), '--seed', '1', '--batch-size', String(BATCH), '--data', opt.dataDir],
    out, childTimeoutMs());
  if (r.code !== 0) return { ok: false, error: `pytorch_mnist_cnn.py exited ${r.code ?? r.signal}${r.error ? ': ' + r.error : ''}\n${tail(out)}` };
  try {
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
    const j = JSON.parse(lines.at(-1));
    const rates = j.per_epoch.slice(opt.warmupEpochs).map((e) => e.samples_per_s);
    if (rates.length !== opt.reps || !rates.every((x) => x > 0)) throw new Error('missing epochs');
    return { ok: true, rates, version: j.torch_version, lastLoss: j.per_epoch.at(-1).loss };
  } catch (err) {
    return { ok: false, error: `cannot read the output of pytorch_mnist_cnn.py: ${err}\n${tail(out)}` };
  }
}

// ---- browser paths

async function browserJob(page, job) {
  try {
    return await page.evaluate((j) => window.benchRun(j), job);
  } catch (err) {
    return { ok: false, error: `page.evaluate: ${err}` };
  }
}

const dataUrls = { images: './data/train-images-idx3-ubyte', labels: './data/train-labels-idx1-ubyte' };

function runWasm(page, threads) {
  return browserJob(page, {
    kind: 'disco', threads, task: './fashion-mnist.json', ...dataUrls,
    batchSize: BATCH, warmupEpochs: opt.warmupEpochs, reps: opt.reps,
    timeoutMs: childTimeoutMs(),
  });
}

function runTfjs(page, backend) {
  const maxBatches = opt.tfjsMaxBatches || Math.floor(opt.samples / BATCH);
  return browserJob(page, {
    kind: 'tfjs', backend, ...dataUrls, batchSize: BATCH, warmupBatches: 1, maxBatches,
    seconds: opt.tfjsSeconds, timeoutMs: 120_000 + opt.tfjsSeconds * 3000,
  });
}

// ---- main

function loadavg() {
  return os.loadavg().map((x) => x.toFixed(2)).join(' ');
}

async function main() {
  const started = Date.now();
  const failures = [];
  log(`preparing ${opt.webDir} (${opt.samples} images, disco.ts -> disco.js)`);
  writeIdxSubset(opt.samples);
  transpileWrapper();

  const { chromium } = requireWeb('playwright-core');
  const browser = await chromium.launch({
    executablePath: opt.chromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const results = { wasm: {}, native: {}, pytorch: {}, tfjs: {} };
  let probe = null;
  let threadsAll = 0;
  const loadBefore = loadavg();
  try {
    const page = await browser.newPage();
    page.on('pageerror', (err) => log(`page error: ${err}`));
    if (opt.verbose) page.on('console', (m) => log(`console: ${m.text()}`));
    await page.goto(opt.url, { waitUntil: 'load' });
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30_000 });

    log('probing the wasm module');
    probe = await browserJob(page, { kind: 'probe', task: './fashion-mnist.json', ...dataUrls, timeoutMs: 60_000 });
    if (!probe.ok) throw new Error(`loading disco.mjs in a worker failed: ${probe.error}`);
    if (!probe.crossOriginIsolated) failures.push('the page is not cross-origin isolated (COOP/COEP missing?)');
    threadsAll = opt.threadsAll || Math.min(probe.maxThreads, os.cpus().length);
    if (threadsAll > probe.maxThreads) throw new Error(`--threads-all ${threadsAll} > disco_max_threads ${probe.maxThreads}`);
    log(`disco ${probe.version}: disco_max_threads=${probe.maxThreads}, hardwareConcurrency=${probe.hardwareConcurrency}, ` +
      `crossOriginIsolated=${probe.crossOriginIsolated}; all threads = ${threadsAll}`);

    // Interleaved per thread count, so that load changes hit the three paths alike.
    for (const t of [...new Set([1, threadsAll])]) {
      if (opt.paths.has('wasm')) {
        log(`disco wasm, ${t} thread(s): ${opt.warmupEpochs} + ${opt.reps} epochs of ${opt.samples} samples`);
        results.wasm[t] = await runWasm(page, t);
      }
      if (opt.paths.has('native')) {
        log(`native disco, ${t} thread(s)`);
        results.native[t] = await runNative(t);
      }
      if (opt.paths.has('pytorch')) {
        log(`pytorch, ${t} thread(s)`);
        results.pytorch[t] = await runPytorch(t);
      }
    }
    const backends = opt.paths.has('tfjs') ? opt.tfjsBackends.split(',').filter(Boolean) : [];
    for (const backend of backends) {
      log(`tfjs ${backend}: 1 warm-up batch, then up to ${opt.tfjsSeconds} s`);
      results.tfjs[backend] = await runTfjs(page, backend);
      if (!results.tfjs[backend].ok) log(`tfjs ${backend} did not train: ${results.tfjs[backend].error}`);
    }
  } finally {
    await browser.close();
  }
  const loadAfter = loadavg();

  // ---- report
  const chromiumVersion = (() => {
    try {
      return execFileSync(opt.chromium, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return 'chromium ?';
    }
  })();
  const cpu = (os.cpus()[0] || {}).model || '?';
  const torchVersion = Object.values(results.pytorch).find((r) => r.ok)?.version ?? '?';
  const row = (name, threads, r) => {
    if (!r) return;
    if (!r.ok) {
      console.log(`${name.padEnd(34)} ${String(threads).padStart(7)}   FAILED: ${r.error.split('\n')[0]}`);
      return;
    }
    const s = stats(r.rates);
    console.log(`${name.padEnd(34)} ${String(threads).padStart(7)} ${s.median.toFixed(1).padStart(9)} ` +
      `${s.min.toFixed(1).padStart(9)} ${s.max.toFixed(1).padStart(9)} ${String(s.n).padStart(5)} ` +
      `${(((s.max - s.min) / s.median) * 100).toFixed(0).padStart(5)}%`);
  };
  console.log('Browser training throughput: the fashion-mnist CNN (conv 8@5x5, conv 16@5x5, maxpool 2, dense 32, dense 10),');
  console.log(`  batch ${BATCH}, Adam 1e-3, ${opt.samples} Fashion-MNIST training images per epoch;`);
  console.log(`  disco wasm / native / PyTorch: ${opt.warmupEpochs} warm-up + ${opt.reps} timed epochs each, median [min, max] of the timed epochs;`);
  console.log(`  TF.js: 1 warm-up batch, then timed batches for up to ${opt.tfjsSeconds} s, median [min, max] of the batches.`);
  console.log(`  host: ${cpu}, ${os.cpus().length} CPUs; load average before ${loadBefore}, after ${loadAfter}`);
  console.log(`  ${chromiumVersion}, headless, --disable-gpu; page crossOriginIsolated=${probe?.crossOriginIsolated}, ` +
    `disco_max_threads=${probe?.maxThreads}, all threads = ${threadsAll}; PyTorch ${torchVersion}`);
  console.log('');
  console.log(`${'path (samples/s)'.padEnd(34)} ${'threads'.padStart(7)} ${'median'.padStart(9)} ${'min'.padStart(9)} ${'max'.padStart(9)} ${'reps'.padStart(5)} ${'spread'.padStart(6)}`);
  for (const t of [...new Set([1, threadsAll])]) {
    row('disco wasm (Chromium Web Worker)', t, results.wasm[t]);
    row('disco native (disco train)', t, results.native[t]);
    row('pytorch', t, results.pytorch[t]);
  }
  for (const [backend, r] of Object.entries(results.tfjs)) {
    const what = r.ok && r.renderer ? (/swiftshader/i.test(r.renderer) ? ' (SwiftShader)' : ` (${r.renderer.slice(0, 20)})`) : '';
    row(`tfjs ${backend}${what}`, '-', r);
  }
  if (opt.paths.has('tfjs')) console.log(`${'tfjs wasm'.padEnd(34)} ${'-'.padStart(7)}   not run: not in the tf.min.js bundle (@tensorflow/tfjs-backend-wasm), and it has no Conv2DBackpropFilter`);
  for (const [backend, r] of Object.entries(results.tfjs))
    if (r.ok && r.renderer) console.log(`  (tfjs ${backend}: WebGL ${r.webglVersion}, ${r.renderer})`);

  const med = (r) => (r && r.ok ? stats(r.rates).median : NaN);
  const okTfjs = Object.entries(results.tfjs).filter(([, r]) => r.ok);
  const [tfjsBest, tfjsBestRate] = okTfjs.reduce((best, [b, r]) => (med(r) > best[1] ? [b, med(r)] : best), ['none', -Infinity]);
  const tfjsBestFinite = Number.isFinite(tfjsBestRate) ? tfjsBestRate : NaN;
  const wasm1 = med(results.wasm[1]);
  const wasmAll = med(results.wasm[threadsAll]);
  const ratios = [
    [`wasm_1t/native_1t`, wasm1 / med(results.native[1]), 0.5],
    [`wasm_all/native_all (${threadsAll}t)`, wasmAll / med(results.native[threadsAll]), 0.5],
    [`wasm_1t/pytorch_1t`, wasm1 / med(results.pytorch[1]), 0.5],
    [`wasm_all/pytorch_all (${threadsAll}t)`, wasmAll / med(results.pytorch[threadsAll]), 0.5],
    [`wasm_all/tfjs_best (${tfjsBest})`, wasmAll / tfjsBestFinite, null],
  ];
  console.log('');
  console.log(`${'ratio (of medians)'.padEnd(34)} ${'value'.padStart(7)}  target`);
  for (const [name, v, target] of ratios) {
    const verdict = target === null ? '' : Number.isFinite(v) ? (v >= target ? 'met' : 'NOT met') : 'n/a';
    console.log(`${name.padEnd(34)} ${(Number.isFinite(v) ? v.toFixed(2) : 'n/a').padStart(7)}  ${target === null ? '-' : `>= ${target}  ${verdict}`}`);
  }

  // ---- failures: any broken path fails the run (speed never does)
  for (const [kind, byKey] of Object.entries({ wasm: results.wasm, native: results.native, pytorch: results.pytorch }))
    for (const [k, r] of Object.entries(byKey)) if (!r.ok) failures.push(`${kind} ${k} thread(s): ${r.error}`);
  if (opt.paths.has('tfjs') && okTfjs.length === 0) failures.push(`tfjs: no backend trained (${Object.entries(results.tfjs).map(([b, r]) => `${b}: ${r.error}`).join('; ')})`);
  console.log('');
  const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'nan');
  console.log(`wasm_1t=${f(wasm1)} wasm_all=${f(wasmAll)} native_1t=${f(med(results.native[1]))} ` +
    `native_all=${f(med(results.native[threadsAll]))} pytorch_1t=${f(med(results.pytorch[1]))} ` +
    `pytorch_all=${f(med(results.pytorch[threadsAll]))} tfjs_best=${f(tfjsBestFinite)} tfjs_backend=${tfjsBest} ` +
    `all_threads=${threadsAll} samples=${opt.samples} reps=${opt.reps}`);
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (failures.length) {
    for (const x of failures) log(`FAILED: ${x}`);
    process.exit(1);
  }
}

main().catch((err) => {
  log(`error: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
