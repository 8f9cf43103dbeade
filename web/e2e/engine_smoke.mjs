#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Browser smoke test of the training engine (src/engine/): builds the test-only harness page
// (e2e/harness.html) with the wasm module, starts a real `disco serve` on it, and drives the real
// worker in Debian's Chromium to prove that
//   1. the module loads with threads on the cross-origin-isolated page,
//   2. local training on a few hundred Fashion-MNIST images lowers the loss,
//   3. stop ends training mid-epoch,
//   4. two pages train one federated task to the end against the server,
//   5. a page and a native `disco train --server` client train one task together.
// Exit code 0 on success, 1 with a message otherwise; figures are printed.
//
// Environment (paths relative to web/):
//   DISCO_BIN             disco CLI          (default ../build/native-release/src/cli/disco)
//   DISCO_WASM_BUILD_DIR  wasm build          (default ../build/wasm-release)
//   DISCO_E2E_OUT         harness build dir   (default a fresh temporary directory)
//   DISCO_E2E_PORT        server port         (default 18150)
//   DISCO_FASHION_MNIST   IDX directory       (default /usr/share/datasets/fashion-mnist)
//   CHROMIUM              browser             (default /usr/bin/chromium)
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const webDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoDir = resolve(webDir, '..');
const fromWeb = (p) => resolve(webDir, p);
const discoBin = fromWeb(process.env.DISCO_BIN ?? '../build/native-release/src/cli/disco');
const wasmDir = join(fromWeb(process.env.DISCO_WASM_BUILD_DIR ?? '../build/wasm-release'), 'src/wasm');
const port = Number(process.env.DISCO_E2E_PORT ?? 18150);
const fashionDir = process.env.DISCO_FASHION_MNIST ?? '/usr/share/datasets/fashion-mnist';
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const work = mkdtempSync(join(tmpdir(), 'disco-engine-e2e-'));
const outDir = process.env.DISCO_E2E_OUT ? fromWeb(process.env.DISCO_E2E_OUT) : join(work, 'dist');

let server = null;
let browser = null;
let serverLog = '';

function fail(message) {
  const error = new Error(message);
  error.smoke = true;
  throw error;
}
function check(condition, message) {
  if (!condition) fail(message);
}

// ---- preparation -----------------------------------------------------------------------------------

function requireFiles() {
  check(existsSync(discoBin), `${discoBin} is missing: build the CLI (cmake --build build/native-release --target disco) or set DISCO_BIN`);
  for (const f of ['disco.mjs', 'disco.wasm', 'disco.worker.js'])
    check(existsSync(join(wasmDir, f)), `${join(wasmDir, f)} is missing: build the module (NODE_PATH=/usr/share/nodejs cmake --build build/wasm-release --target disco_wasm) or set DISCO_WASM_BUILD_DIR`);
  check(existsSync(chromiumPath), `${chromiumPath} is missing: apt-get install -y chromium, or set CHROMIUM`);
  check(existsSync(join(fashionDir, 'train-images-idx3-ubyte.gz')), `Fashion-MNIST not found in ${fashionDir} (apt-get install dataset-fashion-mnist)`);
}

function buildHarness() {
  const r = spawnSync('npx', ['vite', 'build', '--config', 'e2e/vite.harness.config.ts', '--outDir', outDir, '--logLevel', 'warn'], { cwd: webDir, encoding: 'utf8' });
  check(r.status === 0, `vite build of the harness failed:\n${r.stdout}${r.stderr}`);
  mkdirSync(join(outDir, 'wasm'), { recursive: true });
  for (const f of ['disco.mjs', 'disco.wasm', 'disco.worker.js']) copyFileSync(join(wasmDir, f), join(outDir, 'wasm', f));
}

/** A grey 28 x 28 image as a top-down 24-bit BMP. */
function bmp(grey) {
  const w = 28;
  const h = 28;
  const row = Math.ceil((w * 3) / 4) * 4;
  const b = Buffer.alloc(54 + row * h);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(w, 18);
  b.writeInt32LE(-h, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  b.writeUInt32LE(row * h, 34);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) b.fill(grey[y * w + x], 54 + y * row + x * 3, 54 + y * row + x * 3 + 3);
  return b;
}

