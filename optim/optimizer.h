// Optimizers with Keras 2.10 (legacy OptimizerV2) semantics. The learning rate and step counter live in tensors on
// the parameters' device, so a captured CUDA graph sees schedule changes. State tensors are allocated once, at
// construction, and each optimizer keeps their device pointers: step() never allocates (no name lookups either).
// groups > 1: every parameter stacks `groups` independent models on its leading axis, and each model has its own
// learning rate (lr(g), set_lr(g, ...)), e.g. for a sweep trained as one batch of models.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "autograd/var.h"

namespace toy {

class Optimizer {
 public:
  Optimizer(std::vector<Var> params, float lr, std::string name, int64_t groups = 1);
  virtual ~Optimizer() = default;
  // Apply one update from the parameters' current gradients.
  void step();
  // The per-group learning rates ([groups], host memory) when this optimizer's update is plain SGD on the CPU
  // (w -= g * lr, no momentum), which a caller may apply itself (the toy model's fused step: ToyStepArgs::sgd_lr);
  // null otherwise. A caller that does counts each such update with count_step().
  virtual const float* plain_sgd_lr() const { return nullptr; }
  void count_step();
  // Zero the parameters' gradients.
  void zero_grad();
  // The learning rate (of group g), stored as float32 like Keras' lr variable.
  float lr(int64_t g = 0) const;
  // Set every group's learning rate / one group's.
  void set_lr(float lr);
  void set_lr(int64_t g, float lr);
  int64_t groups() const { return groups_; }
  const std::string& name() const { return name_; }
  // Updates applied so far (read from the device-side step counter, so captured-graph replays count).
  int64_t iterations() const;
  // Named state tensors (momenta, moments, "lr", "step") for checkpoints.
  std::vector<std::pair<std::string, Tensor>> state() const;
  void load_state(const std::vector<std::pair<std::string, Tensor>>& state);

 protected:
  virtual void update(size_t i, Var& p) = 0;
  // A zero state tensor shaped like parameter i, registered under "<param>/<slot>" (construction only: it looks the
  // name up, which allocates).
  Tensor& slot(size_t i, const std::string& slot);
  const float* lr_ptr() const { return lr_t_.data(); }
  // Elements of parameter i that share one learning rate.
  int64_t group_size(size_t i) const { return params_[i].value().numel() / groups_; }
  const float* step_ptr() const { return step_t_.data(); }
  std::vector<Var> params_;

 private:
  int64_t groups_;
  std::vector<float> lr_;  // host copy, one per group
  std::string name_;
  Tensor lr_t_, step_t_;
  std::vector<std::pair<std::string, Tensor>> slots_;
};

struct SGDOptions {
  float lr = 0.01f, momentum = 0.0f;
  bool nesterov = false;
};
class SGD : public Optimizer {
 public:
  SGD(std::vector<Var> params, SGDOptions o = {}, int64_t groups = 1);
  const float* plain_sgd_lr() const override;

 protected:
  void update(size_t i, Var& p) override;

 private:
  SGDOptions o_;
  std::vector<float*> momentum_;  // per parameter (null without momentum)
};

struct RMSpropOptions {
  float lr = 0.001f, rho = 0.9f, momentum = 0.0f, epsilon = 1e-7f;
};
class RMSprop : public Optimizer {
 public:
  RMSprop(std::vector<Var> params, RMSpropOptions o = {}, int64_t groups = 1);

 protected:
  void update(size_t i, Var& p) override;

 private:
  RMSpropOptions o_;
  std::vector<float*> rms_, momentum_;  // per parameter (momentum_: null without momentum)
};

struct AdamOptions {
  float lr = 0.001f, beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-7f;
};
class Adam : public Optimizer {
 public:
  Adam(std::vector<Var> params, AdamOptions o = {}, int64_t groups = 1);

 protected:
  void update(size_t i, Var& p) override;

 private:
  AdamOptions o_;
  std::vector<float*> m_, v_;  // per parameter
};

// "sgd" | "rmsprop" | "adam" with a learning rate (negative = the optimizer's Keras default) and SGD momentum.
std::unique_ptr<Optimizer> make_optimizer(const std::string& kind, std::vector<Var> params, float lr,
                                          float momentum = 0.0f, bool nesterov = false, int64_t groups = 1);

}  // namespace toy
