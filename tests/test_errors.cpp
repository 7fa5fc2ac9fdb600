// Bad input is refused at op entry with a message that names the op, the shapes and what was expected.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "core/error.h"

using namespace toy;

namespace {

Var param(const Shape& s, float v = 0.5f) { return Var::param(Tensor::full(s, v)); }
Var constant(const Shape& s, float v = 0.0f) { return Var::constant(Tensor::full(s, v)); }
Var constant(const Shape& s, std::initializer_list<float> v) { return Var::constant(Tensor::from(s, v)); }
doctest::Contains contains(const std::string& s) { return doctest::Contains(s.c_str()); }

}  // namespace

TEST_CASE("errors/matmul: shapes that cannot be multiplied") {
  CHECK_THROWS_WITH_AS(matmul(param({2, 5, 7}), param({3, 20})),
                       doctest::Contains("matmul: (2x5x7) and (3x20) cannot be multiplied (inner dimensions differ)"),
                       Error);
  CHECK_THROWS_WITH_AS(matmul(param({5, 7}), param({5, 7})),
                       doctest::Contains("matmul: (5x7) and (5x7) cannot be multiplied"), Error);
  // The transpose flags show in the message.
  CHECK_THROWS_WITH_AS(matmul(param({2, 5, 3}), param({2, 5, 4}), false, true),
                       doctest::Contains("matmul: (2x5x3) and (2x5x4)ᵀ cannot be multiplied"), Error);
  CHECK_THROWS_WITH_AS(matmul(param({7, 5}), param({5, 3}), true, false),
                       doctest::Contains("matmul: (7x5)ᵀ and (5x3) cannot be multiplied"), Error);
  // Batch axes must agree when both operands are batched.
  CHECK_THROWS_WITH_AS(matmul(param({2, 5, 7}), param({3, 7, 4})),
                       doctest::Contains("matmul: (2x5x7) and (3x7x4) cannot be multiplied (batch axes differ)"),
                       Error);
  CHECK_THROWS_WITH_AS(matmul(param({2, 3, 5, 7}), param({6, 7, 4})),
                       doctest::Contains("matmul: (2x3x5x7) and (6x7x4) cannot be multiplied (batch axes differ)"),
                       Error);
  // Vectors are not matrices.
  CHECK_THROWS_WITH_AS(matmul(param({7}), param({7, 3})),
                       doctest::Contains("matmul: (7) and (7x3) cannot be multiplied (both operands need at least 2"),
                       Error);
}

TEST_CASE("errors/add: shapes that cannot be broadcast") {
  CHECK_THROWS_WITH_AS(add(param({2, 5, 7}), param({5, 6})),
                       doctest::Contains("add: (2x5x7) and (5x6) cannot be broadcast"), Error);
  CHECK_THROWS_WITH_AS(add(param({6}), param({2, 5, 7})),
                       doctest::Contains("add: (6) and (2x5x7) cannot be broadcast"), Error);
  // Same rank, different shape: neither is a suffix of the other.
  CHECK_THROWS_WITH_AS(add(param({2, 5, 7}), param({3, 5, 7})),
                       doctest::Contains("add: (2x5x7) and (3x5x7) cannot be broadcast"), Error);
  // Axes of 1 broadcast on one run of axes only ([2,5,7] + [1,7] and + [2,1,7] do): two runs are refused.
  CHECK_THROWS_WITH_AS(add(param({2, 5, 7}), param({5, 1})),
                       doctest::Contains("add: (2x5x7) and (5x1) cannot be broadcast"), Error);
  CHECK_THROWS_WITH_AS(add(param({2, 5, 7}), param({2, 5, 1, 1})),
                       doctest::Contains("add: (2x5x7) and (2x5x1x1) cannot be broadcast"), Error);
  CHECK(add(param({2, 5, 7}), param({1, 7})).shape() == Shape{2, 5, 7});
  CHECK(add(param({2, 1, 7}), param({2, 5, 7})).shape() == Shape{2, 5, 7});
}

