// The axes of a sweep's grid: names, flags, ranges, parsing and the values' texts.
#include "apps/lib/sweep/grid.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "core/error.h"

namespace toy {
namespace {

enum class Kind { Int, Bool, Norm };

struct AxisInfo {
  const char* name;
  const char* flag;
  Kind kind;
  int64_t lo, hi;  // Int: the flag's range
};

// The ranges are the flags' (apps/training_flags.h: --H, add_arch_flags).
const std::vector<AxisInfo>& axes() {
  static const std::vector<AxisInfo> a{
      {"H", "--H", Kind::Int, 1, int64_t{1} << 30},   {"heads", "--heads", Kind::Int, 1, 64},
      {"layers", "--layers", Kind::Int, 1, 16},       {"ffn", "--ffn", Kind::Int, 0, 4096},
      {"norm", "--norm", Kind::Norm, 0, 1},           {"wo", "--wo", Kind::Bool, 0, 1},
      {"pos", "--no-pos", Kind::Bool, 0, 1},          {"residual", "--no-residual", Kind::Bool, 0, 1},
      {"mask", "--no-mask", Kind::Bool, 0, 1}};
  return a;
}

const AxisInfo* find_axis(const std::string& name) {
  for (const AxisInfo& a : axes())
    if (name == a.name) return &a;
  return nullptr;
}

const AxisInfo& axis_info(const std::string& name) {
  const AxisInfo* a = find_axis(name);
  TOY_CHECK(a, "--grid: unknown axis '{}' (axes: {})", name, fmt::join(grid_axis_names(), ", "));
  return *a;
}

// "heads=1,2" -> ("heads", "1,2"); errors quote the word.
std::pair<std::string, std::string> split_word(const std::string& word) {
  const size_t eq = word.find('=');
  TOY_CHECK(eq != std::string::npos && eq > 0, "--grid: '{}' is not AXIS=V1,V2,... (e.g. heads=1,2,4; axes: {})", word,
            fmt::join(grid_axis_names(), ", "));
  return {word.substr(0, eq), word.substr(eq + 1)};
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (true) {
    const size_t j = s.find(',', i);
    out.push_back(s.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) return out;
    i = j + 1;
  }
}

}  // namespace

const std::vector<std::string>& grid_axis_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const AxisInfo& a : axes()) n.push_back(a.name);
    return n;
  }();
  return names;
}

std::string axis_flag(const std::string& axis) { return axis_info(axis).flag; }

bool is_boolean_axis(const std::string& axis) { return axis_info(axis).kind == Kind::Bool; }

int64_t parse_axis_value(const std::string& axis, const std::string& text, const std::string& where) {
  const AxisInfo& a = axis_info(axis);
  if (a.kind == Kind::Bool) {
    TOY_CHECK(text == "true" || text == "false", "{} {}: '{}' is not true or false", where, axis, text);
    return text == "true";
  }
  if (a.kind == Kind::Norm) {
    TOY_CHECK(text == "none" || text == "layer", "{} {}: '{}' is not none or layer", where, axis, text);
    return text == "layer";
  }
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  TOY_CHECK(!text.empty() && end == text.c_str() + text.size() && errno != ERANGE,
            "{} {}: '{}' is not an integer in [{}, {}]", where, axis, text, a.lo, a.hi);
  TOY_CHECK(v >= a.lo && v <= a.hi, "{} {}: {} is outside the valid range [{}, {}]", where, axis, v, a.lo, a.hi);
  return v;
}

void check_axis(const GridAxis& a, const std::string& where) {
  const AxisInfo* info = find_axis(a.name);
  TOY_CHECK(info, "{}: unknown axis '{}' (axes: {})", where, a.name, fmt::join(grid_axis_names(), ", "));
  TOY_CHECK(!a.values.empty(), "{} {}: empty list", where, a.name);
  for (size_t i = 0; i < a.values.size(); ++i) {
    const int64_t v = a.values[i];
    TOY_CHECK(v >= info->lo && v <= info->hi, "{} {}: {} is outside the valid range [{}, {}]", where, a.name, v,
              info->lo, info->hi);
    TOY_CHECK(std::find(a.values.begin(), a.values.begin() + static_cast<std::ptrdiff_t>(i), v) ==
                  a.values.begin() + static_cast<std::ptrdiff_t>(i),
              "{} {}: {} is listed twice", where, a.name, axis_value_text(a.name, v));
  }
}

std::vector<GridAxis> parse_grid(const std::vector<std::string>& words) {
  std::vector<GridAxis> out;
  for (const std::string& w : words) {
    auto [name, list] = split_word(w);
    (void)axis_info(name);
    for (const GridAxis& g : out) TOY_CHECK(g.name != name, "--grid: the axis '{}' is given twice", name);
    TOY_CHECK(!list.empty(), "--grid {}: empty list (e.g. {}={})", name, name,
              is_boolean_axis(name) ? "true,false" : name == "norm" ? "none,layer" : "1,2");
    GridAxis g{name, {}};
    for (const std::string& t : split_commas(list)) {
      const int64_t v = parse_axis_value(name, t, "--grid");
      TOY_CHECK(std::find(g.values.begin(), g.values.end(), v) == g.values.end(), "--grid {}: {} is listed twice",
                name, t);
      g.values.push_back(v);
    }
    out.push_back(std::move(g));
  }
  return out;
}

std::string axis_value_text(const std::string& axis, int64_t v) {
  switch (axis_info(axis).kind) {
    case Kind::Bool: return v ? "true" : "false";
    case Kind::Norm: return v ? "layer" : "none";
    default: return fmt::format("{}", v);
  }
}

std::string axis_values_text(const GridAxis& a) {
  std::vector<std::string> texts;
  for (int64_t v : a.values) texts.push_back(axis_value_text(a.name, v));
  return fmt::format("{}", fmt::join(texts, ","));
}

int64_t axis_value(const std::string& axis, int64_t H, const ToyArch& a) {
  if (axis == "H") return H;
  if (axis == "heads") return a.heads;
  if (axis == "layers") return a.layers;
  if (axis == "ffn") return a.ffn;
  if (axis == "norm") return a.norm;
  if (axis == "wo") return a.wo;
  if (axis == "pos") return a.pos;
  if (axis == "residual") return a.residual;
  if (axis == "mask") return a.mask;
  fail("--grid: unknown axis '{}'", axis);
}

void set_axis(const std::string& axis, int64_t v, int64_t& H, ToyArch& a) {
  if (axis == "H") H = v;
  else if (axis == "heads") a.heads = v;
  else if (axis == "layers") a.layers = v;
  else if (axis == "ffn") a.ffn = v;
  else if (axis == "norm") a.norm = v != 0;
  else if (axis == "wo") a.wo = v != 0;
  else if (axis == "pos") a.pos = v != 0;
  else if (axis == "residual") a.residual = v != 0;
  else if (axis == "mask") a.mask = v != 0;
  else fail("--grid: unknown axis '{}'", axis);
}

}  // namespace toy
