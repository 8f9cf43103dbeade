// SPDX-License-Identifier: Apache-2.0
// Model weights as safetensors (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length, a JSON header mapping tensor names to {dtype, shape, data_offsets}, then the raw
// little-endian data. disco writes one F32 tensor per parameter, named as in Model::params()
// ("layers.0.kernel"), and __metadata__ {"format": "disco", "fingerprint": ..., "spec": <the
// canonical model spec as a JSON string>} so a file alone is enough to rebuild the model.
// Pure functions over bytes; callers do the file I/O.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.hpp"
#include "core/model/model.hpp"

namespace disco::core {

// Serialises every parameter (trainable or not). `extra` entries are added to __metadata__.
std::vector<uint8_t> save_safetensors(const Model& model,
                                      const std::map<std::string, std::string>& extra = {});

// Copies the tensors of `bytes` into the model's weights. Every model parameter must be present
// with its exact shape and dtype F32; extra tensors are an error.
// Errors: Corruption (malformed file: sizes, offsets, JSON), InvalidArgument (a parameter is
// missing, has another shape or dtype). Messages start with `source`.
Result<void> load_safetensors(Model& model, std::span<const uint8_t> bytes,
                              std::string_view source);

// The __metadata__ object (string values) of a safetensors file. Errors: Corruption.
Result<std::map<std::string, std::string>> safetensors_metadata(std::span<const uint8_t> bytes,
                                                                std::string_view source);

// Builds the model described by a disco safetensors file's "spec" metadata and loads its weights.
// Errors: as load_safetensors, plus InvalidArgument when the file has no disco spec.
Result<Model> model_from_safetensors(std::span<const uint8_t> bytes, std::string_view source);

}  // namespace disco::core
