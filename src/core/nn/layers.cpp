// SPDX-License-Identifier: Apache-2.0
// The concrete layers and make_layer(). Each layer reads its Keras-style spec fields, validates
// them (naming the field in errors), checks its input shape in build() and composes its forward
// pass from Graph primitives.
#include <algorithm>
#include <cmath>
#include <string>

#include "core/nn/layer.hpp"

namespace disco::core {

Var Layer::forward(ForwardContext& ctx, Var x, bool skip_activation) {
  Var y = forward_linear(ctx, x);
  if (skip_activation) return y;
  return apply_activation(ctx.graph, activation_, y, leaky_alpha_);
}

namespace {

Error shape_error(const std::string& path, const std::string& why) {
  return make_error(Errc::InvalidArgument, path + ": " + why);
}

// Reads "activation" (default linear) into the layer.
Result<void> read_activation(const Json& spec, const std::string& path, Activation& out,
                             float& alpha) {
  DISCO_ASSIGN_OR_RETURN(name, get_string_or(spec, "activation", path, "linear"));
  DISCO_ASSIGN_OR_RETURN(a, parse_activation(name, field_path(path, "activation")));
  DISCO_ASSIGN_OR_RETURN(al, get_number_or(spec, "alpha", path, 0.3));
  out = a;
  alpha = static_cast<float>(al);
  return {};
}

Result<int64_t> positive_int(const Json& spec, std::string_view key, const std::string& path,
                             std::optional<int64_t> fallback = std::nullopt) {
  Result<int64_t> v = fallback ? get_int_or(spec, key, path, *fallback) : get_int(spec, key, path);
  if (!v) return v.error();
  if (*v <= 0)
    return field_error(path, key, "must be a positive integer, got " + std::to_string(*v));
  return *v;
}

Result<Init> read_init(const Json& spec, std::string_view key, const std::string& path,
                       const char* fallback) {
  DISCO_ASSIGN_OR_RETURN(name, get_string_or(spec, key, path, fallback));
  return parse_init(name, field_path(path, key));
}

// ---- Dense: y = x @ kernel (in, units) + bias.
class Dense final : public Layer {
 public:
  Result<void> configure(const Json& spec, const std::string& path) {
    DISCO_TRY(reject_unknown_fields(spec, path,
                                    {"type", "units", "activation", "alpha", "use_bias",
                                     "kernel_initializer", "bias_initializer", "name"}));
    DISCO_ASSIGN_OR_RETURN(units, positive_int(spec, "units", path));
    DISCO_ASSIGN_OR_RETURN(use_bias, get_bool_or(spec, "use_bias", path, true));
    DISCO_ASSIGN_OR_RETURN(ki, read_init(spec, "kernel_initializer", path, "glorot_uniform"));
    DISCO_ASSIGN_OR_RETURN(bi, read_init(spec, "bias_initializer", path, "zeros"));
    units_ = units;
    use_bias_ = use_bias;
    kernel_init_ = ki;
    bias_init_ = bi;
    return read_activation(spec, path, activation_, leaky_alpha_);
  }
  const char* type() const override { return "dense"; }
  Result<Shape> build(const Shape& in, const std::string& path) override {
    if (in.rank() != 1)
      return shape_error(path, "dense expects a flat input (add a flatten layer before it), got " +
                                   in.to_string());
    in_ = in[0];
    return Shape{units_};
  }
  std::vector<ParamSpec> params() const override {
    std::vector<ParamSpec> p{{"kernel", {in_, units_}, kernel_init_, true}};
    if (use_bias_) p.push_back({"bias", {units_}, bias_init_, true});
    return p;
  }
  Var forward_linear(ForwardContext& ctx, Var x) override {
    Var y = ctx.graph.matmul(x, ctx.params[0]);
    return use_bias_ ? ctx.graph.add_bias(y, ctx.params[1]) : y;
  }
  Json to_json() const override {
    return {{"type", type()},
            {"units", units_},
            {"activation", activation_name(activation_)},
            {"use_bias", use_bias_},
            {"kernel_initializer", init_name(kernel_init_)},
            {"bias_initializer", init_name(bias_init_)}};
  }

