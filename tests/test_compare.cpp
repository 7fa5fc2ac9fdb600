// compare_arrays: the passing case, each way of failing, tolerances, and where the worst element is (CLI included).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "apps/lib/formats/compare.h"
#include "tests/cli_util.h"

using namespace toy;

TEST_CASE("compare/arrays: identical and within tolerance pass") {
  NpzArrays a{{"x", Tensor::from(Shape{3}, {1, 2, 3})}, {"y", Tensor::from(Shape{1}, {10})}};
  NpzArrays b{{"x", Tensor::from(Shape{3}, {1, 2, 3.00001f})}, {"y", Tensor::from(Shape{1}, {10})}};
  CompareResult r = compare_arrays(a, b, 1e-4, 0);
  CHECK(r.ok);
  REQUIRE(r.arrays.size() == 2);
  CHECK(r.arrays[0].max_abs == doctest::Approx(1e-5).epsilon(0.1));
  CHECK(r.arrays[0].worst_index == 2);
  CHECK(r.arrays[1].max_abs == 0);
}

TEST_CASE("compare/arrays: differences, shapes, missing arrays and NaN fail") {
  NpzArrays a{{"x", Tensor::from(Shape{3}, {1, 2, 3})}, {"s", Tensor::zeros(Shape{2, 3})},
              {"n", Tensor::from(Shape{2}, {std::numeric_limits<float>::quiet_NaN(), 1})}, {"onlya", Tensor::zeros(Shape{1})}};
  NpzArrays b{{"x", Tensor::from(Shape{3}, {1, 2.5f, 3})}, {"s", Tensor::zeros(Shape{3, 2})},
              {"n", Tensor::from(Shape{2}, {0, 1})}, {"onlyb", Tensor::zeros(Shape{1})}};
  CompareResult r = compare_arrays(a, b, 1e-5, 1e-4);
  CHECK_FALSE(r.ok);
  REQUIRE(r.arrays.size() == 5);
  CHECK(r.arrays[0].status == "differs");
  CHECK(r.arrays[0].max_abs == doctest::Approx(0.5));
  CHECK(r.arrays[0].max_rel == doctest::Approx(0.2));
  CHECK(r.arrays[0].worst_index == 1);
  CHECK(r.arrays[1].status == "shape");
  CHECK(r.arrays[2].status == "nan");
  CHECK(r.arrays[3].status == "only in A");
  CHECK(r.arrays[4].status == "only in B");
  // Restricting to the arrays that agree passes.
  CHECK(compare_arrays(a, b, 1e-5, 1e-4, {"x"}).ok == false);
  NpzArrays c{{"x", Tensor::from(Shape{3}, {1, 2, 3})}};
  CHECK(compare_arrays(a, c, 0, 0, {"x"}).ok);
  CHECK(compare_arrays(a, c, 0, 0, {}, true).ok);
  CHECK_FALSE(compare_arrays(a, c, 0, 0, {"nope"}).ok);
}

TEST_CASE("compare/arrays: relative tolerance is taken against B") {
  NpzArrays a{{"x", Tensor::from(Shape{1}, {101})}};
  NpzArrays b{{"x", Tensor::from(Shape{1}, {100})}};
  CHECK(compare_arrays(a, b, 0, 0.011).ok);
  CHECK_FALSE(compare_arrays(a, b, 0, 0.009).ok);
}

TEST_CASE("compare/coordinates: the worst element is named by its index on every axis") {
  CHECK(unravel_index(0, {2, 3, 4}) == std::vector<int64_t>{0, 0, 0});
  CHECK(unravel_index(1 * 12 + 2 * 4 + 3, {2, 3, 4}) == std::vector<int64_t>{1, 2, 3});
  CHECK(unravel_index(0, {}).empty());
  CHECK(coords_text({1, 3, 2}) == "[1,3,2]");
  std::vector<float> x(2 * 4 * 3, 0.0f), y = x;
  y[1 * 12 + 3 * 3 + 2] = 0.5f;  // [1,3,2] of a 2x4x3 array
  CompareResult r = compare_arrays({{"a", Tensor::from(Shape{2, 4, 3}, x)}}, {{"a", Tensor::from(Shape{2, 4, 3}, y)}},
                                   1e-5, 0);
  REQUIRE(r.arrays.size() == 1);
  CHECK(r.arrays[0].worst_index == 23);
  CHECK(r.arrays[0].worst_at == std::vector<int64_t>{1, 3, 2});
}

TEST_CASE("compare/cli: the table and --json give the worst element's coordinates") {
  const auto dir = testing::scratch_dir("compare");
  std::vector<float> x(2 * 4 * 3, 1.0f), y = x;
  y[1 * 12 + 3 * 3 + 2] = 1.5f;
  save_npz((dir / "a.npz").string(), {{"w", Tensor::from(Shape{2, 4, 3}, x)}});
  save_npz((dir / "b.npz").string(), {{"w", Tensor::from(Shape{2, 4, 3}, y)}});
  const std::string files = (dir / "a.npz").string() + " " + (dir / "b.npz").string();
  testing::CliRun t = testing::run_cli("compare " + files, "compare");
  CHECK(t.code == 1);
  CHECK_MESSAGE(t.out.find("(worst at [1,3,2]: 1 vs 1.5)") != std::string::npos, t.out);
  testing::CliRun j = testing::run_cli("compare --json " + files, "compare");
  CHECK(j.code == 1);
  const nlohmann::json o = nlohmann::json::parse(j.out);
  CHECK(o["arrays"][0]["worst_index"] == 23);
  CHECK(o["arrays"][0]["worst_at"] == nlohmann::json({1, 3, 2}));
}
