// SPDX-License-Identifier: Apache-2.0
#include "core/aggregate/server_optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace disco::core {
namespace {

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

Result<double> positive(const Json& spec, const char* key, const std::string& path,
                        double fallback) {
  DISCO_ASSIGN_OR_RETURN(v, get_number_or(spec, key, path, fallback));
  if (!(v > 0.0) || !std::isfinite(v))
    return field_error(path, key, "must be > 0, got " + number_text(v));
  return v;
}

Result<double> unit(const Json& spec, const char* key, const std::string& path, double fallback) {
  DISCO_ASSIGN_OR_RETURN(v, get_number_or(spec, key, path, fallback));
  if (!(v >= 0.0 && v < 1.0))
    return field_error(path, key, "must be in [0, 1), got " + number_text(v));
  return v;
}

bool present(const Json& spec, const char* key) {
  auto it = spec.find(key);
  return it != spec.end() && !it->is_null();
}

bool is_adaptive(ServerOptimizerType t) {
  return t == ServerOptimizerType::FedAdagrad || t == ServerOptimizerType::FedAdam ||
         t == ServerOptimizerType::FedYogi;
}

void check_sizes(std::size_t n, std::span<float> global, std::span<const float> mean_delta) {
  DISCO_CHECK(global.size() == n && mean_delta.size() == n,
              "ServerOptimizer::apply: spans must have n_weights() entries");
}

class FedAvg final : public ServerOptimizer {
 public:
  FedAvg(const ServerOptimizerConfig& c, std::size_t n) : ServerOptimizer(c, n) {}
  void apply(std::span<float> global, std::span<const float> mean_delta) override {
    check_sizes(n_weights_, global, mean_delta);
    const auto lr = static_cast<float>(config_.lr);
    for (std::size_t i = 0; i < global.size(); ++i) global[i] += lr * mean_delta[i];
    ++n_steps_;
  }
  void reset() override { n_steps_ = 0; }
};

class FedAvgM final : public ServerOptimizer {
 public:
  FedAvgM(const ServerOptimizerConfig& c, std::size_t n) : ServerOptimizer(c, n), v_(n) {}
  void apply(std::span<float> global, std::span<const float> mean_delta) override {
    check_sizes(n_weights_, global, mean_delta);
    const auto lr = static_cast<float>(config_.lr);
    const auto beta = static_cast<float>(config_.momentum);
    for (std::size_t i = 0; i < global.size(); ++i) {
      v_[i] = beta * v_[i] + mean_delta[i];
      global[i] += lr * v_[i];
    }
    ++n_steps_;
  }
  void reset() override {
    std::fill(v_.begin(), v_.end(), 0.0f);
    n_steps_ = 0;
  }

 private:
  std::vector<float> v_;  // (n_weights,) server velocity
};

// FedAdagrad, FedAdam and FedYogi differ only in how v moves.
class Adaptive final : public ServerOptimizer {
 public:
  Adaptive(const ServerOptimizerConfig& c, std::size_t n) : ServerOptimizer(c, n), m_(n), v_(n) {
    reset();
  }
  void apply(std::span<float> global, std::span<const float> mean_delta) override {
    check_sizes(n_weights_, global, mean_delta);
    ++n_steps_;
    const double b1 = config_.beta_1, b2 = config_.beta_2, tau = config_.tau;
    double m_scale = 1.0, v_scale = 1.0;
    if (config_.bias_correction && config_.type != ServerOptimizerType::FedAdagrad) {
      m_scale = 1.0 / (1.0 - std::pow(b1, static_cast<double>(n_steps_)));
      v_scale = 1.0 / (1.0 - std::pow(b2, static_cast<double>(n_steps_)));
    }
    const ServerOptimizerType type = config_.type;
    for (std::size_t i = 0; i < global.size(); ++i) {
      const double d = mean_delta[i];
      const double d2 = d * d;
      const double m = b1 * m_[i] + (1.0 - b1) * d;
      double v = v_[i];
      if (type == ServerOptimizerType::FedAdagrad) {
        v = v + d2;
      } else if (type == ServerOptimizerType::FedAdam) {
        v = b2 * v + (1.0 - b2) * d2;
      } else {
        const double diff = v - d2;
        const double sign = diff > 0.0 ? 1.0 : (diff < 0.0 ? -1.0 : 0.0);
        v = v - (1.0 - b2) * d2 * sign;
      }
      m_[i] = static_cast<float>(m);
      v_[i] = static_cast<float>(v);
      const double step = config_.lr * (m * m_scale) / (std::sqrt(v * v_scale) + tau);
      global[i] = static_cast<float>(global[i] + step);
    }
  }
  void reset() override {
    std::fill(m_.begin(), m_.end(), 0.0f);
    std::fill(v_.begin(), v_.end(), static_cast<float>(config_.tau * config_.tau));
    n_steps_ = 0;
  }

