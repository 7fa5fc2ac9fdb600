// compare_arrays: per-array max abs / rel difference with a pass/fail verdict.
#include "apps/lib/formats/compare.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

namespace toy {

namespace {
const Tensor* find(const NpzArrays& arrays, const std::string& name) {
  for (const auto& [k, t] : arrays)
    if (k == name) return &t;
  return nullptr;
}

ArrayDiff diff(const std::string& name, const Tensor& a, const Tensor& b, double atol, double rtol) {
  ArrayDiff d{name, "ok", a.shape().str(), b.shape().str()};
  if (a.shape() != b.shape()) {
    d.status = "shape";
    return d;
  }
  std::vector<float> x = a.to_vector(), y = b.to_vector();
  bool bad = false, nonfinite = false;
  for (size_t i = 0; i < x.size(); ++i) {
    const double xa = x[i], yb = y[i];
    if (!std::isfinite(xa) || !std::isfinite(yb)) {
      if (!(xa == yb)) {  // equal infinities pass; NaN never equals
        nonfinite = true;
        if (d.worst_index < 0) d.worst_index = static_cast<int64_t>(i), d.worst_a = xa, d.worst_b = yb;
      }
      continue;
    }
    const double err = std::abs(xa - yb);
    const double rel = err / std::max(std::abs(yb), 1e-30);
    if (err > d.max_abs || (err == d.max_abs && d.worst_index < 0)) {
      d.max_abs = err;
      if (!nonfinite) d.worst_index = static_cast<int64_t>(i), d.worst_a = xa, d.worst_b = yb;
    }
    if (err > 0) d.max_rel = std::max(d.max_rel, rel);
    if (err > atol + rtol * std::abs(yb)) bad = true;
  }
  d.status = nonfinite ? "nan" : bad ? "differs" : "ok";
  if (d.worst_index >= 0) d.worst_at = unravel_index(d.worst_index, a.shape().dims());
  return d;
}
}  // namespace

std::vector<int64_t> unravel_index(int64_t flat, const std::vector<int64_t>& dims) {
  std::vector<int64_t> at(dims.size());
  for (size_t k = dims.size(); k-- > 0;) {
    at[k] = dims[k] > 0 ? flat % dims[k] : 0;
    flat = dims[k] > 0 ? flat / dims[k] : 0;
  }
  return at;
}

std::string coords_text(const std::vector<int64_t>& at) { return fmt::format("[{}]", fmt::join(at, ",")); }

CompareResult compare_arrays(const NpzArrays& a, const NpzArrays& b, double atol, double rtol,
                             const std::vector<std::string>& only, bool allow_missing) {
  CompareResult r;
  auto wanted = [&](const std::string& n) { return only.empty() || std::find(only.begin(), only.end(), n) != only.end(); };
  for (const auto& [name, ta] : a) {
    if (!wanted(name)) continue;
    const Tensor* tb = find(b, name);
    if (!tb) {
      r.arrays.push_back({name, "only in A", ta.shape().str(), ""});
      r.ok = r.ok && allow_missing;
      continue;
    }
    r.arrays.push_back(diff(name, ta, *tb, atol, rtol));
    r.ok = r.ok && r.arrays.back().status == "ok";
  }
  for (const auto& [name, tb] : b) {
    if (!wanted(name) || find(a, name)) continue;
    r.arrays.push_back({name, "only in B", "", tb.shape().str()});
    r.ok = r.ok && allow_missing;
  }
  for (const auto& n : only)
    if (!find(a, n) && !find(b, n)) {
      r.arrays.push_back({n, "missing", "", ""});
      r.ok = false;
    }
  return r;
}

}  // namespace toy
