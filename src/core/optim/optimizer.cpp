// SPDX-License-Identifier: Apache-2.0
#include "core/optim/optimizer.hpp"

#include <cmath>

namespace disco::core {
namespace {

Result<float> positive(const Json& spec, const char* key, const std::string& path, double dflt,
                       bool allow_zero) {
  DISCO_ASSIGN_OR_RETURN(v, get_number_or(spec, key, path, dflt));
  if (!(allow_zero ? v >= 0.0 : v > 0.0) || !std::isfinite(v))
    return field_error(
        path, key,
        std::string("must be ") + (allow_zero ? ">= 0" : "> 0") + ", got " + std::to_string(v));
  return static_cast<float>(v);
}

Result<float> unit(const Json& spec, const char* key, const std::string& path, double dflt) {
  DISCO_ASSIGN_OR_RETURN(v, get_number_or(spec, key, path, dflt));
  if (!(v >= 0.0 && v < 1.0)) return field_error(path, key, "must be in [0, 1)");
  return static_cast<float>(v);
}

class Sgd final : public Optimizer {
 public:
  Sgd(OptimizerConfig c, int64_t n)
      : Optimizer(std::move(c)), velocity_(static_cast<std::size_t>(n)) {}
  void reset() override {
    std::fill(velocity_.begin(), velocity_.end(), 0.0f);
    t_ = 0;
  }

 protected:
  void update(std::span<float> w, std::span<const float> g, int64_t offset) override {
    float lr = config_.learning_rate, mu = config_.momentum;
    float* v = velocity_.data() + offset;
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (mu == 0.0f) {
        w[i] -= lr * g[i];
        continue;
      }
      v[i] = mu * v[i] - lr * g[i];
      w[i] += config_.nesterov ? mu * v[i] - lr * g[i] : v[i];
    }
  }

 private:
  std::vector<float> velocity_;
};

class Adam final : public Optimizer {
 public:
  Adam(OptimizerConfig c, int64_t n)
      : Optimizer(std::move(c)), m_(static_cast<std::size_t>(n)), v_(static_cast<std::size_t>(n)) {}
  void reset() override {
    std::fill(m_.begin(), m_.end(), 0.0f);
    std::fill(v_.begin(), v_.end(), 0.0f);
    t_ = 0;
  }

 protected:
  void update(std::span<float> w, std::span<const float> g, int64_t offset) override {
    const float b1 = config_.beta_1, b2 = config_.beta_2, lr = config_.learning_rate;
    const auto t = static_cast<double>(t_);
    const auto c1 = static_cast<float>(1.0 - std::pow(static_cast<double>(b1), t));
    const auto c2 = static_cast<float>(1.0 - std::pow(static_cast<double>(b2), t));
    const float step = lr / c1;
    const float inv_sqrt_c2 = 1.0f / std::sqrt(c2);
    const float decay = config_.type == "adamw" ? lr * config_.weight_decay : 0.0f;
    float* m = m_.data() + offset;
    float* v = v_.data() + offset;
    for (std::size_t i = 0; i < w.size(); ++i) {
      m[i] = b1 * m[i] + (1.0f - b1) * g[i];
      v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
      w[i] -= decay * w[i] + step * m[i] / (std::sqrt(v[i]) * inv_sqrt_c2 + config_.epsilon);
    }
  }

 private:
  std::vector<float> m_, v_;
};

class RmsProp final : public Optimizer {
 public:
  RmsProp(OptimizerConfig c, int64_t n)
      : Optimizer(std::move(c)),
        ms_(static_cast<std::size_t>(n)),
        mom_(static_cast<std::size_t>(n)) {}
  void reset() override {
    std::fill(ms_.begin(), ms_.end(), 0.0f);
    std::fill(mom_.begin(), mom_.end(), 0.0f);
    t_ = 0;
  }

