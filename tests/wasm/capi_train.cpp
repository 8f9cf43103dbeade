// SPDX-License-Identifier: Apache-2.0
// Native half of the same-seed test (same_seed_test.sh): trains a tabular task through the C ABI
// exactly as capi_train.cjs does in wasm, and writes the trained weights as raw float32.
// Usage: disco_capi_train <task.json> <data.csv> <epochs> <batch_size> <seed> <out.f32>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "wasm/capi.h"

namespace {

std::vector<uint8_t> read_all(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int die(const char* what) {
  std::fprintf(stderr, "capi_train: %s: %s\n", what, disco_last_error());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s task.json data.csv epochs batch_size seed out.f32\n", argv[0]);
    return 2;
  }
  const std::vector<uint8_t> task_json = read_all(argv[1]);
  const std::vector<uint8_t> csv = read_all(argv[2]);
  const auto epochs = static_cast<uint32_t>(std::atoi(argv[3]));
  const auto batch_size = static_cast<uint32_t>(std::atoi(argv[4]));
  const auto seed = static_cast<uint32_t>(std::atoi(argv[5]));

  disco_task* task = disco_task_parse(task_json.data(), task_json.size());
  if (!task) return die("task");
  disco_model* model = disco_model_create(task, seed);
  disco_dataset* data = disco_dataset_from_csv(task, csv.data(), csv.size(), nullptr, 0);
  if (!data) return die("data");
  disco_trainer* trainer = disco_trainer_create(model, 1, seed + 1);
  if (!trainer) return die("trainer");
  for (uint32_t e = 0; e < epochs; ++e) {
    if (disco_trainer_begin_epoch(trainer, data, batch_size) != DISCO_OK) return die("epoch");
    while (disco_trainer_step(trainer) == 1) {
    }
    disco_buffer* log = disco_trainer_end_epoch(trainer, nullptr);
    std::fprintf(stderr, "native %.*s\n", static_cast<int>(disco_buffer_size(log)),
                 reinterpret_cast<const char*>(disco_buffer_data(log)));
    disco_buffer_free(log);
  }
  std::vector<float> weights(disco_model_n_weights(model));
  if (disco_model_get_weights(model, weights.data(), weights.size()) != DISCO_OK) {
    return die("weights");
  }
  std::ofstream out(argv[6], std::ios::binary);
  out.write(reinterpret_cast<const char*>(weights.data()),
            static_cast<std::streamsize>(weights.size() * sizeof(float)));
  disco_trainer_free(trainer);
  disco_dataset_free(data);
  disco_model_free(model);
  disco_task_free(task);
  return out ? 0 : 1;
}
