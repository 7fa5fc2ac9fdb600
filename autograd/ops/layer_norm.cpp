// layer_norm: each row of the last axis normalized to mean 0 and variance 1, then scaled by gamma and shifted by beta.
#include <cmath>

#include "autograd/ops.h"
#include "autograd/ops/common.h"

namespace toy {
using namespace opdetail;

Var layer_norm(const Var& x, const Var& gamma, const Var& beta, float eps) {
  check_input("layer_norm", "x", x);
  check_input("layer_norm", "gamma", gamma);
  check_input("layer_norm", "beta", beta);
  TOY_CHECK(x.shape().rank() >= 1, "layer_norm: x must have at least one axis, got ({})", x.shape().str());
  const int64_t n = x.shape()[-1];
  const int64_t rows = x.value().numel() / n;
  // gamma [N], or [G, N]: one row per group of rows / G consecutive rows of x (models stacked on a leading axis).
  const Shape& gs = gamma.shape();
  const int64_t groups = gs.rank() == 2 ? gs[0] : 1;
  TOY_CHECK((gs.rank() == 1 || gs.rank() == 2) && gs[-1] == n && groups > 0 && rows % groups == 0,
            "layer_norm: gamma ({}) must be [{}] (the last axis of x ({})), or [G, {}] with G dividing x's {} rows",
            gs.str(), n, x.shape().str(), n, rows);
  TOY_CHECK(beta.shape() == gs, "layer_norm: beta ({}) must have gamma's shape ({})", beta.shape().str(), gs.str());
  TOY_CHECK(std::isfinite(eps) && eps > 0.0f, "layer_norm: eps must be positive and finite, got {}", eps);
  Var out = detail::make_result("layer_norm", x.shape(), {x, gamma, beta});
  Node *X = x.node(), *G = gamma.node(), *B = beta.node(), *Y = out.node();
  // (mean, rstd) of each row, written by every forward (a replayed graph too) and read by the backward.
  Tensor stats = Tensor::empty(Shape{rows, 2}, x.device());
  Y->forward = [=]() mutable {
    be(Y).layer_norm_forward(X->value.data(), rows, n, groups, G->value.data(), B->value.data(), eps,
                             Y->value.data(), stats.data());
  };
  Y->forward();
  // forward: y = xhat gamma + beta, xhat = (x - mean) rstd
  //   =>  dx += rstd (g - mean_j g - xhat mean_j(g xhat)) with g = gamma dy;  dgamma += sum_r dy xhat;
  //       dbeta += sum_r dy
  if (Y->requires_grad)
    Y->backward = [=] {
      be(Y).layer_norm_backward(X->value.data(), G->value.data(), stats.data(), Y->grad.data(), rows, n, groups,
                                X->requires_grad ? X->grad.data() : nullptr,
                                G->requires_grad ? G->grad.data() : nullptr,
                                B->requires_grad ? B->grad.data() : nullptr);
    };
  return out;
}

}  // namespace toy
