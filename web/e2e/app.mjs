// SPDX-License-Identifier: Apache-2.0
// End-to-end test of the web app in Debian's Chromium (driven by npm playwright-core) against a
// real `disco serve` on loopback, serving the built app (web/dist) and the WebAssembly module:
//   1. the task list and a task page render;
//   2. the task-creation form rejects a bad task (field-level errors: one the browser checks, one
//      only the server can: a bad layer in an uploaded model spec) and accepts a good one;
//   3. two browser participants and one native `disco train --server` client train a
//      Fashion-MNIST task federated from PNG files + a labels CSV, to a stated accuracy, and the
//      browser's test page reports it;
//      then predicts on unlabelled images (CSV export) and saves the model to the browser's
//      library, whose download holds the same weights as the native client's model; a fresh
//      page loads the native client's model file, and the server's global model through the
//      library, and measures the same accuracy with each;
//   4. without cross-origin isolation the app falls back to the one-thread module and trains;
//   5. at a phone-sized viewport: connect label folders, train locally, stop, no horizontal
//      scrolling.
// Screenshots go to $DISCO_E2E_ARTIFACTS (default build/e2e-artifacts). Prints "e2e: N passed"
// and exits 0, or names the failing step and exits 1.
//
//   node web/e2e/app.mjs            (after tools/build_web.sh and the native release build)
// Environment: DISCO_BIN (default build/native-release/src/cli/disco), DISCO_WEB_DIST (web/dist),
// DISCO_E2E_ARTIFACTS, DISCO_E2E_HEADED=1 to watch.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const disco = process.env.DISCO_BIN ?? join(root, 'build/native-release/src/cli/disco');
const dist = process.env.DISCO_WEB_DIST ?? join(root, 'web/dist');
const artifacts = process.env.DISCO_E2E_ARTIFACTS ?? join(root, 'build/e2e-artifacts');
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

// The federated scenario. Each participant holds its own 1,000 images; the federated model must
// reach this accuracy on 500 held-out test images.
const PER_CLIENT = 1000;
const N_TEST = 500;
const MIN_ACCURACY = 0.7;
const TRAIN_TIMEOUT_MS = 6 * 60_000;

const work = mkdtempSync(join(tmpdir(), 'disco-e2e-'));
mkdirSync(artifacts, { recursive: true });
let server = null;
let native = null;
let browser = null;
let passed = 0;

