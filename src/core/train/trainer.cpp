// SPDX-License-Identifier: Apache-2.0
#include "core/train/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/aggregate/fedprox.hpp"

namespace disco::core {
namespace {

// Predicted class of one output row: argmax, or for a single sigmoid/logit unit, value > cut.
int64_t predicted_class(const float* row, int64_t k, float cut) {
  if (k == 1) return row[0] > cut ? 1 : 0;
  return std::max_element(row, row + k) - row;
}

}  // namespace

Result<void> check_compatible(const Model& model, const Dataset& data, std::string_view source) {
  std::string src(source);
  if (data.sample_shape() != model.input_shape())
    return make_error(Errc::InvalidArgument,
                      src + ": samples have shape " + data.sample_shape().to_string() +
                          " but the model expects " + model.input_shape().to_string());
  if (!data.is_classification() || data.y.rank() != 1) return {};
  int64_t k = model.output_shape().numel();
  int64_t n_classes = k == 1 ? 2 : k;
  for (int64_t i = 0; i < data.y.numel(); ++i) {
    auto label = static_cast<int64_t>(data.y[i]);
    if (label < 0 || label >= n_classes)
      return make_error(Errc::InvalidArgument, src + ": sample " + std::to_string(i) +
                                                   " has class " + std::to_string(label) +
                                                   " but the model has " +
                                                   std::to_string(n_classes) + " classes");
  }
  return {};
}

Result<std::unique_ptr<Trainer>> Trainer::create(Model& model, Parallel& parallel, uint64_t seed) {
  DISCO_ASSIGN_OR_RETURN(config, parse_optimizer(model.optimizer_spec(), "model.optimizer"));
  auto opt = make_optimizer(config, model);
  return std::unique_ptr<Trainer>(new Trainer(model, parallel, seed, std::move(opt)));
}

Trainer::Trainer(Model& model, Parallel& parallel, uint64_t seed, std::unique_ptr<Optimizer> opt)
    : model_(&model), rng_(seed), optimizer_(std::move(opt)), graph_(parallel) {}

Var Trainer::targets(const Tensor& y, const Tensor& output) {
  int64_t b = output.dim(0);
  int64_t k = output.numel() / b;
  Loss loss = model_->loss();
  bool indices = y.rank() == 1;
  if ((loss == Loss::CategoricalCrossEntropy || loss == Loss::SparseCategoricalCrossEntropy) &&
      (indices || y.dim(1) == k))
    return graph_.input(y.view(y.shape()));
  if (indices && k > 1) {
    // Class indices against a k-wide BCE/MSE output: one-hot.
    target_buffer_ = graph_.alloc({b, k});
    target_buffer_.fill(0.0f);
    for (int64_t i = 0; i < b; ++i) {
      auto c = static_cast<int64_t>(y[i]);
      DISCO_CHECK(c >= 0 && c < k, "class index out of range of the model output");
      target_buffer_[i * k + c] = 1.0f;
    }
    return graph_.input(std::move(target_buffer_));
  }
  DISCO_CHECK(y.numel() == output.numel(), "targets do not match the model output");
  return graph_.input(y.view(output.shape()));
}

BatchStats Trainer::score(const Tensor& output, const Tensor& y, float mean_loss) const {
  BatchStats s;
  int64_t b = output.dim(0);
  s.n = b;
  s.loss_sum = static_cast<double>(mean_loss) * static_cast<double>(b);
  Loss loss = model_->loss();
  if (loss == Loss::MeanSquaredError || y.rank() != 1) return s;
  int64_t k = output.numel() / b;
  // Outputs are logits when the final activation is fused (or linear), probabilities otherwise.
  bool logits =
      model_->final_activation() != Activation::Sigmoid || model_->fuses_final_activation();
  float cut = logits ? 0.0f : 0.5f;
  for (int64_t i = 0; i < b; ++i)
    if (predicted_class(output.data() + i * k, k, cut) == static_cast<int64_t>(y[i])) ++s.n_correct;
  return s;
}

BatchStats Trainer::train_batch(const Tensor& x, const Tensor& y) {
  graph_.clear();
  model_->zero_grads();
  Var in = graph_.input(x.view(x.shape()));
  Var out = model_->forward(graph_, in, /*training=*/true, &rng_, /*for_loss=*/true);
  Var loss = model_->loss_of(graph_, out, targets(y, graph_.value(out)));
  BatchStats stats = score(graph_.value(out), y, graph_.value(loss)[0]);
  graph_.backward(loss);
  if (proximal_mu_ > 0.0f)
    add_proximal_gradient(model_->grads(), model_->weights(), proximal_global_, proximal_mu_);
  optimizer_->step(*model_);
  return stats;
}

void Trainer::set_proximal(std::span<const float> global_weights, float mu) {
  DISCO_CHECK(global_weights.size() == static_cast<std::size_t>(model_->n_weights()),
              "set_proximal: global weights do not match the model");
  DISCO_CHECK(std::isfinite(mu) && mu >= 0.0f, "set_proximal: mu must be finite and >= 0");
  if (mu == 0.0f) {
    clear_proximal();
    return;
  }
  proximal_global_.assign(global_weights.begin(), global_weights.end());
  proximal_mu_ = mu;
}

void Trainer::clear_proximal() {
  proximal_global_.clear();
  proximal_global_.shrink_to_fit();
  proximal_mu_ = 0.0f;
}

void Trainer::begin_epoch(const Dataset& train, int64_t batch_size) {
  std::vector<int64_t> order = permutation(train.size(), rng_);
  batches_ = std::make_unique<Batches>(train, batch_size, std::move(order));
  epoch_stats_ = BatchStats{};
}

std::optional<BatchStats> Trainer::train_next() {
  DISCO_CHECK(batches_ != nullptr, "train_next() outside an epoch");
  std::optional<Batch> batch = batches_->next();
  if (!batch) return std::nullopt;
  BatchStats s = train_batch(batch->x, batch->y);
  epoch_stats_.add(s);
  return s;
}

int64_t Trainer::epoch_batches() const { return batches_ ? batches_->n_batches() : 0; }

int64_t Trainer::epoch_position() const {
  return batches_ ? std::min(batches_->n_batches(),
                             (epoch_stats_.n + batches_->batch_size() - 1) / batches_->batch_size())
                  : 0;
}

EpochLog Trainer::end_epoch(const Dataset* validation, int64_t batch_size) {
  EpochLog log;
  log.epoch = ++epochs_done_;
  log.loss = epoch_stats_.loss();
  log.accuracy = epoch_stats_.accuracy();
  log.n_samples = epoch_stats_.n;
  batches_.reset();
  if (validation && validation->size() > 0) log.validation = evaluate(*validation, batch_size);
  return log;
}

EpochLog Trainer::train_epoch(const Dataset& train, const Dataset* validation, int64_t batch_size) {
  begin_epoch(train, batch_size);
  while (train_next()) {
  }
  return end_epoch(validation, batch_size);
}

Evaluation Trainer::evaluate(const Dataset& data, int64_t batch_size) {
  Evaluation ev;
  ev.n_classes = data.is_classification() && data.y.rank() == 1 ? data.n_classes : 0;
  auto c = static_cast<std::size_t>(ev.n_classes);
  ev.confusion.assign(c * c, 0);
  BatchStats total;
  Batches batches(data, batch_size);
  bool logits =
      model_->final_activation() != Activation::Sigmoid || model_->fuses_final_activation();
  while (auto batch = batches.next()) {
    graph_.clear();
    Var in = graph_.input(batch->x.view(batch->x.shape()));
    Var out = model_->forward(graph_, in, /*training=*/false, nullptr, /*for_loss=*/true);
    Var loss = model_->loss_of(graph_, out, targets(batch->y, graph_.value(out)));
    const Tensor& o = graph_.value(out);
    total.add(score(o, batch->y, graph_.value(loss)[0]));
    if (ev.n_classes > 0) {
      int64_t k = o.numel() / o.dim(0);
      for (int64_t i = 0; i < o.dim(0); ++i) {
        auto truth = static_cast<int64_t>(batch->y[i]);
        int64_t pred = predicted_class(o.data() + i * k, k, logits ? 0.0f : 0.5f);
        if (truth >= 0 && truth < ev.n_classes && pred < ev.n_classes)
          ++ev.confusion[static_cast<std::size_t>(truth * ev.n_classes + pred)];
      }
    }
  }
  graph_.clear();
  ev.n = total.n;
  ev.loss = total.loss();
  ev.accuracy = total.accuracy();
  for (std::size_t k = 0; k < c; ++k) {
    int64_t tp = ev.confusion[k * c + k], predicted = 0, actual = 0;
    for (std::size_t j = 0; j < c; ++j) {
      predicted += ev.confusion[j * c + k];
      actual += ev.confusion[k * c + j];
    }
    ev.precision.push_back(predicted ? static_cast<double>(tp) / static_cast<double>(predicted)
                                     : 0.0);
    ev.recall.push_back(actual ? static_cast<double>(tp) / static_cast<double>(actual) : 0.0);
  }
  return ev;
}

Trainer::Classification Trainer::classify(const Tensor& x, int64_t batch_size) {
  const Tensor out = predict(x, batch_size);
  const int64_t n = out.dim(0);
  Classification c;
  if (n == 0) return c;
  const int64_t per_sample = out.numel() / n;
  const int64_t k = out.rank() >= 3 ? out.dim(out.rank() - 1) : per_sample;
  const Activation last = model_->final_activation();
  const bool probabilities = last == Activation::Softmax || last == Activation::Sigmoid;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = out.data() + i * per_sample + (per_sample - k);
    if (k == 1) {
      const double p1 = probabilities ? row[0] : 1.0 / (1.0 + std::exp(-double(row[0])));
      c.predicted.push_back(p1 > 0.5 ? 1 : 0);
      c.confidence.push_back(p1 > 0.5 ? p1 : 1.0 - p1);
      continue;
    }
    const int64_t best = predicted_class(row, k, 0.0f);
    double confidence = row[best];
    if (!probabilities) {  // softmax of the logits, at the winning class
      double sum = 0;
      for (int64_t j = 0; j < k; ++j) sum += std::exp(double(row[j]) - double(row[best]));
      confidence = 1.0 / sum;
    }
    c.predicted.push_back(best);
    c.confidence.push_back(confidence);
  }
  return c;
}

Tensor Trainer::predict(const Tensor& x, int64_t batch_size) {
  int64_t n = x.dim(0);
  Shape out_shape = model_->output_shape();
  Shape full;
  full.push_back(n);
  for (int64_t d : out_shape.dims()) full.push_back(d);
  Tensor result = Tensor::empty(full);
  int64_t per_in = x.numel() / std::max<int64_t>(n, 1);
  int64_t per_out = out_shape.numel();
  for (int64_t start = 0; start < n; start += batch_size) {
    int64_t b = std::min(batch_size, n - start);
    graph_.clear();
    Var in = graph_.input(
        Tensor::borrow(const_cast<float*>(x.data()) + start * per_in, x.shape().with_batch(b)));
    Var out = model_->forward(graph_, in, /*training=*/false, nullptr, /*for_loss=*/false);
    std::memcpy(result.data() + start * per_out, graph_.value(out).data(),
                static_cast<std::size_t>(b * per_out) * sizeof(float));
  }
  graph_.clear();
  return result;
}

}  // namespace disco::core
