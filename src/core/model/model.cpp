// SPDX-License-Identifier: Apache-2.0
#include "core/model/model.hpp"

#include <cstdio>

namespace disco::core {

const char* loss_name(Loss loss) {
  switch (loss) {
    case Loss::CategoricalCrossEntropy:
      return "categorical_crossentropy";
    case Loss::SparseCategoricalCrossEntropy:
      return "sparse_categorical_crossentropy";
    case Loss::BinaryCrossEntropy:
      return "binary_crossentropy";
    case Loss::MeanSquaredError:
      return "mean_squared_error";
  }
  return "?";
}

std::string fnv1a_hex(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

namespace {

Result<Loss> parse_loss(const std::string& name, const std::string& field) {
  for (Loss l : {Loss::CategoricalCrossEntropy, Loss::SparseCategoricalCrossEntropy,
                 Loss::BinaryCrossEntropy, Loss::MeanSquaredError})
    if (name == loss_name(l)) return l;
  if (name == "mse") return Loss::MeanSquaredError;
  return make_error(Errc::InvalidArgument,
                    field + ": unknown loss '" + name +
                        "' (expected categorical_crossentropy, sparse_categorical_crossentropy, "
                        "binary_crossentropy or mean_squared_error)");
}

}  // namespace

Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

Result<Model> Model::from_spec(const Json& spec, const std::string& path) {
  if (!spec.is_object()) return make_error(Errc::InvalidArgument, path + ": must be an object");
  DISCO_TRY(reject_unknown_fields(
      spec, path, {"input_shape", "layers", "loss", "optimizer", "metrics", "name"}));
  Model m;
  const Json* shape = spec.contains("input_shape") ? &spec["input_shape"] : nullptr;
  if (!shape || !shape->is_array() || shape->empty() || shape->size() > 4)
    return field_error(path, "input_shape", "must be a list of 1 to 4 positive integers");
  for (const Json& d : *shape) {
    if (!d.is_number_integer() || d.get<int64_t>() <= 0)
      return field_error(path, "input_shape",
                         "must be a list of 1 to 4 positive integers, got " + shape->dump());
    m.input_shape_.push_back(d.get<int64_t>());
  }
  if (!spec.contains("layers") || !spec["layers"].is_array() || spec["layers"].empty())
    return field_error(path, "layers", "must be a non-empty list of layers");

  Shape current = m.input_shape_;
  int64_t offset = 0;
  const Json& layers = spec["layers"];
  for (std::size_t i = 0; i < layers.size(); ++i) {
    std::string lpath = path + ".layers[" + std::to_string(i) + "]";
    DISCO_ASSIGN_OR_RETURN(layer, make_layer(layers[i], lpath));
    DISCO_ASSIGN_OR_RETURN(out, layer->build(current, lpath));
    current = out;
    std::vector<int> indices;
    for (ParamSpec& p : layer->params()) {
      indices.push_back(static_cast<int>(m.params_.size()));
      m.params_.push_back({"layers." + std::to_string(i) + "." + p.name, p.shape, offset,
                           p.trainable, p.init, static_cast<int>(i)});
      offset += p.shape.numel();
    }
    m.layer_params_.push_back(std::move(indices));
    m.layers_.push_back(std::move(layer));
  }
  m.output_shape_ = current;
  m.weights_ = Tensor::zeros({offset});
  m.grads_ = Tensor::zeros({offset});

  DISCO_ASSIGN_OR_RETURN(loss, get_string_or(spec, "loss", path, "categorical_crossentropy"));
  DISCO_ASSIGN_OR_RETURN(l, parse_loss(loss, field_path(path, "loss")));
  m.loss_ = l;
  if (m.output_shape_.rank() != 1)
    return field_error(path, "layers",
                       "the last layer must output a flat vector, got " +
                           m.output_shape_.to_string() + " (add flatten + dense)");
  Activation last = m.final_activation();
  bool ce = l == Loss::CategoricalCrossEntropy || l == Loss::SparseCategoricalCrossEntropy;
  m.fused_ = (ce && last == Activation::Softmax) ||
             (l == Loss::BinaryCrossEntropy && last == Activation::Sigmoid);
  if (ce && last != Activation::Softmax && last != Activation::Linear)
    return field_error(path, "loss",
                       std::string(loss_name(l)) +
                           " needs a final softmax (or linear logits), got " +
                           activation_name(last));
  if (l == Loss::BinaryCrossEntropy && last != Activation::Sigmoid && last != Activation::Linear)
    return field_error(path, "loss",
                       "binary_crossentropy needs a final sigmoid (or linear "
                       "logits), got " +
                           std::string(activation_name(last)));

  m.optimizer_ = spec.contains("optimizer") ? spec["optimizer"] : Json{{"type", "adam"}};
  if (m.optimizer_.is_string()) m.optimizer_ = Json{{"type", m.optimizer_}};
  if (!m.optimizer_.is_object())
    return field_error(path, "optimizer", "must be an object like {\"type\": \"adam\"}");
  DISCO_ASSIGN_OR_RETURN(metrics, get_string_list(spec, "metrics", path, false));
  for (const std::string& name : metrics)
    if (name != "accuracy" && name != "precision" && name != "recall")
      return field_error(path, "metrics",
                         "unknown metric '" + name + "' (expected accuracy, precision or recall)");
  m.metrics_ = metrics;

  Json arch = {{"input_shape", m.input_shape_.dims()}, {"layers", Json::array()}};
  for (const auto& layer : m.layers_) arch["layers"].push_back(layer->to_json());
  m.fingerprint_ = fnv1a_hex(arch.dump());
  return m;
}

Model Model::clone() const {
  Result<Model> copy = from_spec(canonical_spec());
  DISCO_CHECK(copy.has_value(), "canonical spec does not rebuild");
  Model m = std::move(copy).value();
  m.weights_.copy_from(weights_);
  return m;
}

void Model::init_weights(Rng& rng) {
  for (const ParamInfo& p : params_) {
    auto span = weights_.span().subspan(static_cast<std::size_t>(p.offset),
                                        static_cast<std::size_t>(p.shape.numel()));
    initialize(p.init, p.shape, span, rng);
  }
}

int64_t Model::n_trainable() const {
  int64_t n = 0;
  for (const ParamInfo& p : params_)
    if (p.trainable) n += p.shape.numel();
  return n;
}

Json Model::canonical_spec() const {
  Json j = {{"input_shape", input_shape_.dims()}, {"layers", Json::array()}};
  for (const auto& layer : layers_) j["layers"].push_back(layer->to_json());
  j["loss"] = loss_name(loss_);
  j["optimizer"] = optimizer_;
  j["metrics"] = metrics_;
  return j;
}

Activation Model::final_activation() const {
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) {
    if ((*it)->activation() != Activation::Linear) return (*it)->activation();
    // Shape-only layers after the last activation do not change it.
    std::string t = (*it)->type();
    if (t != "flatten" && t != "dropout") return Activation::Linear;
  }
  return Activation::Linear;
}

Var Model::forward(Graph& g, Var x, bool training, Rng* rng, bool for_loss) {
  // Index of the layer whose activation is fused (the last one with an activation).
  int fused_layer = -1;
  if (for_loss && fused_) {
    for (int i = static_cast<int>(layers_.size()) - 1; i >= 0; --i)
      if (layers_[static_cast<std::size_t>(i)]->activation() != Activation::Linear) {
        fused_layer = i;
        break;
      }
  }
  Var h = x;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    ForwardContext ctx{g, training, rng, {}, {}};
    for (int pi : layer_params_[i]) {
      const ParamInfo& p = params_[static_cast<std::size_t>(pi)];
      float* w = weights_.data() + p.offset;
      ctx.param_data.push_back(w);
      if (p.trainable && training) {
        ctx.params.push_back(
            g.param(Tensor::borrow(w, p.shape), Tensor::borrow(grads_.data() + p.offset, p.shape)));
      } else {
        ctx.params.push_back(g.input(Tensor::borrow(w, p.shape)));
      }
    }
    h = layers_[i]->forward(ctx, h, static_cast<int>(i) == fused_layer);
  }
  return h;
}

Var Model::loss_of(Graph& g, Var output, Var targets) const {
  switch (loss_) {
    case Loss::CategoricalCrossEntropy:
    case Loss::SparseCategoricalCrossEntropy:
      return g.softmax_cross_entropy(output, targets);
    case Loss::BinaryCrossEntropy:
      return g.sigmoid_cross_entropy(output, targets);
    case Loss::MeanSquaredError:
      return g.mean_squared_error(output, targets);
  }
  return output;
}

}  // namespace disco::core
