// The one registry of op test cases (ggml's test-backend-ops is the model). Each entry names an op's inputs and
// default shapes, generates seeded inputs at any shape, applies the op to Vars, and has a naive double-precision
// forward reference. It drives every op check: forward vs reference with NaN-filled outputs, the finite-difference
// gradient check and gradient accumulation (tests/test_ops.cpp), CPU-vs-CUDA parity (tests/test_parity.cpp), and
// the catalog of `toyformer gradcheck --list / --op` (apps/cmd_gradcheck.cpp).
//
// It lives in autograd/, beside gradcheck.h, rather than in tests/ or apps/lib/: the library cannot depend on tests/,
// the command and the tests must read the same list, and the registry depends on nothing above autograd (the ops,
// the gradient checker, core's tensors and RNG), so it stays usable whatever targets apps/ is split into.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "core/rng.h"

namespace toy::testing {

using Inputs = std::vector<Tensor>;
using Shapes = std::vector<Shape>;

// The sizes every case runs at besides its default shapes, off any block size (1, 33, 1025).
inline constexpr int64_t kOpSizes[] = {1, 33, 1025};

struct OpCase {
  std::string name;     // "<family>" or "<family>/<variant>"; [a-z0-9_/] only. The family is the op's name in ops.h.
  std::string formula;  // one line, shapes included (`gradcheck --list`)
  std::vector<std::string> input_names;
  std::vector<bool> differentiable;  // per input: parameter (checked) or constant (ids, targets)
  Shapes shapes;                     // default shapes: small and odd (B=2, T=5, E=7, H=3, V=11)
  // The input shapes with the case's size axis set to n, for each n in `sizes` (empty: default shapes only).
  std::function<Shapes(int64_t n)> sized;
  std::vector<int64_t> sizes;
  // Seeded inputs of the given shapes (ids drawn below the axis they index).
  std::function<Inputs(Rng&, const Shapes&)> make_inputs;
  GradFn fn;  // applies the op to Vars; reads sizes from the inputs' shapes
  // Naive forward reference on CPU tensors (plain loops, double accumulation), written from the documented formula.
  std::function<Tensor(const Inputs&)> reference;
  // Entries the gradient check skips (kinks, clip edges, masked or padding entries), decided from the inputs.
  std::function<bool(const Inputs&, size_t input, int64_t j)> skip;
  GradcheckOptions grad;  // eps / atol / rtol for this case (grad.skip unused: see skip)
  double fwd_atol = 1e-5, fwd_rtol = 1e-5;
  bool gpu_parity = true;  // CPU-vs-CUDA parity applies

  // "matmul/batched" -> "matmul".
  std::string family() const { return name.substr(0, name.find('/')); }
  // Default shapes, then sized(n) for each n in sizes.
  std::vector<Shapes> variants() const;
  // Inputs at `shapes` (default shapes when empty), seeded; throws when the count of shapes is wrong.
  Inputs inputs(uint64_t seed, const Shapes& shapes = {}) const;
  // grad with `skip` bound to these inputs (which must outlive the options).
  GradcheckOptions grad_options(const Inputs& in) const;
};

// The input builders the cases use, for tests that build inputs by hand: values uniform in [lo, hi), and integer ids
// in [lo, hi) stored as floats (all lo when the range is empty).
Tensor random_uniform(Rng& rng, const Shape& s, float lo = -1.0f, float hi = 1.0f);
Tensor random_ids(Rng& rng, const Shape& s, int64_t lo, int64_t hi);

const std::vector<OpCase>& op_cases();
// Exact name; throws "no case named ..." otherwise.
const OpCase& op_case(const std::string& name);
// The command's lookup: an exact case name, or a family name for that family's first case ("matmul" ->
// "matmul/2d"). Throws "unknown op '...'" listing the families.
const OpCase& op_case_or_family(const std::string& name);
// The registry's invariants (unique names made of [a-z0-9_/], one name and shape per input, at least one
// differentiable input, every callable set); throws naming the first broken case. op_cases() runs it once.
void check_op_cases(const std::vector<OpCase>& cases);

}  // namespace toy::testing