 private:
  int64_t units_ = 0, in_ = 0;
  bool use_bias_ = true;
  Init kernel_init_ = Init::GlorotUniform, bias_init_ = Init::Zeros;
};

// Shared by Conv2D, DepthwiseConv2D and the pools: window, strides, padding -> ConvGeom.
struct Window {
  std::vector<int64_t> size, strides;
  std::string padding = "valid";

  Result<void> read(const Json& spec, const std::string& path, const char* size_key,
                    bool strides_default_to_size) {
    DISCO_ASSIGN_OR_RETURN(
        s, get_int_or_list(spec, size_key, path, 2,
                           strides_default_to_size ? std::optional<int64_t>(2) : std::nullopt));
    for (int64_t v : s)
      if (v <= 0) return field_error(path, size_key, "must be positive");
    size = s;
    std::vector<int64_t> st = strides_default_to_size ? s : std::vector<int64_t>{1, 1};
    if (spec.contains("strides") && !spec["strides"].is_null()) {
      DISCO_ASSIGN_OR_RETURN(given, get_int_or_list(spec, "strides", path, 2, std::nullopt));
      st = given;
    }
    for (int64_t v : st)
      if (v <= 0) return field_error(path, "strides", "must be positive");
    strides = st;
    DISCO_ASSIGN_OR_RETURN(p, get_string_or(spec, "padding", path, "valid"));
    if (p != "valid" && p != "same")
      return field_error(path, "padding", "must be \"valid\" or \"same\", got \"" + p + "\"");
    padding = p;
    return {};
  }

  Result<ConvGeom> geom(const Shape& in, int64_t c_out, const std::string& path) const {
    if (in.rank() != 3)
      return shape_error(path, "expects (height, width, channels) input, got " + in.to_string());
    ConvGeom g;
    g.h = in[0];
    g.w = in[1];
    g.c_in = in[2];
    g.kh = size[0];
    g.kw = size[1];
    g.c_out = c_out;
    g.stride_h = strides[0];
    g.stride_w = strides[1];
    if (!g.set_padding(padding))
      return shape_error(path, "window " + std::to_string(g.kh) + "x" + std::to_string(g.kw) +
                                   " does not fit input " + in.to_string() + " with padding " +
                                   padding);
    return g;
  }