TEST_CASE("errors/embedding: bad ids and tables") {
  Var table = param({11, 7});
  // An id past the table.
  CHECK_THROWS_WITH_AS(embedding(constant({2, 3}, {0, 1, 2, 11, 4, 5}), table),
                       doctest::Contains("embedding: ids[3] = 11 is out of range [0, 11)"), Error);
  // Not an integer.
  CHECK_THROWS_WITH_AS(embedding(constant({3}, {1, 2.5f, 3}), table),
                       doctest::Contains("embedding: ids[1] = 2.5 is not an integer id"), Error);
  CHECK_THROWS_WITH_AS(embedding(constant({2}, {std::numeric_limits<float>::quiet_NaN(), 1}), table),
                       doctest::Contains("embedding: ids[0] = nan is not an integer id"), Error);
  CHECK_THROWS_WITH_AS(embedding(constant({2}, {1, std::numeric_limits<float>::infinity()}), table),
                       doctest::Contains("embedding: ids[1] = inf is not an integer id"), Error);
  // Negative.
  CHECK_THROWS_WITH_AS(embedding(constant({3}, {1, 0, -1}), table),
                       doctest::Contains("embedding: ids[2] = -1 is out of range [0, 11)"), Error);
  // Ids that require grad.
  CHECK_THROWS_WITH_AS(embedding(param({2, 5}, 1.0f), table),
                       doctest::Contains("embedding: ids (2x5) must be a constant"), Error);
  // A table that is not [V, E].
  CHECK_THROWS_WITH_AS(embedding(constant({2}), param({11, 7, 2})),
                       doctest::Contains("embedding: table must be [V, E], got (11x7x2)"), Error);
  CHECK_THROWS_WITH_AS(embedding(constant({2}), param({11})),
                       doctest::Contains("embedding: table must be [V, E], got (11)"), Error);
  // padding_idx outside [-1, V).
  CHECK_THROWS_WITH_AS(embedding(constant({2}), table, 11),
                       doctest::Contains("embedding: padding_idx 11 out of range [-1, 11)"), Error);
  CHECK_THROWS_WITH_AS(embedding(constant({2}), table, -2),
                       doctest::Contains("embedding: padding_idx -2 out of range [-1, 11)"), Error);
}

TEST_CASE("errors/cross_entropy: targets that do not match the predictions") {
  using Fn = Var (*)(const Var&, const Var&, int64_t);
  const std::pair<const char*, Fn> ops[] = {{"sparse_ce_logits", sparse_ce_logits},
                                            {"sparse_ce_probs", sparse_ce_probs}};
  for (const auto& name_op : ops) {
    const char* name = name_op.first;  // not a structured binding: clang 14 cannot capture one in CAPTURE's lambda
    const Fn op = name_op.second;
    CAPTURE(name);
    const std::string n = name;
    Var pred = param({2, 5, 11}, 0.1f);
    CHECK_THROWS_WITH_AS(op(pred, constant({2, 4}), 0),
                         contains(n + ": predictions (2x5x11) and targets (2x4) do not match (expected "
                                               "targets of shape (2x5))"),
                         Error);
    CHECK_THROWS_WITH_AS(op(pred, constant({2, 5, 11}), 0),
                         contains(n + ": predictions (2x5x11) and targets (2x5x11) do not match"), Error);
    CHECK_THROWS_WITH_AS(op(pred, constant({2, 5}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 11}), 0),
                         contains(n + ": targets[9] = 11 is out of range [0, 11)"), Error);
    CHECK_THROWS_WITH_AS(op(pred, constant({2, 5}, {0, 1, 2, 3, 4, 5, 6, -3, 8, 9}), 0),
                         contains(n + ": targets[7] = -3 is out of range [0, 11)"), Error);
    CHECK_THROWS_WITH_AS(op(pred, constant({2, 5}, {0, 1, 2, 3, 0.5f, 5, 6, 7, 8, 9}), 0),
                         contains(n + ": targets[4] = 0.5 is not an integer id"), Error);
    CHECK_THROWS_WITH_AS(op(pred, param({2, 5}, 1.0f), 0), contains(n + ": targets must be a constant"),
                         Error);
    CHECK_THROWS_WITH_AS(op(pred, constant({2, 5}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}), 3),
                         contains(n + ": 10 positions cannot be split into 3 equal groups"), Error);
  }
}

TEST_CASE("errors/softmax: masks of the wrong shape or with values other than 0 and 1") {
  Var x = param({2, 5, 5});
  CHECK_THROWS_WITH_AS(softmax(x, causal_mask(4)),
                       doctest::Contains("softmax: mask (4x4) must match the trailing axes of x (2x5x5)"), Error);
  CHECK_THROWS_WITH_AS(softmax(x, Tensor::full(Shape{3, 5, 5}, 1.0f)),
                       doctest::Contains("softmax: mask (3x5x5) must match the trailing axes of x (2x5x5)"), Error);
  CHECK_THROWS_WITH_AS(softmax(x, Tensor::full(Shape{2, 2, 5, 5}, 1.0f)),
                       doctest::Contains("softmax: mask (2x2x5x5) must match the trailing axes of x (2x5x5)"), Error);
  CHECK_THROWS_WITH_AS(softmax(x, Tensor::scalar(1.0f)),
                       doctest::Contains("softmax: mask (()) must match the trailing axes of x (2x5x5)"), Error);
  Tensor half = causal_mask(5);
  half[3] = 0.5f;
  CHECK_THROWS_WITH_AS(softmax(x, half), doctest::Contains("softmax: mask values must be 0 or 1, got 0.5"), Error);
  Tensor neg = Tensor::full(Shape{5}, 1.0f);
  neg[0] = -1.0f;
  CHECK_THROWS_WITH_AS(softmax(x, neg), doctest::Contains("softmax: mask values must be 0 or 1, got -1"), Error);
  CHECK_THROWS_WITH_AS(causal_mask(0), doctest::Contains("causal_mask: size must be positive, got 0"), Error);
}