 private:
  std::vector<float> m_;  // (n_weights,) first moment
  std::vector<float> v_;  // (n_weights,) second moment, >= 0
};

}  // namespace

const char* server_optimizer_name(ServerOptimizerType type) {
  switch (type) {
    case ServerOptimizerType::FedAvg:
      return "fedavg";
    case ServerOptimizerType::FedAvgM:
      return "fedavgm";
    case ServerOptimizerType::FedAdagrad:
      return "fedadagrad";
    case ServerOptimizerType::FedAdam:
      return "fedadam";
    case ServerOptimizerType::FedYogi:
      return "fedyogi";
  }
  return "?";
}

Result<ServerOptimizerConfig> parse_server_optimizer(const Json& spec, const std::string& path) {
  if (!spec.is_object()) return make_error(Errc::InvalidArgument, path + ": must be an object");
  DISCO_TRY(reject_unknown_fields(
      spec, path, {"type", "lr", "momentum", "beta_1", "beta_2", "tau", "bias_correction"}));
  ServerOptimizerConfig c;
  DISCO_ASSIGN_OR_RETURN(type, get_string_or(spec, "type", path, "fedavg"));
  if (type == "fedavg") {
    c.type = ServerOptimizerType::FedAvg;
  } else if (type == "fedavgm") {
    c.type = ServerOptimizerType::FedAvgM;
  } else if (type == "fedadagrad") {
    c.type = ServerOptimizerType::FedAdagrad;
  } else if (type == "fedadam") {
    c.type = ServerOptimizerType::FedAdam;
  } else if (type == "fedyogi") {
    c.type = ServerOptimizerType::FedYogi;
  } else {
    return field_error(path, "type",
                       "unknown server optimizer '" + type +
                           "' (expected fedavg, fedavgm, fedadagrad, fedadam or fedyogi)");
  }
  const bool adaptive = is_adaptive(c.type);
  // A field the chosen rule ignores is almost certainly a mistake in the task file.
  auto unused = [&](const char* key, bool used) -> Result<void> {
    if (!used && present(spec, key))
      return field_error(path, key, std::string("is not used by ") + type);
    return {};
  };
  DISCO_TRY(unused("momentum", c.type == ServerOptimizerType::FedAvgM));
  DISCO_TRY(unused("beta_1", adaptive));
  DISCO_TRY(unused("beta_2", adaptive && c.type != ServerOptimizerType::FedAdagrad));
  DISCO_TRY(unused("tau", adaptive));
  DISCO_TRY(unused("bias_correction", adaptive && c.type != ServerOptimizerType::FedAdagrad));

  DISCO_ASSIGN_OR_RETURN(lr, positive(spec, "lr", path, adaptive ? 0.01 : 1.0));
  DISCO_ASSIGN_OR_RETURN(momentum, unit(spec, "momentum", path, 0.9));
  DISCO_ASSIGN_OR_RETURN(b1, unit(spec, "beta_1", path, 0.9));
  DISCO_ASSIGN_OR_RETURN(b2, unit(spec, "beta_2", path, 0.99));
  DISCO_ASSIGN_OR_RETURN(tau, positive(spec, "tau", path, 1e-3));
  DISCO_ASSIGN_OR_RETURN(bias, get_bool_or(spec, "bias_correction", path, false));
  c.lr = lr;
  c.momentum = momentum;
  c.beta_1 = b1;
  c.beta_2 = b2;
  c.tau = tau;
  c.bias_correction = bias;
  return c;
}

std::unique_ptr<ServerOptimizer> make_server_optimizer(const ServerOptimizerConfig& config,
                                                       std::size_t n_weights) {
  DISCO_CHECK(config.lr > 0.0 && config.tau > 0.0, "make_server_optimizer: invalid config");
  DISCO_CHECK(config.momentum >= 0.0 && config.momentum < 1.0 && config.beta_1 >= 0.0 &&
                  config.beta_1 < 1.0 && config.beta_2 >= 0.0 && config.beta_2 < 1.0,
              "make_server_optimizer: invalid config");
  switch (config.type) {
    case ServerOptimizerType::FedAvg:
      return std::make_unique<FedAvg>(config, n_weights);
    case ServerOptimizerType::FedAvgM:
      return std::make_unique<FedAvgM>(config, n_weights);
    case ServerOptimizerType::FedAdagrad:
    case ServerOptimizerType::FedAdam:
    case ServerOptimizerType::FedYogi:
      return std::make_unique<Adaptive>(config, n_weights);
  }
  DISCO_CHECK(false, "make_server_optimizer: unknown type");
  return nullptr;
}

}  // namespace disco::core