  void to_json(Json& j, const char* size_key) const {
    j[size_key] = size;
    j["strides"] = strides;
    j["padding"] = padding;
  }
};

// ---- Conv2D (and DepthwiseConv2D when depthwise_): NHWC, kernel HWIO.
class Conv final : public Layer {
 public:
  explicit Conv(bool depthwise) : depthwise_(depthwise) {}
  Result<void> configure(const Json& spec, const std::string& path) {
    if (depthwise_) {
      DISCO_TRY(reject_unknown_fields(
          spec, path,
          {"type", "kernel_size", "strides", "padding", "depth_multiplier", "activation", "alpha",
           "use_bias", "kernel_initializer", "depthwise_initializer", "bias_initializer", "name"}));
      DISCO_ASSIGN_OR_RETURN(m, positive_int(spec, "depth_multiplier", path, 1));
      filters_ = m;
    } else {
      DISCO_TRY(reject_unknown_fields(
          spec, path,
          {"type", "filters", "kernel_size", "strides", "padding", "activation", "alpha",
           "use_bias", "kernel_initializer", "bias_initializer", "name"}));
      DISCO_ASSIGN_OR_RETURN(f, positive_int(spec, "filters", path));
      filters_ = f;
    }
    DISCO_TRY(window_.read(spec, path, "kernel_size", false));
    DISCO_ASSIGN_OR_RETURN(use_bias, get_bool_or(spec, "use_bias", path, true));
    const char* init_key = depthwise_ && spec.contains("depthwise_initializer")
                               ? "depthwise_initializer"
                               : "kernel_initializer";
    DISCO_ASSIGN_OR_RETURN(ki, read_init(spec, init_key, path, "glorot_uniform"));
    DISCO_ASSIGN_OR_RETURN(bi, read_init(spec, "bias_initializer", path, "zeros"));
    use_bias_ = use_bias;
    kernel_init_ = ki;
    bias_init_ = bi;
    return read_activation(spec, path, activation_, leaky_alpha_);
  }
  const char* type() const override { return depthwise_ ? "depthwise_conv2d" : "conv2d"; }
  Result<Shape> build(const Shape& in, const std::string& path) override {
    int64_t c_out = depthwise_ ? (in.rank() == 3 ? in[2] * filters_ : 0) : filters_;
    DISCO_ASSIGN_OR_RETURN(g, window_.geom(in, c_out, path));
    geom_ = g;
    return Shape{g.out_h, g.out_w, g.c_out};
  }
  std::vector<ParamSpec> params() const override {
    Shape k = depthwise_ ? Shape{geom_.kh, geom_.kw, geom_.c_in, filters_}
                         : Shape{geom_.kh, geom_.kw, geom_.c_in, geom_.c_out};
    std::vector<ParamSpec> p{{"kernel", k, kernel_init_, true}};
    if (use_bias_) p.push_back({"bias", {geom_.c_out}, bias_init_, true});
    return p;
  }
  Var forward_linear(ForwardContext& ctx, Var x) override {
    Var y = depthwise_ ? ctx.graph.depthwise_conv2d(x, ctx.params[0], geom_)
                       : ctx.graph.conv2d(x, ctx.params[0], geom_);
    return use_bias_ ? ctx.graph.add_bias(y, ctx.params[1]) : y;
  }
  Json to_json() const override {
    Json j = {{"type", type()}};
    if (depthwise_) {
      j["depth_multiplier"] = filters_;
    } else {
      j["filters"] = filters_;
    }
    window_.to_json(j, "kernel_size");
    j["activation"] = activation_name(activation_);
    j["use_bias"] = use_bias_;
    j["kernel_initializer"] = init_name(kernel_init_);
    j["bias_initializer"] = init_name(bias_init_);
    return j;
  }

 private:
  bool depthwise_;
  int64_t filters_ = 0;  // conv: output channels; depthwise: depth multiplier
  Window window_;
  bool use_bias_ = true;
  Init kernel_init_ = Init::GlorotUniform, bias_init_ = Init::Zeros;
  ConvGeom geom_;
};

// ---- MaxPool2D / AveragePool2D.
class Pool final : public Layer {
 public:
  explicit Pool(bool max) : max_(max) {}
  Result<void> configure(const Json& spec, const std::string& path) {
    DISCO_TRY(
        reject_unknown_fields(spec, path, {"type", "pool_size", "strides", "padding", "name"}));
    return window_.read(spec, path, "pool_size", true);
  }
  const char* type() const override { return max_ ? "max_pool2d" : "average_pool2d"; }
  Result<Shape> build(const Shape& in, const std::string& path) override {
    DISCO_ASSIGN_OR_RETURN(g, window_.geom(in, in.rank() == 3 ? in[2] : 0, path));
    geom_ = g;
    return Shape{g.out_h, g.out_w, g.c_out};
  }
  Var forward_linear(ForwardContext& ctx, Var x) override {
    return max_ ? ctx.graph.max_pool2d(x, geom_) : ctx.graph.avg_pool2d(x, geom_);
  }
  Json to_json() const override {
    Json j = {{"type", type()}};
    window_.to_json(j, "pool_size");
    return j;
  }

 private:
  bool max_;
  Window window_;
  ConvGeom geom_;
};

// ---- GlobalAveragePool2D: (h, w, c) -> (c,), an average pool over the whole image + reshape.
class GlobalAveragePool final : public Layer {
 public:
  Result<void> configure(const Json& spec, const std::string& path) {
    return reject_unknown_fields(spec, path, {"type", "name"});
  }
  const char* type() const override { return "global_average_pool2d"; }
  Result<Shape> build(const Shape& in, const std::string& path) override {
    if (in.rank() != 3)
      return shape_error(path, "expects (height, width, channels) input, got " + in.to_string());
    geom_ = ConvGeom{};
    geom_.h = geom_.kh = in[0];
    geom_.w = geom_.kw = in[1];
    geom_.c_in = geom_.c_out = in[2];
    geom_.set_padding("valid");
    return Shape{in[2]};
  }
  Var forward_linear(ForwardContext& ctx, Var x) override {
    Var y = ctx.graph.avg_pool2d(x, geom_);
    int64_t n = ctx.graph.value(y).dim(0);
    return ctx.graph.reshape(y, {n, geom_.c_out});
  }
  Json to_json() const override { return {{"type", type()}}; }