// Every op refuses an input with no elements, naming itself, the argument and its shape.
TEST_CASE("errors/empty: every op refuses tensors with no elements") {
  const Shape empty{2, 0, 7};
  const Shape ok{2, 5, 7};
  struct Case {
    const char* what;
    std::function<Var()> call;
  };
  const std::vector<Case> cases = {
      {"embedding: ids is empty (0)", [] { return embedding(constant({0}), param({11, 7})); }},
      {"embedding: table is empty (0x7)", [] { return embedding(constant({2}), param({0, 7})); }},
      {"add: a is empty (2x0x7)", [&] { return add(param(empty), param(ok)); }},
      {"add: b is empty (2x0x7)", [&] { return add(param(ok), param(empty)); }},
      {"scale: x is empty (2x0x7)", [&] { return scale(param(empty), 2.0f); }},
      {"matmul: a is empty (2x0x7)", [&] { return matmul(param(empty), param({7, 3})); }},
      {"matmul: b is empty (7x0)", [&] { return matmul(param(ok), param({7, 0})); }},
      {"softmax: x is empty (2x0x7)", [&] { return softmax(param(empty)); }},
      {"softmax: x is empty (2x5x0)", [&] { return softmax(param({2, 5, 0})); }},
      {"sigmoid: x is empty (2x0x7)", [&] { return sigmoid(param(empty)); }},
      {"tanh: x is empty (2x0x7)", [&] { return tanh(param(empty)); }},
      {"relu: x is empty (2x0x7)", [&] { return relu(param(empty)); }},
      {"sum: x is empty (2x0x7)", [&] { return sum(param(empty)); }},
      {"mean: x is empty (2x0x7)", [&] { return mean(param(empty)); }},
      {"sparse_ce_logits: predictions is empty (2x0x11)",
       [] { return sparse_ce_logits(param({2, 0, 11}), constant({2, 0})); }},
      {"sparse_ce_probs: predictions is empty (2x0x11)",
       [] { return sparse_ce_probs(param({2, 0, 11}), constant({2, 0})); }},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    CHECK_THROWS_WITH_AS(c.call(), doctest::Contains(c.what), Error);
  }
}

TEST_CASE("errors/tensor: reshape and from with the wrong number of elements") {
  Tensor t = Tensor::zeros(Shape{2, 5, 7});
  CHECK_THROWS_WITH_AS(t.reshape(Shape{3, 20}), doctest::Contains("reshape: (2x5x7) cannot be viewed as (3x20)"),
                       Error);
  CHECK_THROWS_WITH_AS(t.reshape(Shape{}), doctest::Contains("reshape: (2x5x7) cannot be viewed as (())"), Error);
  CHECK_NOTHROW(t.reshape(Shape{10, 7}));
  CHECK_THROWS_WITH_AS(Tensor::from(Shape{2, 3}, {1, 2, 3, 4, 5}),
                       doctest::Contains("tensor: 5 values given for shape (2x3) of 6"), Error);
  CHECK_THROWS_WITH_AS(t.item(), doctest::Contains("item: tensor of shape (2x5x7) is not a single value"), Error);
}

TEST_CASE("errors/autograd: bad seeds, undefined inputs, non-finite scale") {
  Var w = param({2, 3});
  Var y = sigmoid(w);
  CHECK_THROWS_WITH_AS(backward(y), doctest::Contains("backward: the root must be a scalar without a seed, got (2x3)"),
                       Error);
  Tensor seed = Tensor::full(Shape{3, 2}, 1.0f);
  CHECK_THROWS_WITH_AS(Graph(y).backward(&seed),
                       doctest::Contains("backward: seed (3x2, cpu) does not match the root (2x3, cpu)"), Error);
  CHECK_THROWS_WITH_AS(sigmoid(Var()), doctest::Contains("sigmoid: x is undefined"), Error);
  CHECK_THROWS_WITH_AS(matmul(w, Var()), doctest::Contains("matmul: b is undefined"), Error);
  CHECK_THROWS_WITH_AS(scale(w, INFINITY), doctest::Contains("scale: the constant must be finite, got inf"), Error);
  CHECK_THROWS_WITH_AS(scale(w, NAN), doctest::Contains("scale: the constant must be finite, got nan"), Error);
  CHECK_THROWS_WITH_AS(Var::param(Tensor(), "w"), doctest::Contains("param: undefined tensor for 'w'"), Error);
  CHECK_THROWS_WITH_AS(Graph{Var()}, doctest::Contains("graph: undefined root"), Error);
  CHECK_THROWS_WITH_AS(gradcheck([](const std::vector<Var>& v) { return v[0]; }, {Tensor::zeros(Shape{2})}, {}),
                       doctest::Contains("gradcheck: 1 inputs but 0 differentiable flags"), Error);
}
