// add: y = a + b, the smaller operand broadcast over the leading axes of the larger, or over one run of its middle
// axes (b [M, 1, F] added to a [M, R, F]: a per-model bias of stacked models).
#include <optional>

#include "autograd/ops.h"
#include "autograd/ops/common.h"

namespace toy {
using namespace opdetail;

namespace {

// How `small` broadcasts over `big`: small's shape, padded with leading 1s to big's rank, must equal big's except on
// one run of consecutive axes where it is 1 (big [G..., R..., S...], small [G..., 1..., S...]). Returns the size
// of the axes after that run (S; the whole small shape when it matches big's trailing axes), or nothing.
std::optional<int64_t> broadcast_inner(const Shape& big, const Shape& small) {
  const int rank = big.rank(), pad = rank - small.rank();
  if (pad < 0) return std::nullopt;
  auto dim = [&](int i) { return i < pad ? int64_t{1} : small[i - pad]; };
  int first = -1, last = -1;  // the axes where the shapes differ
  for (int i = 0; i < rank; ++i)
    if (dim(i) != big[i]) {
      if (dim(i) != 1) return std::nullopt;
      if (first < 0) first = i;
      last = i;
    }
  if (first < 0) return small.numel();
  for (int i = first; i <= last; ++i)
    if (dim(i) != 1) return std::nullopt;  // a matching axis inside the run: two runs
  return big.prod(last + 1, rank);
}

}  // namespace

Var add(const Var& a, const Var& b) {
  check_input("add", "a", a);
  check_input("add", "b", b);
  const int64_t na = a.value().numel(), nb = b.value().numel();
  const bool a_big = na > nb || (na == nb && a.shape().rank() >= b.shape().rank());
  const Var& big = a_big ? a : b;
  const Var& small = a_big ? b : a;
  const std::optional<int64_t> inner = broadcast_inner(big.shape(), small.shape());
  TOY_CHECK(inner.has_value(),
            "add: ({}) and ({}) cannot be broadcast (the smaller shape must match the larger's trailing axes, or "
            "equal it but for 1s on one run of axes, e.g. [M,R,F] + [M,1,F])",
            a.shape().str(), b.shape().str());
  Var out = detail::make_result("add", big.shape(), {big, small});
  Node *G = big.node(), *S = small.node(), *Y = out.node();
  const int64_t ng = big.value().numel(), ns = small.value().numel(), in = *inner;
  Y->forward = [=] { be(Y).add_forward(G->value.data(), ng, S->value.data(), ns, in, Y->value.data()); };
  Y->forward();
  if (Y->requires_grad)
    Y->backward = [=] {
      // d big += dy; d small += dy summed over the broadcast axes.
      be(Y).add_backward(Y->grad.data(), ng, ns, in, G->requires_grad ? G->grad.data() : nullptr,
                         S->requires_grad ? S->grad.data() : nullptr);
    };
  return out;
}

}  // namespace toy
