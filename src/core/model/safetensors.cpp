// SPDX-License-Identifier: Apache-2.0
#include "core/model/safetensors.hpp"

#include <cstring>

namespace disco::core {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;

struct Parsed {
  Json header;
  std::span<const uint8_t> data;
};

Result<Parsed> parse(std::span<const uint8_t> bytes, std::string_view source) {
  std::string src(source);
  if (bytes.size() < 8) return make_error(Errc::Corruption, src + ": too short for safetensors");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[static_cast<std::size_t>(i)];
  if (n > kMaxHeaderBytes || n > bytes.size() - 8)
    return make_error(Errc::Corruption, src + ": header length " + std::to_string(n) +
                                            " exceeds the file (" + std::to_string(bytes.size()) +
                                            " bytes)");
  std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), n);
  DISCO_ASSIGN_OR_RETURN(header, parse_json(text, src + " (safetensors header)"));
  if (!header.is_object())
    return make_error(Errc::Corruption, src + ": safetensors header is not an object");
  return Parsed{std::move(header), bytes.subspan(8 + n)};
}

}  // namespace

std::vector<uint8_t> save_safetensors(const Model& model,
                                      const std::map<std::string, std::string>& extra) {
  Json header = Json::object();
  Json meta = {{"format", "disco"},
               {"fingerprint", model.fingerprint()},
               {"spec", model.canonical_spec().dump()}};
  for (const auto& [k, v] : extra) meta[k] = v;
  header["__metadata__"] = meta;
  for (const ParamInfo& p : model.params()) {
    auto begin = static_cast<uint64_t>(p.offset) * 4;
    auto end = begin + static_cast<uint64_t>(p.shape.numel()) * 4;
    header[p.name] = {{"dtype", "F32"}, {"shape", p.shape.dims()}, {"data_offsets", {begin, end}}};
  }
  std::string text = header.dump();
  while ((text.size() + 8) % 8 != 0) text.push_back(' ');
  std::vector<uint8_t> out(8 + text.size() + static_cast<std::size_t>(model.n_weights()) * 4);
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(out.data() + 8, text.data(), text.size());
  // The weight block is contiguous and in layout order, so the data section is one copy
  // (float32 is little-endian on every target we build for).
  std::memcpy(out.data() + 8 + text.size(), model.weights().data(),
              static_cast<std::size_t>(model.n_weights()) * 4);
  return out;
}

Result<void> load_safetensors(Model& model, std::span<const uint8_t> bytes,
                              std::string_view source) {
  std::string src(source);
  DISCO_ASSIGN_OR_RETURN(parsed, parse(bytes, source));
  std::size_t n_tensors = 0;
  for (auto it = parsed.header.begin(); it != parsed.header.end(); ++it)
    if (it.key() != "__metadata__") ++n_tensors;
  if (n_tensors != model.params().size())
    return make_error(Errc::InvalidArgument,
                      src + ": has " + std::to_string(n_tensors) + " tensors, the model has " +
                          std::to_string(model.params().size()) + " parameters");
  for (const ParamInfo& p : model.params()) {
    auto it = parsed.header.find(p.name);
    if (it == parsed.header.end())
      return make_error(Errc::InvalidArgument, src + ": tensor '" + p.name + "' is missing");
    const Json& t = *it;
    if (!t.is_object() || !t.contains("dtype") || !t.contains("shape") ||
        !t.contains("data_offsets") || !t["data_offsets"].is_array() ||
        t["data_offsets"].size() != 2 || !t["data_offsets"][0].is_number_unsigned() ||
        !t["data_offsets"][1].is_number_unsigned() || !t["shape"].is_array())
      return make_error(Errc::Corruption, src + ": tensor '" + p.name + "' has a malformed entry");
    if (t["dtype"] != "F32")
      return make_error(Errc::InvalidArgument, src + ": tensor '" + p.name + "' has dtype " +
                                                   t["dtype"].dump() + ", expected F32");
    Shape shape;
    for (const Json& d : t["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0 || shape.rank() == Shape::kMaxRank)
        return make_error(Errc::Corruption, src + ": tensor '" + p.name + "' has a bad shape");
      shape.push_back(d.get<int64_t>());
    }
    if (shape != p.shape)
      return make_error(Errc::InvalidArgument, src + ": tensor '" + p.name + "' has shape " +
                                                   shape.to_string() + ", the model expects " +
                                                   p.shape.to_string());
    auto begin = t["data_offsets"][0].get<uint64_t>();
    auto end = t["data_offsets"][1].get<uint64_t>();
    if (end < begin || end > parsed.data.size() ||
        end - begin != static_cast<uint64_t>(p.shape.numel()) * 4)
      return make_error(Errc::Corruption,
                        src + ": tensor '" + p.name + "' has data offsets outside the file");
    std::memcpy(model.weights().data() + p.offset, parsed.data.data() + begin, end - begin);
  }
  return {};
}

Result<std::map<std::string, std::string>> safetensors_metadata(std::span<const uint8_t> bytes,
                                                                std::string_view source) {
  DISCO_ASSIGN_OR_RETURN(parsed, parse(bytes, source));
  std::map<std::string, std::string> out;
  auto it = parsed.header.find("__metadata__");
  if (it == parsed.header.end()) return out;
  if (!it->is_object())
    return make_error(Errc::Corruption, std::string(source) + ": __metadata__ is not an object");
  for (auto m = it->begin(); m != it->end(); ++m) {
    if (!m->is_string())
      return make_error(Errc::Corruption,
                        std::string(source) + ": __metadata__." + m.key() + " is not a string");
    out[m.key()] = m->get<std::string>();
  }
  return out;
}

Result<Model> model_from_safetensors(std::span<const uint8_t> bytes, std::string_view source) {
  DISCO_ASSIGN_OR_RETURN(meta, safetensors_metadata(bytes, source));
  auto spec_it = meta.find("spec");
  if (spec_it == meta.end())
    return make_error(Errc::InvalidArgument,
                      std::string(source) + ": not a disco model file (no spec in __metadata__)");
  DISCO_ASSIGN_OR_RETURN(spec, parse_json(spec_it->second, std::string(source) + " (spec)"));
  DISCO_ASSIGN_OR_RETURN(model, Model::from_spec(spec));
  DISCO_TRY(load_safetensors(model, bytes, source));
  return model;
}

}  // namespace disco::core