function writeFixtures(set, split, n) {
  const labels = JSON.parse(readFileSync(join(repoDir, 'tasks/fashion-mnist.json'), 'utf8')).data.labels;
  const images = gunzipSync(readFileSync(join(fashionDir, `${split}-images-idx3-ubyte.gz`)));
  const ys = gunzipSync(readFileSync(join(fashionDir, `${split}-labels-idx1-ubyte.gz`)));
  const dir = join(outDir, 'fixtures', set);
  mkdirSync(dir, { recursive: true });
  const index = [];
  for (let i = 0; i < n; i++) {
    const name = `img_${i}.bmp`;
    writeFileSync(join(dir, name), bmp(images.subarray(16 + i * 784, 16 + (i + 1) * 784)));
    index.push({ name, label: labels[ys[8 + i]] });
  }
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
}

/** Tasks served to the pages: Fashion-MNIST with 3 rounds, so the smoke test stays short. */
function writeTasks() {
  const dir = join(work, 'tasks');
  mkdirSync(dir, { recursive: true });
  const task = JSON.parse(readFileSync(join(repoDir, 'tasks/fashion-mnist.json'), 'utf8'));
  task.training.epochs = 3;
  writeFileSync(join(dir, 'fashion-mnist.json'), JSON.stringify(task, null, 2));
  task.id = 'fashion-mnist-mixed'; // a second task for the browser + native session
  writeFileSync(join(dir, 'fashion-mnist-mixed.json'), JSON.stringify(task, null, 2));
  return dir;
}

async function startServer(tasksDir) {
  const dataDir = join(work, 'data');
  mkdirSync(dataDir, { recursive: true });
  server = spawn(discoBin, ['serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--web-dir', outDir, '--tasks-dir', tasksDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.on('data', (d) => (serverLog += d));
  server.stderr.on('data', (d) => (serverLog += d));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    check(server.exitCode === null, `disco serve exited (code ${server.exitCode}):\n${serverLog}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/api/tasks/fashion-mnist`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`disco serve did not answer on port ${port} within 15 s:\n${serverLog}`);
}

async function openPage(name) {
  const page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`  [${name} console] ${m.text()}`);
  });
  page.on('pageerror', (e) => console.log(`  [${name} page error] ${e.message}`));
  await page.goto(`http://127.0.0.1:${port}/harness.html`);
  await page.waitForFunction(() => document.getElementById('state')?.textContent === 'ready', null, { timeout: 15_000 });
  return page;
}

// ---- the checks ------------------------------------------------------------------------------------

