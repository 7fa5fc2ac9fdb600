// The LayerNorm layer (layers/layer.h): Keras' defaults (gamma ones, beta zeros, epsilon 1e-3), its parameter names
// and order, a forward value worked by hand, its gradients, and its errors.
#include <doctest/doctest.h>

#include <cmath>

#include "core/error.h"
#include "layers/layer.h"

using namespace toy;

TEST_CASE("layers/layer_norm: Keras' defaults, parameter names and order") {
  LayerNorm ln("ln", 4);
  CHECK(ln.name() == "ln");
  CHECK(ln.type() == "LayerNormalization");
  CHECK(ln.eps() == 1e-3f);
  REQUIRE(ln.params().size() == 2);
  CHECK(ln.params()[0].name() == "ln/gamma");
  CHECK(ln.params()[1].name() == "ln/beta");
  CHECK(ln.gamma().node() == ln.params()[0].node());
  CHECK(ln.beta().node() == ln.params()[1].node());
  CHECK(ln.gamma().shape() == Shape{4});
  CHECK(ln.beta().shape() == Shape{4});
  CHECK(ln.gamma().value().to_vector() == std::vector<float>{1, 1, 1, 1});
  CHECK(ln.beta().value().to_vector() == std::vector<float>{0, 0, 0, 0});
  CHECK(ln.gamma().requires_grad());
  CHECK(ln.beta().requires_grad());
  CHECK(ln.param_count() == 8);
  CHECK(LayerNorm("pt", 3, 1e-5f).eps() == 1e-5f);
}

// x = (1, 3, 5, 7): mean 4, var (9 + 1 + 1 + 9) / 4 = 5, so xhat = (-3, -1, 1, 3) / sqrt(5 + 1e-3); then gamma and
// beta set to (2, 1, 1, 0.5) and (0, 1, -1, 0.25). The second row, x = (-2, -2, -2, -2), is constant: xhat = 0 and
// y = beta.
TEST_CASE("layers/layer_norm: a forward value by hand, named after the layer") {
  LayerNorm ln("norm", 4);
  Var x = Var::param(Tensor::from(Shape{1, 2, 4}, {1, 3, 5, 7, -2, -2, -2, -2}));
  Var y0 = ln(x);
  const double s = std::sqrt(5.0 + static_cast<double>(1e-3f));
  const double xhat[] = {-3 / s, -1 / s, 1 / s, 3 / s};
  CHECK(y0.name() == "norm");
  CHECK(y0.shape() == Shape{1, 2, 4});
  for (int64_t j = 0; j < 4; ++j) {
    CHECK(y0.value()[j] == doctest::Approx(xhat[j]).epsilon(1e-6));
    CHECK(y0.value()[4 + j] == 0.0f);
  }

  ln.gamma().value().copy_from(Tensor::from(Shape{4}, {2, 1, 1, 0.5f}));
  ln.beta().value().copy_from(Tensor::from(Shape{4}, {0, 1, -1, 0.25f}));
  Var y = ln(x);
  const double gamma[] = {2, 1, 1, 0.5}, beta[] = {0, 1, -1, 0.25};
  for (int64_t j = 0; j < 4; ++j) {
    CHECK(y.value()[j] == doctest::Approx(xhat[j] * gamma[j] + beta[j]).epsilon(1e-6));
    CHECK(y.value()[4 + j] == static_cast<float>(beta[j]));
  }

  // d sum(y) / d beta = 2 (two rows), / d gamma = the column sums of xhat (row 1's is 0).
  backward(sum(y));
  for (int64_t j = 0; j < 4; ++j) {
    CHECK(ln.beta().grad()[j] == 2.0f);
    CHECK(ln.gamma().grad()[j] == doctest::Approx(xhat[j]).epsilon(1e-6));
  }
}

TEST_CASE("layers/layer_norm: errors name the layer and the shapes") {
  LayerNorm ln("ln", 7);
  CHECK_THROWS_WITH_AS(ln(Var::constant(Tensor::zeros(Shape{2, 5, 6}))),
                       doctest::Contains("LayerNorm 'ln': input (2x5x6) must end in 7 features"), Error);
  CHECK_THROWS_WITH_AS(ln(Var()), doctest::Contains("LayerNorm 'ln': input (undefined)"), Error);
  CHECK(ln(Var::constant(Tensor::zeros(Shape{7}))).shape() == Shape{7});
  CHECK_THROWS_WITH_AS(LayerNorm("bad", 0), doctest::Contains("LayerNorm 'bad': the normalized axis must be positive"),
                       Error);
  CHECK_THROWS_WITH_AS(LayerNorm("bad", 3, 0.0f), doctest::Contains("LayerNorm 'bad': eps must be positive and finite"),
                       Error);
}