 private:
  ConvGeom geom_;
};

// ---- Flatten: (…) -> (prod …).
class Flatten final : public Layer {
 public:
  Result<void> configure(const Json& spec, const std::string& path) {
    return reject_unknown_fields(spec, path, {"type", "name"});
  }
  const char* type() const override { return "flatten"; }
  Result<Shape> build(const Shape& in, const std::string&) override {
    n_ = in.numel();
    return Shape{n_};
  }
  Var forward_linear(ForwardContext& ctx, Var x) override {
    return ctx.graph.reshape(x, {ctx.graph.value(x).dim(0), n_});
  }
  Json to_json() const override { return {{"type", type()}}; }

 private:
  int64_t n_ = 0;
};

// ---- Dropout: x * mask, mask = bernoulli(1 - rate) / (1 - rate) while training; identity else.
class Dropout final : public Layer {
 public:
  Result<void> configure(const Json& spec, const std::string& path) {
    DISCO_TRY(reject_unknown_fields(spec, path, {"type", "rate", "name"}));
    DISCO_ASSIGN_OR_RETURN(rate, get_number(spec, "rate", path));
    if (!(rate >= 0.0 && rate < 1.0))
      return field_error(path, "rate", "must be in [0, 1), got " + std::to_string(rate));
    rate_ = static_cast<float>(rate);
    return {};
  }
  const char* type() const override { return "dropout"; }
  Result<Shape> build(const Shape& in, const std::string&) override { return in; }
  Var forward_linear(ForwardContext& ctx, Var x) override {
    if (!ctx.training || rate_ == 0.0f) return x;
    DISCO_CHECK(ctx.rng != nullptr, "dropout needs an Rng while training");
    Tensor mask = ctx.graph.alloc(ctx.graph.value(x).shape());
    const float keep = 1.0f - rate_;
    const float scale = 1.0f / keep;
    // Masks are drawn in fixed blocks, each from its own generator seeded from one draw of the
    // layer's Rng, so blocks fill in parallel and the mask does not depend on the thread count.
    constexpr int64_t kBlock = 4096;
    const uint64_t base = ctx.rng->next_u64();
    const auto threshold = static_cast<uint32_t>(static_cast<double>(keep) * 16777216.0);
    float* m = mask.data();
    const int64_t n = mask.numel();
    for_chunks(ctx.graph.parallel(), (n + kBlock - 1) / kBlock, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        Rng rng(base + static_cast<uint64_t>(b) * 0x9E3779B97F4A7C15ull);
        for (int64_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i)
          m[i] = (rng.next_u32() >> 8) < threshold ? scale : 0.0f;
      }
    });
    return ctx.graph.mul(x, ctx.graph.input(std::move(mask)));
  }
  Json to_json() const override { return {{"type", type()}, {"rate", rate_}}; }

 private:
  float rate_ = 0.5f;
};

