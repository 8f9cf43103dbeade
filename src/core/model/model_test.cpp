// SPDX-License-Identifier: Apache-2.0
#include "core/model/model.hpp"

#include <gtest/gtest.h>

#include "core/model/safetensors.hpp"

namespace disco::core {
namespace {

Json mnist_spec() {
  return Json::parse(R"({
    "input_shape": [28, 28, 1],
    "layers": [
      {"type": "conv2d", "filters": 8, "kernel_size": 5, "activation": "relu"},
      {"type": "conv2d", "filters": 16, "kernel_size": 5, "activation": "relu"},
      {"type": "max_pool2d", "pool_size": 2},
      {"type": "dropout", "rate": 0.25},
      {"type": "flatten"},
      {"type": "dense", "units": 32, "activation": "relu"},
      {"type": "dropout", "rate": 0.25},
      {"type": "dense", "units": 10, "activation": "softmax"}
    ],
    "loss": "categorical_crossentropy",
    "optimizer": {"type": "adam", "learning_rate": 0.001}
  })");
}

std::string error_of(const Json& spec) {
  Result<Model> m = Model::from_spec(spec);
  return m ? "" : m.error().message;
}

TEST(Model, BuildsDiscoMnistNetworkWithContiguousLayout) {
  Result<Model> m = Model::from_spec(mnist_spec());
  ASSERT_TRUE(m.has_value()) << m.error().message;
  // (5*5*1*8 + 8) + (5*5*8*16 + 16) + (1600*32 + 32) + (32*10 + 10)
  EXPECT_EQ(m->n_weights(), 208 + 3216 + 51232 + 330);
  EXPECT_EQ(m->output_shape(), (Shape{10}));
  EXPECT_TRUE(m->fuses_final_activation());
  int64_t offset = 0;
  for (const ParamInfo& p : m->params()) {
    EXPECT_EQ(p.offset, offset) << p.name;
    offset += p.shape.numel();
  }
  EXPECT_EQ(m->params()[0].name, "layers.0.kernel");
  EXPECT_EQ(m->params()[0].shape, (Shape{5, 5, 1, 8}));
  EXPECT_EQ(m->params()[4].shape, (Shape{1600, 32}));
}

TEST(Model, RejectsBadSpecsNamingTheField) {
  Json s = mnist_spec();
  s["layers"][1]["filters"] = -3;
  EXPECT_EQ(error_of(s), "model.layers[1].filters: must be a positive integer, got -3");
  s = mnist_spec();
  s["layers"][0]["activation"] = "swish";
  EXPECT_NE(error_of(s).find("model.layers[0].activation: unknown activation 'swish'"),
            std::string::npos);
  s = mnist_spec();
  s["layers"][2]["padding"] = "full";
  EXPECT_NE(error_of(s).find("model.layers[2].padding"), std::string::npos);
  s = mnist_spec();
  s["layers"][5]["unitz"] = 3;
  EXPECT_EQ(error_of(s), "model.layers[5].unitz: unknown field");
  s = mnist_spec();
  s["layers"].erase(4);  // no flatten before dense
  EXPECT_NE(error_of(s).find("model.layers[4]: dense expects a flat input"), std::string::npos);
  s = mnist_spec();
  s["input_shape"] = {28, 0};
  EXPECT_NE(error_of(s).find("model.input_shape"), std::string::npos);
  s = mnist_spec();
  s["loss"] = "hinge";
  EXPECT_NE(error_of(s).find("model.loss: unknown loss 'hinge'"), std::string::npos);
  s = mnist_spec();
  s["layers"][3]["rate"] = 1.5;
  EXPECT_NE(error_of(s).find("model.layers[3].rate: must be in [0, 1)"), std::string::npos);
  s = mnist_spec();
  s["layers"][0]["kernel_size"] = 40;
  EXPECT_NE(error_of(s).find("does not fit input"), std::string::npos);
}

TEST(Model, FingerprintDependsOnArchitectureOnly) {
  Model a = *Model::from_spec(mnist_spec());
  Json s = mnist_spec();
  s["optimizer"]["learning_rate"] = 0.01;
  Model b = *Model::from_spec(s);
  EXPECT_EQ(a.fingerprint(), b.fingerprint());
  s["layers"][5]["units"] = 64;
  Model c = *Model::from_spec(s);
  EXPECT_NE(a.fingerprint(), c.fingerprint());
  // The canonical spec rebuilds the same model.
  Model d = *Model::from_spec(a.canonical_spec());
  EXPECT_EQ(d.fingerprint(), a.fingerprint());
}

TEST(Model, InitIsSeededAndFollowsInitializers) {
  Model a = *Model::from_spec(mnist_spec());
  Model b = *Model::from_spec(mnist_spec());
  Rng r1(5), r2(5);
  a.init_weights(r1);
  b.init_weights(r2);
  EXPECT_TRUE(std::equal(a.weights().begin(), a.weights().end(), b.weights().begin()));
  // Biases start at zero; Glorot-uniform kernels stay within their limit.
  const ParamInfo& bias = a.params()[1];
  for (int64_t i = 0; i < bias.shape.numel(); ++i) EXPECT_EQ(a.weights()[bias.offset + i], 0.0f);
  float limit = std::sqrt(6.0f / (25 + 200));
  for (int64_t i = 0; i < 200; ++i) EXPECT_LE(std::fabs(a.weights()[i]), limit);
}

TEST(Safetensors, RoundTripsWeightsAndSpec) {
  Model a = *Model::from_spec(mnist_spec());
  Rng rng(3);
  a.init_weights(rng);
  std::vector<uint8_t> bytes = save_safetensors(a, {{"task", "fashion-mnist"}});
  EXPECT_EQ((bytes[0] | (bytes[1] << 8)) % 8, 0);  // header padded to 8 bytes
  Result<Model> b = model_from_safetensors(bytes, "m.safetensors");
  ASSERT_TRUE(b.has_value()) << b.error().message;
  EXPECT_EQ(b->fingerprint(), a.fingerprint());
  EXPECT_TRUE(std::equal(a.weights().begin(), a.weights().end(), b->weights().begin()));
  auto meta = safetensors_metadata(bytes, "m.safetensors");
  ASSERT_TRUE(meta.has_value());
  EXPECT_EQ(meta->at("task"), "fashion-mnist");
  EXPECT_EQ(meta->at("fingerprint"), a.fingerprint());
}

TEST(Safetensors, RejectsCorruptOrMismatchedFiles) {
  Model a = *Model::from_spec(mnist_spec());
  std::vector<uint8_t> bytes = save_safetensors(a);
  std::vector<uint8_t> truncated(bytes.begin(),
                                 bytes.begin() + static_cast<long>(bytes.size() / 2));
  Result<void> r = load_safetensors(a, truncated, "t.safetensors");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::Corruption);
  EXPECT_NE(r.error().message.find("t.safetensors"), std::string::npos);

  std::vector<uint8_t> huge = bytes;
  huge[7] = 0x7f;  // header length beyond the file
  EXPECT_EQ(load_safetensors(a, huge, "h").error().code, Errc::Corruption);

  Json s = mnist_spec();
  s["layers"][5]["units"] = 64;
  Model other = *Model::from_spec(s);
  Result<void> mismatch = load_safetensors(other, bytes, "m");
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_NE(mismatch.error().message.find("layers.5.kernel"), std::string::npos);
}

}  // namespace
}  // namespace disco::core
