// Layer-by-layer comparison of two .npz dumps (ours against another port's, two runs, two devices).
#pragma once
#include <string>
#include <vector>

#include "core/npz.h"

namespace toy {

struct ArrayDiff {
  std::string name;
  std::string status;  // "ok", "differs", "shape" (shapes differ), "only in A", "only in B", "nan" (non-finite)
  std::string shape_a, shape_b;
  double max_abs = 0, max_rel = 0;  // rel = |a-b| / max(|b|, tiny)
  int64_t worst_index = -1;       // flat (row-major) index of the worst element, -1 when none
  std::vector<int64_t> worst_at{};  // the same as coordinates, one per axis ([] for a scalar)
  double worst_a = 0, worst_b = 0;
};

// The coordinates of a row-major flat index in `dims` (numpy's unravel_index).
std::vector<int64_t> unravel_index(int64_t flat, const std::vector<int64_t>& dims);
// "[1,3,2]"
std::string coords_text(const std::vector<int64_t>& at);

struct CompareResult {
  std::vector<ArrayDiff> arrays;  // A's order, then arrays only in B
  bool ok = true;                 // every common array within tolerance, same names and shapes
};

// An array passes when every element satisfies |a - b| <= atol + rtol * |b| (and both are finite, or equal
// non-finite values). Arrays present in only one file fail unless allow_missing.
CompareResult compare_arrays(const NpzArrays& a, const NpzArrays& b, double atol, double rtol,
                             const std::vector<std::string>& only = {}, bool allow_missing = false);

}  // namespace toy