// ---- BatchNormalization over the last axis. Moving statistics are non-trainable parameters
// (they travel and average with the weights, as in Keras/TF.js) updated after each training pass.
class BatchNorm final : public Layer {
 public:
  Result<void> configure(const Json& spec, const std::string& path) {
    DISCO_TRY(reject_unknown_fields(spec, path, {"type", "momentum", "epsilon", "name"}));
    DISCO_ASSIGN_OR_RETURN(m, get_number_or(spec, "momentum", path, 0.99));
    DISCO_ASSIGN_OR_RETURN(e, get_number_or(spec, "epsilon", path, 1e-3));
    if (!(m >= 0.0 && m <= 1.0)) return field_error(path, "momentum", "must be in [0, 1]");
    if (!(e > 0.0)) return field_error(path, "epsilon", "must be positive");
    momentum_ = static_cast<float>(m);
    epsilon_ = static_cast<float>(e);
    return {};
  }
  const char* type() const override { return "batch_normalization"; }
  Result<Shape> build(const Shape& in, const std::string& path) override {
    if (in.rank() < 1) return shape_error(path, "needs at least one input dimension");
    c_ = in.dim(-1);
    return in;
  }
  std::vector<ParamSpec> params() const override {
    return {{"gamma", {c_}, Init::Ones, true},
            {"beta", {c_}, Init::Zeros, true},
            {"moving_mean", {c_}, Init::Zeros, false},
            {"moving_variance", {c_}, Init::Ones, false}};
  }
  Var forward_linear(ForwardContext& ctx, Var x) override {
    Graph& g = ctx.graph;
    Var y = g.batch_norm(x, ctx.params[0], ctx.params[1], ctx.params[2], ctx.params[3], epsilon_,
                         ctx.training);
    if (ctx.training) {
      const Tensor& stats = g.node(y).saved2;  // [mean | 1/std | var]
      float* mean = ctx.param_data[2];
      float* var = ctx.param_data[3];
      for (int64_t j = 0; j < c_; ++j) {
        mean[j] = momentum_ * mean[j] + (1.0f - momentum_) * stats[j];
        var[j] = momentum_ * var[j] + (1.0f - momentum_) * stats[2 * c_ + j];
      }
    }
    return y;
  }
  Json to_json() const override {
    return {{"type", type()}, {"momentum", momentum_}, {"epsilon", epsilon_}};
  }

 private:
  int64_t c_ = 0;
  float momentum_ = 0.99f, epsilon_ = 1e-3f;
};

// ---- Activation as its own layer.
class ActivationLayer final : public Layer {
 public:
  Result<void> configure(const Json& spec, const std::string& path) {
    DISCO_TRY(reject_unknown_fields(spec, path, {"type", "activation", "alpha", "name"}));
    if (!spec.contains("activation")) return field_error(path, "activation", "is required");
    return read_activation(spec, path, activation_, leaky_alpha_);
  }
  const char* type() const override { return "activation"; }
  Result<Shape> build(const Shape& in, const std::string&) override { return in; }
  Var forward_linear(ForwardContext&, Var x) override { return x; }
  Json to_json() const override {
    return {{"type", type()}, {"activation", activation_name(activation_)}};
  }
};

template <typename L, typename... Args>
Result<std::unique_ptr<Layer>> configured(const Json& spec, const std::string& path, Args... args) {
  auto layer = std::make_unique<L>(args...);
  DISCO_TRY(layer->configure(spec, path));
  return std::unique_ptr<Layer>(std::move(layer));
}

}  // namespace

Result<std::unique_ptr<Layer>> make_layer(const Json& spec, const std::string& path) {
  if (!spec.is_object()) return make_error(Errc::InvalidArgument, path + ": must be an object");
  DISCO_ASSIGN_OR_RETURN(type, get_string(spec, "type", path));
  if (type == "dense") return configured<Dense>(spec, path);
  if (type == "conv2d") return configured<Conv>(spec, path, false);
  if (type == "depthwise_conv2d") return configured<Conv>(spec, path, true);
  if (type == "max_pool2d" || type == "max_pooling2d") return configured<Pool>(spec, path, true);
  if (type == "average_pool2d" || type == "average_pooling2d")
    return configured<Pool>(spec, path, false);
  if (type == "global_average_pool2d" || type == "global_average_pooling2d")
    return configured<GlobalAveragePool>(spec, path);
  if (type == "flatten") return configured<Flatten>(spec, path);
  if (type == "dropout") return configured<Dropout>(spec, path);
  if (type == "batch_normalization") return configured<BatchNorm>(spec, path);
  if (type == "activation") return configured<ActivationLayer>(spec, path);
  return field_error(path, "type",
                     "unknown layer type '" + type +
                         "' (expected dense, conv2d, depthwise_conv2d, max_pool2d, "
                         "average_pool2d, global_average_pool2d, flatten, dropout, "
                         "batch_normalization or activation)");
}

}  // namespace disco::core
