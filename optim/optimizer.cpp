// Optimizer base and SGD / RMSprop / Adam.
#include "optim/optimizer.h"

#include "core/backend.h"
#include "core/error.h"

#include <algorithm>
#include <cmath>

namespace toy {

Optimizer::Optimizer(std::vector<Var> params, float lr, std::string name, int64_t groups)
    : params_(std::move(params)), groups_(groups), name_(std::move(name)) {
  TOY_CHECK(!params_.empty(), "{}: no parameters to optimize", name_);
  TOY_CHECK(lr > 0 && std::isfinite(lr), "{}: learning rate must be positive, got {}", name_, lr);
  TOY_CHECK(groups > 0, "{}: groups must be positive, got {}", name_, groups);
  Device d = params_[0].device();
  for (const Var& p : params_) {
    TOY_CHECK(p.requires_grad(), "{}: '{}' is not a trainable parameter", name_, p.name());
    TOY_CHECK(p.device() == d, "{}: parameters on different devices", name_);
    TOY_CHECK(p.value().numel() % groups == 0, "{}: '{}' ({}) cannot be split into {} models", name_, p.name(),
              p.shape().str(), groups);
    detail::ensure_grad(p.node());
  }
  lr_.assign(static_cast<size_t>(groups), lr);
  lr_t_ = groups == 1 ? Tensor::full(Shape{}, lr, d) : Tensor::full(Shape{groups}, lr, d);
  step_t_ = Tensor::zeros(Shape{}, d);
}

float Optimizer::lr(int64_t g) const {
  TOY_CHECK(g >= 0 && g < groups_, "{}: group {} out of range [0, {})", name_, g, groups_);
  return lr_[static_cast<size_t>(g)];
}

void Optimizer::set_lr(float lr) {
  TOY_CHECK(lr > 0 && std::isfinite(lr), "{}: learning rate must be positive, got {}", name_, lr);
  std::fill(lr_.begin(), lr_.end(), lr);
  lr_t_.fill(lr);
}

void Optimizer::set_lr(int64_t g, float lr) {
  TOY_CHECK(lr > 0 && std::isfinite(lr), "{}: learning rate must be positive, got {}", name_, lr);
  TOY_CHECK(g >= 0 && g < groups_, "{}: group {} out of range [0, {})", name_, g, groups_);
  lr_[static_cast<size_t>(g)] = lr;
  backend(lr_t_.device()).fill(lr_t_.data() + g, 1, lr);
}

Tensor& Optimizer::slot(size_t i, const std::string& name) {
  std::string key = params_[i].name() + "/" + name;
  for (auto& [k, t] : slots_)
    if (k == key) return t;
  slots_.emplace_back(key, Tensor::zeros(params_[i].shape(), params_[i].device()));
  return slots_.back().second;
}

int64_t Optimizer::iterations() const { return static_cast<int64_t>(step_t_.item()); }

void Optimizer::step() {
  count_step();
  for (size_t i = 0; i < params_.size(); ++i) update(i, params_[i]);
}

void Optimizer::count_step() { backend(step_t_.device()).increment(step_t_.data(), 1.0f); }

void Optimizer::zero_grad() {
  for (Var& p : params_) p.grad().fill(0.0f);
}

std::vector<std::pair<std::string, Tensor>> Optimizer::state() const {
  std::vector<std::pair<std::string, Tensor>> s{{"lr", lr_t_}, {"step", step_t_}};
  for (const auto& kv : slots_) s.push_back(kv);
  return s;
}

void Optimizer::load_state(const std::vector<std::pair<std::string, Tensor>>& state) {
  // Every entry of this optimizer's own state must be there: a missing one would silently stay at its initial value
  // (a checkpoint of another optimizer, or one with its momenta stripped, must not resume as if it were complete).
  std::vector<std::string> missing;
  for (const std::string& k : [&] {
         std::vector<std::string> keys{"lr", "step"};
         for (const auto& [sk, st] : slots_) keys.push_back(sk);
         return keys;
       }())
    if (std::none_of(state.begin(), state.end(), [&](const auto& e) { return e.first == k; })) missing.push_back(k);
  TOY_CHECK(missing.empty(), "{}: the saved state lacks '{}' (a state of another optimizer, or an incomplete one)",
            name_, missing.front());
  for (const auto& [k, t] : state) {
    if (k == "lr") {
      TOY_CHECK(t.numel() == groups_, "{}: state 'lr' has {} values for {} groups", name_, t.numel(), groups_);
      Tensor h = t.to(Device::CPU);
      for (int64_t g = 0; g < groups_; ++g) set_lr(g, h[g]);
    } else if (k == "step") {
      step_t_.copy_from(t);
    } else {
      bool found = false;
      for (auto& [sk, st] : slots_)
        if (sk == k) {
          TOY_CHECK(st.shape() == t.shape(), "{}: state '{}' has shape ({}) but needs ({})", name_, k,
                    t.shape().str(), st.shape().str());
          st.copy_from(t);
          found = true;
        }
      TOY_CHECK(found, "{}: unknown state entry '{}'", name_, k);
    }
  }
}

SGD::SGD(std::vector<Var> params, SGDOptions o, int64_t groups)
    : Optimizer(std::move(params), o.lr, "SGD", groups), o_(o) {
  TOY_CHECK(o.momentum >= 0 && o.momentum < 1, "SGD: momentum must be in [0, 1), got {}", o.momentum);
  for (size_t i = 0; i < params_.size(); ++i) momentum_.push_back(o_.momentum != 0.0f ? slot(i, "momentum").data() : nullptr);
}

const float* SGD::plain_sgd_lr() const {
  return o_.momentum == 0.0f && params_[0].device() == Device::CPU ? lr_ptr() : nullptr;
}

void SGD::update(size_t i, Var& p) {
  float* m = momentum_[i];
  backend(p.device()).sgd_update(p.value().data(), p.grad().data(), m, p.value().numel(), lr_ptr(), group_size(i),
                                 o_.momentum, o_.nesterov);
}

RMSprop::RMSprop(std::vector<Var> params, RMSpropOptions o, int64_t groups)
    : Optimizer(std::move(params), o.lr, "RMSprop", groups), o_(o) {
  for (size_t i = 0; i < params_.size(); ++i) {
    rms_.push_back(slot(i, "rms").data());
    momentum_.push_back(o_.momentum != 0.0f ? slot(i, "momentum").data() : nullptr);
  }
}

void RMSprop::update(size_t i, Var& p) {
  backend(p.device()).rmsprop_update(p.value().data(), p.grad().data(), rms_[i], momentum_[i],
                                     p.value().numel(), lr_ptr(), group_size(i), o_.rho, o_.momentum, o_.epsilon);
}

Adam::Adam(std::vector<Var> params, AdamOptions o, int64_t groups)
    : Optimizer(std::move(params), o.lr, "Adam", groups), o_(o) {
  for (size_t i = 0; i < params_.size(); ++i) {
    m_.push_back(slot(i, "m").data());
    v_.push_back(slot(i, "v").data());
  }
}

void Adam::update(size_t i, Var& p) {
  backend(p.device()).adam_update(p.value().data(), p.grad().data(), m_[i], v_[i],
                                  p.value().numel(), lr_ptr(), group_size(i), step_ptr(), o_.beta1, o_.beta2,
                                  o_.epsilon);
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& kind, std::vector<Var> params, float lr, float momentum,
                                          bool nesterov, int64_t groups) {
  if (kind == "sgd")
    return std::make_unique<SGD>(std::move(params), SGDOptions{lr < 0 ? 0.01f : lr, momentum, nesterov}, groups);
  TOY_CHECK(momentum == 0.0f || kind == "rmsprop", "optimizer: --momentum applies to sgd and rmsprop, not '{}'", kind);
  if (kind == "rmsprop")
    return std::make_unique<RMSprop>(std::move(params), RMSpropOptions{lr < 0 ? 0.001f : lr, 0.9f, momentum, 1e-7f},
                                     groups);
  if (kind == "adam") return std::make_unique<Adam>(std::move(params), AdamOptions{lr < 0 ? 0.001f : lr}, groups);
  fail("optimizer: unknown '{}' (expected sgd, rmsprop or adam)", kind);
}

}  // namespace toy
