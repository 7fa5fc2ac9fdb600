// Var, grad mode, Graph.
#include "autograd/var.h"

#include <unordered_set>

#include "core/backend.h"
#include "core/error.h"

namespace toy {
namespace {
thread_local bool g_grad_enabled = true;
}

Var Var::param(Tensor value, std::string name) {
  TOY_CHECK(value.defined(), "param: undefined tensor for '{}'", name);
  auto n = std::make_shared<Node>();
  n->value = std::move(value);
  n->name = std::move(name);
  n->requires_grad = true;
  n->is_param = true;
  return Var(std::move(n));
}

Var Var::constant(Tensor value, std::string name) {
  TOY_CHECK(value.defined(), "constant: undefined tensor for '{}'", name);
  auto n = std::make_shared<Node>();
  n->value = std::move(value);
  n->name = std::move(name);
  return Var(std::move(n));
}

Tensor& Var::grad() const {
  TOY_CHECK(node_ && node_->grad.defined(), "grad: '{}' ({}) has no gradient (requires_grad={}, run backward first)",
            node_ ? node_->name : "", node_ ? node_->op : "undefined", node_ && node_->requires_grad);
  return node_->grad;
}

Var& Var::named(std::string n) {
  node_->name = std::move(n);
  return *this;
}

NoGradGuard::NoGradGuard() : prev_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = prev_; }
bool grad_enabled() { return g_grad_enabled; }

namespace detail {

Var make_result(const char* op, const Shape& shape, std::vector<Var> inputs) {
  auto n = std::make_shared<Node>();
  n->op = op;
  Device dev = inputs.empty() ? Device::CPU : inputs[0].device();
  bool rg = false;
  for (const Var& v : inputs) {
    TOY_CHECK(v.defined(), "{}: undefined input", op);
    TOY_CHECK(v.device() == dev, "{}: inputs on different devices ({} and {})", op, device_name(dev),
              device_name(v.device()));
    rg = rg || v.requires_grad();
    n->inputs.push_back(v.ptr());
  }
  n->requires_grad = rg && g_grad_enabled;
  n->value = Tensor::empty(shape, dev);
  return Var(std::move(n));
}

void ensure_grad(Node* n) {
  if (!n->grad.defined() || n->grad.shape() != n->value.shape() || n->grad.device() != n->value.device())
    n->grad = Tensor::zeros(n->value.shape(), n->value.device());
}

}  // namespace detail

Graph::Graph(const Var& root, const std::vector<Var>& also) : root_(root) {
  TOY_CHECK(root.defined(), "graph: undefined root");
  // Iterative post-order DFS from each output: inputs before the nodes that use them.
  std::unordered_set<Node*> seen;
  auto visit = [&](const std::shared_ptr<Node>& start) {
    if (!seen.insert(start.get()).second) return;
    std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack{{start, 0}};
    while (!stack.empty()) {
      auto& [n, i] = stack.back();
      if (i < n->inputs.size()) {
        const std::shared_ptr<Node>& c = n->inputs[i++];
        if (seen.insert(c.get()).second) stack.push_back({c, 0});
      } else {
        order_.push_back(n.get());
        keep_.push_back(n);
        stack.pop_back();
      }
    }
  };
  visit(root.ptr());
  // The root's ancestors are exactly the nodes visited so far.
  backward_order_.assign(order_.rbegin(), order_.rend());
  for (const Var& v : also) {
    TOY_CHECK(v.defined(), "graph: undefined extra output");
    visit(v.ptr());
  }
  for (Node* n : order_)
    if (n->requires_grad) detail::ensure_grad(n);
}

void Graph::forward() {
  for (Node* n : order_)
    if (n->forward) n->forward();
}

void Graph::backward(const Tensor* seed) {
  Node* r = root_.node();
  TOY_CHECK(r->requires_grad, "backward: the root ({}) does not require grad (no parameter feeds it, or no-grad mode)",
            r->op);
  if (!seed)
    TOY_CHECK(r->value.numel() == 1, "backward: the root must be a scalar without a seed, got ({})",
              r->value.shape().str());
  for (Node* n : backward_order_)
    if (n->requires_grad && n->forward && !n->grad_is_view) n->grad.fill(0.0f);
  if (seed)
    TOY_CHECK(seed->shape() == r->value.shape() && seed->device() == r->value.device(),
              "backward: seed ({}, {}) does not match the root ({}, {})", seed->shape().str(),
              device_name(seed->device()), r->value.shape().str(), device_name(r->value.device()));
  if (r->grad_is_view) {
    // The root is a view (reshape) of another node's gradient: add the seed into it rather than overwrite it.
    Backend& be = backend(r->value.device());
    if (seed)
      be.add_backward(seed->data(), seed->numel(), seed->numel(), seed->numel(), r->grad.data(), nullptr);
    else
      be.increment(r->grad.data(), 1.0f);
  } else if (seed) {
    r->grad.copy_from(*seed);
  } else {
    r->grad.fill(1.0f);
  }
  for (Node* n : backward_order_)
    if (n->requires_grad && n->backward) n->backward();
}

void Graph::zero_grad() {
  for (Node* n : order_)
    if (n->requires_grad && !n->forward) n->grad.fill(0.0f);
}

std::vector<Var> Graph::params() const {
  std::vector<Var> out;
  for (const auto& n : keep_)
    if (n->requires_grad && !n->forward) out.push_back(Var(n));
  return out;
}

void backward(const Var& root) {
  TOY_CHECK(root.defined() && root.requires_grad(),
            "backward: the root ({}) does not require grad (no parameter feeds it, or no-grad mode)",
            root.defined() ? root.op() : "undefined");
  Graph g(root);
  g.backward();
}

}  // namespace toy
