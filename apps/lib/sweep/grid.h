// The axes of a sweep's grid (`sweep --grid H=10,20 heads=1,2 layers=1,2`): H and the model settings of ToyArch
// (layers/toy_model.h), each with the values it takes, parsed with the ranges of the matching flags.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "layers/toy_model.h"

namespace toy {

// One axis and its values in the order given. Every value is an integer: H, heads, layers, ffn as themselves;
// the booleans wo, pos, residual, mask as 1 (true) / 0 (false); norm as 1 (layer) / 0 (none).
struct GridAxis {
  std::string name;  // H | heads | layers | ffn | norm | wo | pos | residual | mask
  std::vector<int64_t> values;
  bool operator==(const GridAxis&) const = default;
};

// The axis names --grid accepts, in the order --help lists them.
const std::vector<std::string>& grid_axis_names();
// The flag that sets an axis outside --grid: H -> --H, heads -> --heads, pos -> --no-pos, ...
std::string axis_flag(const std::string& axis);
// Whether an axis takes true|false (wo, pos, residual, mask).
bool is_boolean_axis(const std::string& axis);

// "heads=1,2,4" ... -> the axes in the order given. Errors name --grid and the axis: an unknown axis, an axis given
// twice, an empty list, a value listed twice, a value outside the flag's range (H [1, 2^30], heads [1, 64],
// layers [1, 16], ffn [0, 4096]), a boolean that is not true|false, a norm that is not none|layer.
std::vector<GridAxis> parse_grid(const std::vector<std::string>& words);
// One value as --grid and the CSVs write it: "4", "true", "layer".
std::string axis_value_text(const std::string& axis, int64_t v);
// The text of the values ("1,2,4"; "true,false").
std::string axis_values_text(const GridAxis& a);
// Check an axis built elsewhere (sweep.json, the Python module's settings): a known name, at least one value, none
// twice, each in range; errors name `where` and the axis.
void check_axis(const GridAxis& a, const std::string& where);
// A value back from its text (the CSVs, sweep.json); errors name `where` and the axis.
int64_t parse_axis_value(const std::string& axis, const std::string& text, const std::string& where);

// The value a model has on an axis (H is the head size; the others are ToyArch's fields).
int64_t axis_value(const std::string& axis, int64_t H, const ToyArch& a);
// Set an axis of (H, arch) to v.
void set_axis(const std::string& axis, int64_t v, int64_t& H, ToyArch& a);

}  // namespace toy