const started = Date.now();
function log(msg) {
  console.log(`e2e: [${((Date.now() - started) / 1000).toFixed(1)} s] ${msg}`);
}

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
  } catch (e) {
    // Every open page as it was at the failure, for the report.
    let k = 0;
    for (const context of browser?.contexts() ?? []) {
      for (const page of context.pages()) await shot(page, `failed-${passed + 1}-${k++}`).catch(() => {});
    }
    throw new Error(`${name}: ${e instanceof Error ? e.message : e}`);
  }
  passed += 1;
  log(`ok ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

function sampleImages(out, args) {
  const r = spawnSync('python3', [join(root, 'tools/make_sample_images.py'), out, ...args], { encoding: 'utf8' });
  check(r.status === 0, `make_sample_images.py failed: ${r.stderr}`);
  return readdirSync(out).filter((f) => f.endsWith('.png')).map((f) => join(out, f));
}

async function startServer() {
  const stateDir = join(work, 'state');
  server = spawn(disco, ['serve', '--port', '0', '--data-dir', stateDir, '--tasks-dir', join(root, 'tasks'), '--web-dir', dist], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  server.stderr.on('data', (d) => {
    stderr += d;
  });
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
    if (m) {
      server.log = () => stderr;
      return m[1];
    }
    if (server.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`disco serve did not start: ${stderr}`);
}

async function api(url, path, init) {
  const res = await fetch(url + path, init);
  const body = await res.text();
  return { status: res.status, body: body ? JSON.parse(body) : null };
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

// Connects PNG files + labels CSV for `role`'s section of the task page.
async function connectImages(scope, files, csv) {
  await scope.getByLabel('Image files').setInputFiles(files);
  await scope.getByLabel('Labels CSV').setInputFiles(csv);
  await scope.getByRole('button', { name: 'Connect data' }).click();
}

// Clicks `button` and returns the file it downloads.
async function downloadBytes(page, button) {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), button.click()]);
  return readFileSync(await download.path());
}

async function downloadText(page, button) {
  return (await downloadBytes(page, button)).toString('utf8');
}

// The tensor data of a safetensors file (after its 8-byte length and JSON header).
function tensorBytes(file) {
  const headerLength = Number(file.readBigUInt64LE(0));
  return file.subarray(8 + headerLength);
}

async function waitForStatus(page, pattern, timeout) {
  const status = page.getByRole('status').filter({ hasText: pattern });
  await status.first().waitFor({ timeout });
}

async function main() {
  const url = await startServer();
  log(`server ${url}`);
  const shards = join(work, 'train');
  sampleImages(shards, ['--count', String(PER_CLIENT), '--shards', '3', '--seed', '11']);
  const shard = (k) => readdirSync(join(shards, `shard-${k}`)).filter((f) => f.endsWith('.png')).map((f) => join(shards, `shard-${k}`, f));
  const testFiles = sampleImages(join(work, 'test'), ['--test', '--count', String(N_TEST), '--seed', '5']);
  const testCsv = join(work, 'test', 'labels.csv');

  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: !process.env.DISCO_E2E_HEADED });

  await step('task list and task page render', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(url + '/');
    await page.getByRole('heading', { name: 'Tasks' }).waitFor();
    await page.getByRole('link', { name: 'Fashion-MNIST clothing classification' }).click();
    await page.waitForURL(/\/tasks\/fashion-mnist$/);
    await page.getByText('Sandal').first().waitFor();
    const isolated = await page.evaluate(() => self.crossOriginIsolated);
    check(isolated, 'the page is not cross-origin isolated (COOP/COEP headers missing)');
    await shot(page, '1-task-page');
    await page.close();
  });

  await step('task form rejects a bad task and accepts a good one', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(url + '/create');
    await page.getByRole('heading', { name: 'Create a task' }).waitFor();
    await page.getByLabel('Task id').fill('e2e-form-task');
    await page.getByLabel('Title').fill('Form-made task');
    await page.getByLabel('Data type').selectOption('image');
    await page.getByLabel('Labels').fill('cat, dog');
    await page.getByLabel('Model preset').selectOption({ index: 1 });
    await page.getByLabel('Epochs').fill('2');
    await page.getByLabel('Batch size').fill('16');
    await page.getByLabel('Minimum participants').fill('0');
    await page.getByRole('button', { name: 'Create task' }).click();
    // Refused, by the browser's checks or the server's: the field is marked and explained.
    const field = page.getByLabel('Minimum participants');
    await page.waitForFunction(
      (el) => el.getAttribute('aria-invalid') === 'true', await field.elementHandle(), { timeout: 30_000 });
    const described = await field.getAttribute('aria-describedby');
    check(described, 'the invalid field has no aria-describedby message');
    const message = await page.locator(`#${described.split(' ')[0]}`).innerText();
    check(message.trim().length > 0, 'empty field error message');
    const listed = await api(url, '/api/tasks');
    check(!listed.body.some((t) => t.id === 'e2e-form-task'), 'the bad task was created');
    await shot(page, '2-form-rejected');
    await field.fill('2');

    // A model spec the browser cannot judge: the server refuses it, naming the layer's field,
    // and the form shows that message at the model file control.
    const fm = (await api(url, '/api/tasks/fashion-mnist')).body;
    const badSpec = JSON.parse(JSON.stringify(fm.model));
    badSpec.layers[5].units = -4;
    badSpec.layers[7].units = 2;
    writeFileSync(join(work, 'bad-model.json'), JSON.stringify(badSpec));
    const goodSpec = { ...badSpec, layers: badSpec.layers.map((l, i) => (i === 5 ? { ...l, units: 32 } : l)) };
    writeFileSync(join(work, 'good-model.json'), JSON.stringify(goodSpec));
    await page.getByLabel('Model preset').selectOption('custom');
    const specInput = page.getByLabel('Model spec JSON file');
    await specInput.setInputFiles(join(work, 'bad-model.json'));
    await page.getByRole('button', { name: 'Create task' }).click();
    await page.waitForFunction(
      (el) => el.getAttribute('aria-invalid') === 'true', await specInput.elementHandle(), { timeout: 30_000 });
    const specError = await page.locator(`#${(await specInput.getAttribute('aria-describedby')).split(' ')[0]}`).innerText();
    check(/model\.layers\[5\]\.units/.test(specError), `the server's field error is not shown at the model file: ${specError}`);
    check(!(await api(url, '/api/tasks')).body.some((t) => t.id === 'e2e-form-task'), 'the task with a bad model was created');
    await shot(page, '2-form-server-rejected');
    await specInput.setInputFiles(join(work, 'good-model.json'));
    await page.getByRole('button', { name: 'Create task' }).click();
    await page.waitForURL(/\/tasks\/e2e-form-task$/, { timeout: 30_000 });
    const created = await api(url, '/api/tasks/e2e-form-task');
    check(created.status === 200 && created.body.federation.min_participants === 2, `task not created: ${JSON.stringify(created)}`);
    await shot(page, '2-form-accepted');
    await page.close();
  });

  await step('two browsers and a native client train Fashion-MNIST federated', async () => {
    const task = JSON.parse(JSON.stringify((await api(url, '/api/tasks/fashion-mnist')).body));
    task.id = 'fashion-e2e';
    task.title = 'Fashion-MNIST (end-to-end test)';
    task.training = { epochs: 6, round_duration: 2, batch_size: 32, validation_split: 0.1, seed: 3 };
    task.federation = { scheme: 'federated', min_participants: 3 };
    const created = await api(url, '/api/tasks', { method: 'POST', body: JSON.stringify(task) });
    check(created.status === 201, `creating the task: ${JSON.stringify(created)}`);

    const pages = [];
    for (const k of [0, 1]) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      page.on('pageerror', (e) => log(`browser ${k} page error: ${e.message}`));
      await page.goto(`${url}/tasks/fashion-e2e`);
      await connectImages(page.getByRole('region', { name: 'Connect data' }), shard(k), join(shards, `shard-${k}`, 'labels.csv'));
      await page.getByText(`${PER_CLIENT} images`).first().waitFor({ timeout: 60_000 });
      await page.getByRole('radio', { name: 'Federated' }).check();
      await page.getByRole('button', { name: 'Start training' }).click();
      pages.push(page);
    }
    // Two of three joined: they wait for the third participant.
    await waitForStatus(pages[0], /waiting for participants/i, 30_000);
    await shot(pages[0], '3-waiting');

    native = spawn(disco, ['train', '--server', url, '--task', 'fashion-e2e', '--data', join(shards, 'shard-2', 'labels.csv'),
      '--client-id', 'native-e2e', '-o', join(work, 'native.safetensors'), '--no-progress'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let nativeOut = '';
    native.stdout.on('data', (d) => { nativeOut += d; });
    native.stderr.on('data', (d) => { nativeOut += d; });
    const nativeDone = new Promise((res) => native.on('exit', (code) => res(code)));

    await shot(pages[1], '3-training');
    for (const page of pages) {
      await waitForStatus(page, /Training finished/, TRAIN_TIMEOUT_MS);
      await waitForStatus(page, /Round 3 \/ 3/, 30_000); // the round display reached the last round
    }
    const code = await Promise.race([nativeDone, new Promise((r) => setTimeout(() => r('timeout'), 60_000).unref())]);
    check(code === 0, `native client ended with ${code}:\n${nativeOut}`);
    native = null;
    await shot(pages[0], '3-finished');

    // The browser's test page on held-out images reports the federated model's accuracy.
    const page = pages[0];
    const testSection = page.getByRole('region', { name: 'Test' });
    await connectImages(testSection, testFiles, testCsv);
    await testSection.getByText(`Connected ${N_TEST} images`).waitFor({ timeout: 60_000 });
    await testSection.getByRole('button', { name: 'Test model' }).click();
    const accText = await testSection.getByText(/Accuracy \d+(\.\d+)?%/).first().innerText({ timeout: 60_000 });
    const accuracy = Number(/Accuracy (\d+(?:\.\d+)?)%/.exec(accText)[1]) / 100;
    await page.getByRole('table', { name: /Confusion matrix/ }).waitFor();
    await shot(page, '3-tested');
    log(`federated accuracy on ${N_TEST} test images: ${accuracy.toFixed(4)} (required >= ${MIN_ACCURACY})`);
    check(accuracy >= MIN_ACCURACY, `accuracy ${accuracy} below ${MIN_ACCURACY}`);

    const status = await api(url, '/api/tasks/fashion-e2e/status');
    check(status.body.rounds_completed === 3, `rounds completed: ${JSON.stringify(status.body)}`);

    // Predict on unlabelled images and export the predictions as CSV.
    const predict = page.getByRole('region', { name: 'Predict' });
    await predict.getByLabel('Images to predict').setInputFiles(testFiles.slice(0, 50));
    await predict.getByRole('button', { name: 'Connect prediction data' }).click();
    const predictButton = predict.getByRole('button', { name: 'Predict', exact: true });
    await predictButton.and(page.locator(':enabled')).waitFor({ timeout: 30_000 });
    await predictButton.click();
    await predict.getByRole('table', { name: /Predictions/ }).waitFor({ timeout: 30_000 });
    const csvText = await downloadText(page, predict.getByRole('button', { name: 'Export CSV' }));
    const lines = csvText.trim().split(/\r?\n/);
    check(lines.length === 51, `prediction CSV has ${lines.length} lines, expected a header + 50`);
    const names = new Set(testFiles.slice(0, 50).map((f) => f.split('/').pop()));
    check(lines.slice(1).every((l) => names.has(l.split(',')[0].replace(/"/g, ''))), `prediction CSV rows do not name the files:\n${lines.slice(0, 3).join('\n')}`);

    // Save the model to the browser's library; it downloads as the same weights the native
    // client ended with (both hold the final global model).
    await page.getByRole('button', { name: 'Save to library' }).click();
    await page.getByText(/Saved .* to the/).waitFor({ timeout: 30_000 });
    await page.goto(`${url}/models`);
    await page.getByRole('heading', { name: /Fashion-MNIST \(end-to-end test\)/ }).first().waitFor({ timeout: 30_000 });
    await shot(page, '3-library');
    const saved = await downloadBytes(page, page.getByRole('button', { name: /^Download/ }).first());
    const nativeModel = readFileSync(join(work, 'native.safetensors'));
    const [a, b] = [tensorBytes(saved), tensorBytes(nativeModel)];
    check(a.length > 0 && a.equals(b), `the browser's saved model differs from the native client's (${a.length} vs ${b.length} tensor bytes)`);
    for (const p of pages) await p.close();

    // A fresh page loads the native client's model file and measures the same accuracy; a file
    // that is not a model of this task is refused with a message.
    const fresh = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await fresh.goto(`${url}/tasks/fashion-e2e`);
    await fresh.getByText('Start from a saved, a file or the global model').click();
    const modelInput = fresh.getByLabel('Model file (.safetensors)');
    await modelInput.setInputFiles(testCsv);
    await fresh.getByText(/Could not load labels\.csv/).waitFor({ timeout: 30_000 });
    await modelInput.setInputFiles(join(work, 'native.safetensors'));
    await fresh.getByText(/Loaded native\.safetensors/).waitFor({ timeout: 30_000 });
    const freshTest = fresh.getByRole('region', { name: 'Test' });
    await connectImages(freshTest, testFiles, testCsv);
    await freshTest.getByText(`Connected ${N_TEST} images`).waitFor({ timeout: 60_000 });
    await freshTest.getByRole('button', { name: 'Test model' }).click();
    const nativeAcc = await freshTest.getByText(/Accuracy \d+(\.\d+)?%/).first().innerText({ timeout: 60_000 });
    check(nativeAcc.split(' ')[1] === accText.split(' ')[1], `the native model tests at ${nativeAcc}, the browser's at ${accText}`);

    // The server's latest global model, downloaded into the library and loaded from it, is the
    // same model too.
    await fresh.getByRole('button', { name: 'Download global model' }).click();
    await fresh.getByText(/Saved “Global model \(round 3\)” to the library/).waitFor({ timeout: 30_000 });
    await fresh.getByLabel('Saved model').selectOption({ label: /^Global model \(round 3\)/ }).catch(async () => {
      const options = await fresh.getByLabel('Saved model').locator('option').allInnerTexts();
      const label = options.find((o) => o.startsWith('Global model (round 3)'));
      check(label, `no global model in the library select: ${options.join(' | ')}`);
      await fresh.getByLabel('Saved model').selectOption({ label });
    });
    await fresh.getByRole('button', { name: 'Load from library' }).click();
    await fresh.getByText(/Loaded “Global model \(round 3\)/).waitFor({ timeout: 30_000 });
    // The click clears the previous result at once (the page mounts an empty output first).
    await freshTest.getByRole('button', { name: 'Test model' }).click();
    const globalAcc = await freshTest.getByText(/Accuracy \d+(\.\d+)?%/).first().innerText({ timeout: 60_000 });
    check(globalAcc.split(' ')[1] === accText.split(' ')[1], `the server's global model tests at ${globalAcc}, the browser's at ${accText}`);
    await fresh.close();
  });

  await step('without cross-origin isolation the app trains on one thread', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // Drop COOP/COEP from every response: no SharedArrayBuffer, so the one-thread module.
    await page.route('**/*', async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers() };
      delete headers['cross-origin-opener-policy'];
      delete headers['cross-origin-embedder-policy'];
      await route.fulfill({ response, headers });
    });
    await page.goto(`${url}/tasks/fashion-mnist`);
    check(!(await page.evaluate(() => self.crossOriginIsolated)), 'the page is still isolated');
    await connectImages(page.getByRole('region', { name: 'Connect data' }), shard(1).slice(0, 200), join(shards, 'shard-1', 'labels.csv'));
    await page.getByText('200 images').first().waitFor({ timeout: 60_000 });
    await page.getByText(/engine ready \(1 thread; the page is not cross-origin isolated\)/).first().waitFor({ timeout: 30_000 });
    await page.getByRole('radio', { name: 'Local' }).check();
    await page.getByRole('button', { name: 'Start training' }).click();
    await waitForStatus(page, /Training finished/, 120_000);
    await shot(page, '4-not-isolated');
    await page.close();
  });

  await step('phone viewport: connect label folders and train locally', async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const page = await context.newPage();
    await page.goto(`${url}/tasks/fashion-mnist`);
    // One folder per label (a '/' in a label is written '_' in its folder name), 30 images each.
    const folders = join(work, 'phone');
    const byLabel = new Map();
    for (const line of readFileSync(join(shards, 'shard-0', 'labels.csv'), 'utf8').trim().split('\n').slice(1)) {
      const [name, label] = line.split(',').map((v) => v.replace(/"/g, ''));
      if ((byLabel.get(label) ?? []).length < 30) byLabel.set(label, [...(byLabel.get(label) ?? []), name]);
    }
    for (const [label, names] of byLabel) {
      const dir = join(folders, label.replace('/', '_'));
      mkdirSync(dir, { recursive: true });
      for (const name of names) copyFileSync(join(shards, 'shard-0', name), join(dir, name));
    }
    const region = page.getByRole('region', { name: 'Connect data' });
    await region.getByLabel('Image folders').setInputFiles(folders);
    await region.getByRole('button', { name: 'Connect data' }).click();
    await page.getByText('300 images').first().waitFor({ timeout: 60_000 });
    await shot(page, '5-phone-connected');
    await page.getByRole('radio', { name: 'Local' }).check();
    await page.getByRole('button', { name: 'Start training' }).click();
    await waitForStatus(page, /training/i, 30_000);
    await page.getByRole('button', { name: 'Stop' }).click();
    await waitForStatus(page, /Training (stopped|finished)/, 60_000);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await shot(page, '5-phone-trained');
    check(overflow <= 0, `the page scrolls horizontally by ${overflow}px at 375px`);
    await context.close();
  });
}

let failed = null;
try {
  await main();
} catch (e) {
  failed = e;
} finally {
  if (native) native.kill('SIGKILL');
  if (browser) await browser.close().catch(() => {});
  if (server) {
    server.kill('SIGTERM');
    if (failed && server.log) console.error(`--- server log\n${server.log().slice(-4000)}`);
  }
  rmSync(work, { recursive: true, force: true });
}
if (failed) {
  console.error(`e2e: FAILED ${failed.message}`);
  console.error(`e2e: screenshots in ${artifacts}`);
  process.exit(1);
}
console.log(`e2e: ${passed} passed, 0 failed in ${((Date.now() - started) / 1000).toFixed(0)} s (screenshots in ${artifacts})`);
