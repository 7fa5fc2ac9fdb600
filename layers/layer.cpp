// Layer, Embedding, Dense, LayerNorm.
#include "layers/layer.h"

#include <cmath>

#include "core/error.h"

namespace toy {

int64_t Layer::param_count() const {
  int64_t n = 0;
  for (const Var& p : params_) n += p.value().numel();
  return n;
}

void Layer::to(Device d) {
  for (Var& p : params_)
    if (p.device() != d) p.value() = p.value().to(d);
}

Var Layer::add_param(Tensor init, const std::string& weight) {
  params_.push_back(Var::param(std::move(init), weight.empty() ? name_ : name_ + "/" + weight));
  return params_.back();
}

Embedding::Embedding(std::string name, int64_t input_dim, int64_t output_dim, Rng& rng, int64_t padding_idx)
    : Layer(std::move(name), "Embedding"), padding_idx_(padding_idx) {
  TOY_CHECK(input_dim > 0 && output_dim > 0, "Embedding '{}': dimensions must be positive, got {} -> {}",
            this->name(), input_dim, output_dim);
  TOY_CHECK(padding_idx >= -1 && padding_idx < input_dim, "Embedding '{}': padding_idx {} out of range [-1, {})",
            this->name(), padding_idx, input_dim);
  Tensor t = init::uniform(Shape{input_dim, output_dim}, rng);
  if (padding_idx >= 0)
    for (int64_t j = 0; j < output_dim; ++j) t[padding_idx * output_dim + j] = 0.0f;
  add_param(std::move(t), "");
}

Var Embedding::operator()(const Var& ids) const { return output(embedding(ids, table(), padding_idx_)); }

Activation parse_activation(const std::string& s) {
  if (s == "linear") return Activation::Linear;
  if (s == "sigmoid") return Activation::Sigmoid;
  if (s == "tanh") return Activation::Tanh;
  if (s == "relu") return Activation::Relu;
  fail("activation: unknown '{}' (expected linear, sigmoid, tanh or relu)", s);
}

Var apply_activation(Activation a, const Var& x) {
  switch (a) {
    case Activation::Sigmoid: return sigmoid(x);
    case Activation::Tanh: return tanh(x);
    case Activation::Relu: return relu(x);
    case Activation::Linear: break;
  }
  return x;
}

Dense::Dense(std::string name, int64_t in, int64_t units, Rng& rng, bool use_bias, Activation act)
    : Layer(std::move(name), "Dense"), in_(in), units_(units), act_(act) {
  TOY_CHECK(in > 0 && units > 0, "Dense '{}': dimensions must be positive, got {} -> {}", this->name(), in, units);
  add_param(init::glorot_uniform(Shape{in, units}, rng), use_bias ? "kernel" : "");
  if (use_bias) add_param(init::zeros(Shape{units}), "bias");
}

Var Dense::operator()(const Var& x) const {
  TOY_CHECK(x.defined() && x.shape().rank() >= 1 && x.shape()[-1] == in_,
            "Dense '{}': input ({}) must end in {} features", name(), x.defined() ? x.shape().str() : "undefined", in_);
  Var y = matmul(x, kernel());
  if (use_bias()) y = add(y, params()[1]);
  return output(apply_activation(act_, y));
}

LayerNorm::LayerNorm(std::string name, int64_t n, float eps)
    : Layer(std::move(name), "LayerNormalization"), n_(n), eps_(eps) {
  TOY_CHECK(n > 0, "LayerNorm '{}': the normalized axis must be positive, got {}", this->name(), n);
  TOY_CHECK(std::isfinite(eps) && eps > 0.0f, "LayerNorm '{}': eps must be positive and finite, got {}", this->name(),
            eps);
  add_param(init::ones(Shape{n}), "gamma");
  add_param(init::zeros(Shape{n}), "beta");
}

Var LayerNorm::operator()(const Var& x) const {
  TOY_CHECK(x.defined() && x.shape().rank() >= 1 && x.shape()[-1] == n_,
            "LayerNorm '{}': input ({}) must end in {} features", name(), x.defined() ? x.shape().str() : "undefined",
            n_);
  return output(layer_norm(x, gamma(), beta(), eps_));
}

}  // namespace toy