 protected:
  void update(std::span<float> w, std::span<const float> g, int64_t offset) override {
    const float rho = config_.rho, lr = config_.learning_rate, mu = config_.momentum;
    float* ms = ms_.data() + offset;
    float* mom = mom_.data() + offset;
    for (std::size_t i = 0; i < w.size(); ++i) {
      ms[i] = rho * ms[i] + (1.0f - rho) * g[i] * g[i];
      float delta = lr * g[i] / (std::sqrt(ms[i]) + config_.epsilon);
      if (mu != 0.0f) {
        mom[i] = mu * mom[i] + delta;
        delta = mom[i];
      }
      w[i] -= delta;
    }
  }

 private:
  std::vector<float> ms_, mom_;
};

}  // namespace

Result<OptimizerConfig> parse_optimizer(const Json& spec, const std::string& path) {
  if (!spec.is_object()) return make_error(Errc::InvalidArgument, path + ": must be an object");
  DISCO_TRY(reject_unknown_fields(spec, path,
                                  {"type", "learning_rate", "momentum", "nesterov", "beta_1",
                                   "beta_2", "epsilon", "rho", "weight_decay", "clipnorm"}));
  OptimizerConfig c;
  DISCO_ASSIGN_OR_RETURN(type, get_string(spec, "type", path));
  if (type != "sgd" && type != "adam" && type != "adamw" && type != "rmsprop")
    return field_error(path, "type",
                       "unknown optimizer '" + type + "' (expected sgd, adam, adamw or rmsprop)");
  c.type = type;
  double default_lr = type == "sgd" ? 0.01 : 0.001;
  DISCO_ASSIGN_OR_RETURN(lr, positive(spec, "learning_rate", path, default_lr, false));
  DISCO_ASSIGN_OR_RETURN(mom, unit(spec, "momentum", path, 0.0));
  DISCO_ASSIGN_OR_RETURN(nesterov, get_bool_or(spec, "nesterov", path, false));
  DISCO_ASSIGN_OR_RETURN(b1, unit(spec, "beta_1", path, 0.9));
  DISCO_ASSIGN_OR_RETURN(b2, unit(spec, "beta_2", path, 0.999));
  DISCO_ASSIGN_OR_RETURN(eps, positive(spec, "epsilon", path, 1e-7, false));
  DISCO_ASSIGN_OR_RETURN(rho, unit(spec, "rho", path, 0.9));
  DISCO_ASSIGN_OR_RETURN(wd,
                         positive(spec, "weight_decay", path, type == "adamw" ? 0.004 : 0.0, true));
  DISCO_ASSIGN_OR_RETURN(clip, positive(spec, "clipnorm", path, 0.0, true));
  if (wd > 0.0f && type != "adamw")
    return field_error(path, "weight_decay", "is only supported by adamw");
  c.learning_rate = lr;
  c.momentum = mom;
  c.nesterov = nesterov;
  c.beta_1 = b1;
  c.beta_2 = b2;
  c.epsilon = eps;
  c.rho = rho;
  c.weight_decay = wd;
  c.clipnorm = clip;
  return c;
}

double grad_global_norm(const Model& model) {
  double sq = 0.0;
  for (const ParamInfo& p : model.params()) {
    if (!p.trainable) continue;
    auto g = model.grads().subspan(static_cast<std::size_t>(p.offset),
                                   static_cast<std::size_t>(p.shape.numel()));
    for (float v : g) sq += static_cast<double>(v) * v;
  }
  return std::sqrt(sq);
}

void Optimizer::step(Model& model) {
  ++t_;
  if (config_.clipnorm > 0.0f) {
    double norm = grad_global_norm(model);
    if (norm > config_.clipnorm) {
      auto scale = static_cast<float>(config_.clipnorm / norm);
      for (float& g : model.grads()) g *= scale;
    }
  }
  for (const ParamInfo& p : model.params()) {
    if (!p.trainable) continue;
    auto n = static_cast<std::size_t>(p.shape.numel());
    auto off = static_cast<std::size_t>(p.offset);
    update(model.weights().subspan(off, n), model.grads().subspan(off, n), p.offset);
  }
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, const Model& model) {
  int64_t n = model.n_weights();
  if (config.type == "sgd") return std::make_unique<Sgd>(config, n);
  if (config.type == "rmsprop") return std::make_unique<RmsProp>(config, n);
  return std::make_unique<Adam>(config, n);
}

}  // namespace disco::core
