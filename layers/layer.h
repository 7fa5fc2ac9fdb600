// Layers in the Keras style: a layer owns its parameters (named, in creation order) and is applied to Vars; the
// result Var carries the layer's name so every activation can be looked up by it.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/ops.h"
#include "core/rng.h"

namespace toy {

class Layer {
 public:
  Layer(std::string name, std::string type) : name_(std::move(name)), type_(std::move(type)) {}
  virtual ~Layer() = default;
  const std::string& name() const { return name_; }
  // Keras' class name, shown by Model::summary() ("Embedding", "Dense", "Add", ...).
  const std::string& type() const { return type_; }
  // Trainable parameters in creation order; each Var is named "<layer>" (single weight) or "<layer>/<weight>".
  const std::vector<Var>& params() const { return params_; }
  int64_t param_count() const;
  // Move the parameters to a device (before the layer is applied).
  void to(Device d);

 protected:
  Var add_param(Tensor init, const std::string& weight);
  // Name the result after this layer.
  Var output(Var v) const { return v.named(name_); }

 private:
  std::string name_, type_;
  std::vector<Var> params_;
};

// Embedding(input_dim -> output_dim): a [input_dim, output_dim] table, Keras' uniform(-0.05, 0.05) init.
// padding_idx >= 0: that row starts at zero and never receives a gradient.
class Embedding : public Layer {
 public:
  Embedding(std::string name, int64_t input_dim, int64_t output_dim, Rng& rng, int64_t padding_idx = -1);
  // ids [...] -> [..., output_dim]
  Var operator()(const Var& ids) const;
  const Var& table() const { return params()[0]; }
  int64_t padding_idx() const { return padding_idx_; }

 private:
  int64_t padding_idx_;
};

// A layer whose parameters are given tensors (e.g. the weights of M independent models stacked together): one,
// named "<layer>", or several, named "<layer>/<weight>" in the order given.
class ParamLayer : public Layer {
 public:
  ParamLayer(std::string name, std::string type, Tensor value) : Layer(std::move(name), std::move(type)) {
    add_param(std::move(value), "");
  }
  ParamLayer(std::string name, std::string type, std::vector<std::pair<std::string, Tensor>> weights)
      : Layer(std::move(name), std::move(type)) {
    for (auto& [weight, value] : weights) add_param(std::move(value), weight);
  }
  const Var& param(size_t i = 0) const { return params()[i]; }
};

enum class Activation { Linear, Sigmoid, Tanh, Relu };
// Parses "linear" | "sigmoid" | "tanh" | "relu"; throws naming the bad value.
Activation parse_activation(const std::string& s);
Var apply_activation(Activation a, const Var& x);

// Dense(units): y = act(x · W + b), W [in, units] (Keras layout) with glorot_uniform init, b zeros.
class Dense : public Layer {
 public:
  Dense(std::string name, int64_t in, int64_t units, Rng& rng, bool use_bias = true,
        Activation act = Activation::Linear);
  // x [..., in] -> [..., units]
  Var operator()(const Var& x) const;
  const Var& kernel() const { return params()[0]; }
  bool use_bias() const { return params().size() > 1; }

 private:
  int64_t in_, units_;
  Activation act_;
};

// LayerNormalization over the last axis with Keras' defaults: epsilon 1e-3, gamma ones and beta zeros [n] (params
// "<name>/gamma", "<name>/beta", in that order). y = layer_norm(x, gamma, beta, eps) (autograd/ops.h).
class LayerNorm : public Layer {
 public:
  LayerNorm(std::string name, int64_t n, float eps = 1e-3f);
  // x [..., n] -> [..., n]
  Var operator()(const Var& x) const;
  const Var& gamma() const { return params()[0]; }
  const Var& beta() const { return params()[1]; }
  float eps() const { return eps_; }

 private:
  int64_t n_;
  float eps_;
};

}  // namespace toy
