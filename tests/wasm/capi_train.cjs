// SPDX-License-Identifier: Apache-2.0
// Wasm half of the same-seed test (same_seed_test.sh): loads the node build of the module
// (disco_node.js) and trains a tabular task through its exported C ABI, call for call as
// capi_train.cpp does natively, then writes the trained weights as raw float32.
// Usage: node capi_train.cjs <disco_node.js> <task.json> <data.csv> <epochs> <batch> <seed> <out>
'use strict';
const fs = require('fs');
const path = require('path');

async function main() {
  const [modPath, taskPath, csvPath, epochs, batch, seed, outPath] = process.argv.slice(2);
  const createDisco = require(path.resolve(modPath));
  const m = await createDisco();
  const fail = (what) => {
    throw new Error(`${what}: ${m.UTF8ToString(m._disco_last_error())}`);
  };
  const copyIn = (bytes) => {
    const p = m._malloc(Math.max(bytes.length, 1));
    m.HEAPU8.set(bytes, p);
    return p;
  };
  const bufferText = (b) =>
    Buffer.from(m.HEAPU8.slice(m._disco_buffer_data(b), m._disco_buffer_data(b) + m._disco_buffer_size(b))).toString();

  console.error(`wasm module ${m.UTF8ToString(m._disco_version())}`);
  const taskBytes = fs.readFileSync(taskPath);
  const csvBytes = fs.readFileSync(csvPath);
  const pTask = copyIn(taskBytes);
  const task = m._disco_task_parse(pTask, taskBytes.length);
  m._free(pTask);
  if (!task) fail('task');
  const model = m._disco_model_create(task, Number(seed) >>> 0);
  const pCsv = copyIn(csvBytes);
  const data = m._disco_dataset_from_csv(task, pCsv, csvBytes.length, 0, 0);
  m._free(pCsv);
  if (!data) fail('data');
  const trainer = m._disco_trainer_create(model, 1, (Number(seed) + 1) >>> 0);
  if (!trainer) fail('trainer');
  for (let e = 0; e < Number(epochs); ++e) {
    if (m._disco_trainer_begin_epoch(trainer, data, Number(batch)) !== 0) fail('epoch');
    while (m._disco_trainer_step(trainer) === 1) { /* one batch */ }
    const log = m._disco_trainer_end_epoch(trainer, 0);
    console.error(`wasm ${bufferText(log)}`);
    m._disco_buffer_free(log);
  }
  const n = m._disco_model_n_weights(model);
  const pW = m._malloc(4 * n);
  if (m._disco_model_get_weights(model, pW, n) !== 0) fail('weights');
  const weights = new Float32Array(m.HEAPU8.buffer.slice(pW, pW + 4 * n));
  m._free(pW);
  fs.writeFileSync(outPath, Buffer.from(weights.buffer));
  m._disco_trainer_free(trainer);
  m._disco_dataset_free(data);
  m._disco_model_free(model);
  m._disco_task_free(task);
}

main().then(() => process.exit(0), (err) => {
  console.error(`capi_train.cjs: ${err.message}`);
  process.exit(1);
});