async function main() {
  requireFiles();
  buildHarness();
  writeFixtures('train', 'train', 600);
  writeFixtures('test', 't10k', 200);
  await startServer(writeTasks());
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });

  console.log('1. module load and local training (300 images, 3 epochs)');
  const page = await openPage('local');
  const isolated = await page.evaluate(() => self.crossOriginIsolated);
  check(isolated, 'the page is not cross-origin isolated (COOP/COEP headers missing?)');
  const local = await page.evaluate(() => window.harness.localTraining('fashion-mnist', 300, 3));
  console.log(`   module ${local.ready.version}: ${local.ready.threads} threads (max ${local.ready.maxThreads}), crossOriginIsolated ${local.ready.crossOriginIsolated}`);
  check(local.ready.crossOriginIsolated && local.ready.threads > 1, `expected threads on an isolated page, got ${JSON.stringify(local.ready)}`);
  for (const e of local.epochs)
    console.log(`   epoch ${e.epoch}: loss ${e.loss.toFixed(4)} acc ${e.accuracy.toFixed(3)}  val loss ${e.valLoss?.toFixed(4)} acc ${e.valAccuracy?.toFixed(3)}`);
  console.log(`   ${local.seconds.toFixed(2)} s of training; test accuracy on 200 images ${local.testAccuracy.toFixed(3)}`);
  check(local.epochs.length === 3, `expected 3 epoch events, got ${local.epochs.length}`);
  check(local.epochs[2].loss < local.epochs[0].loss, 'the training loss did not go down');
  check(local.epochs[2].valLoss !== null, 'no validation metrics');

  console.log('2. stop');
  const stopped = await page.evaluate(() => window.harness.stopTraining('fashion-mnist', 300));
  console.log(`   stopped after ${stopped.epochsDone} epochs, ${stopped.stopMs.toFixed(0)} ms after asking; last status "${stopped.lastStatus?.message}"`);
  check(stopped.result.stopped === true, `train did not reply stopped: ${JSON.stringify(stopped.result)}`);
  check(stopped.stopMs < 2000, `stop took ${stopped.stopMs} ms`);
  await page.close();

  console.log('3. federated: two pages, one task (3 rounds, 300 images each)');
  const [a, b] = await Promise.all([openPage('A'), openPage('B')]);
  const [ra, rb] = await Promise.all([
    a.evaluate(() => window.harness.federated('fashion-mnist', 0, 300)),
    b.evaluate(() => window.harness.federated('fashion-mnist', 300, 300)),
  ]);
  for (const [name, r] of [
    ['A', ra],
    ['B', rb],
  ]) {
    if (r.error) fail(`page ${name} failed: ${r.error}\nstatus: ${JSON.stringify(r.events.filter((e) => e.type === 'status').map((e) => e.message))}\nserver:\n${serverLog}`);
    console.log(`   page ${name}: ${r.result.rounds} rounds in ${r.seconds.toFixed(1)} s, test accuracy ${r.testAccuracy.toFixed(3)}; phases ${r.phases.join(' > ')}`);
    for (const round of r.rounds)
      console.log(`     round ${round.round}: ${round.participants} participants, val loss ${round.valLoss?.toFixed(4)} acc ${round.valAccuracy?.toFixed(3)}`);
    check(r.result.stopped === false && r.result.rounds === 3, `page ${name}: expected 3 rounds, got ${JSON.stringify(r.result)}`);
    check(r.rounds.length === 3 && r.rounds.every((x) => x.participants === 2), `page ${name}: expected 3 rounds of 2 participants`);
    check(r.messages.some((m) => /^waiting for participants \d\/2$/.test(m) || /^waiting for round/.test(m)), `page ${name}: no waiting status`);
  }
  check(ra.modelHash === rb.modelHash && ra.modelBytes === rb.modelBytes, 'the two pages ended with different models');
  check(ra.rounds[2].valLoss < ra.rounds[0].valLoss || rb.rounds[2].valLoss < rb.rounds[0].valLoss, 'the global model did not improve over the rounds');
  console.log(`   both pages hold the same final model (${ra.modelBytes} bytes)`);
  await a.close();
  await b.close();

  console.log('4. federated: one page and one native client (disco train --server)');
  const nativeOut = join(work, 'native.safetensors');
  const native = spawn(
    discoBin,
    ['train', '--task', 'fashion-mnist-mixed', '--server', `http://127.0.0.1:${port}`, '--data', fashionDir, '--limit', '300', '--threads', '1', '--no-progress', '-o', nativeOut],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let nativeLog = '';
  native.stdout.on('data', (d) => (nativeLog += d));
  native.stderr.on('data', (d) => (nativeLog += d));
  const nativeDone = new Promise((r) => native.on('exit', (code) => r(code)));
  const c = await openPage('C');
  const rc = await c.evaluate(() => window.harness.federated('fashion-mnist-mixed', 0, 300));
  const nativeCode = await Promise.race([nativeDone, new Promise((r) => setTimeout(() => r('timeout'), 60_000))]);
  if (nativeCode === 'timeout') native.kill('SIGTERM');
  if (rc.error) fail(`page C failed: ${rc.error}\nnative client:\n${nativeLog}`);
  check(nativeCode === 0, `the native client failed (${nativeCode}):\n${nativeLog}`);
  console.log(`   page C: ${rc.result.rounds} rounds in ${rc.seconds.toFixed(1)} s, rounds ${rc.rounds.map((r) => `${r.round}:${r.participants}p`).join(' ')}`);
  console.log(`   native: ${nativeLog.trim().split('\n').filter((l) => /finished|round \d/.test(l)).join(' | ')}`);
  check(rc.result.rounds === 3 && rc.rounds.every((x) => x.participants === 2), `page C: expected 3 rounds of 2 participants, got ${JSON.stringify(rc.rounds)}`);
  const nativeModel = readFileSync(nativeOut);
  let hash = 0;
  for (const byte of nativeModel) hash = (hash * 31 + byte) >>> 0;
  console.log(`   final model: page ${rc.modelBytes} bytes, native ${nativeModel.length} bytes; ${hash === rc.modelHash ? 'identical' : 'different files'}`);
  await c.close();
  console.log('engine smoke: OK');
}

let code = 0;
try {
  await main();
} catch (e) {
  code = 1;
  console.error(`engine smoke: FAILED: ${e.smoke ? e.message : (e.stack ?? e)}`);
} finally {
  await browser?.close().catch(() => {});
  if (server && server.exitCode === null) server.kill('SIGTERM');
  if (!process.env.DISCO_E2E_OUT) rmSync(work, { recursive: true, force: true });
}
process.exit(code);
