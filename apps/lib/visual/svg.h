// SVG figures written by the library (no network, no Python): attention/activation heatmaps, loss curves with the
// LR reductions marked, and the sweep's plots (final-loss distribution per H, solved rate per H with its interval;
// small multiples of both, one panel per model variant).
// Every function returns one <svg> element; text is XML-escaped; hover text is an SVG <title> child.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace toy::svg {

// Escape text for XML character data and attribute values: & < > " ' (and drops control characters XML 1.0
// cannot hold).
std::string escape(std::string_view s);

struct Options {
  // A standalone .svg file: XML declaration and xmlns. Inline in HTML5 neither is needed (and the HTML reports
  // carry no URL at all).
  bool standalone = true;
};

// Colour scales.
//   Grey (the notebook's gray colormap, inverted so that attention reads as ink): v <= vmin white, v >= vmax black,
//     grey level 255 * (1 - t), t = (v - vmin) / (vmax - vmin).
//   Diverging (signed activations): blue (-lim) -> white (0) -> red (+lim), lim = max(|vmin|, |vmax|), the
//     endpoints of ColorBrewer's RdBu.
enum class Scale { Grey, Diverging };
// "#rrggbb" for a value on a scale.
std::string color(Scale s, double v, double vmin, double vmax);

struct Heatmap {
  std::string title;                                  // above the panel
  std::vector<std::string> row_labels, col_labels;    // rows x cols
  std::vector<float> values;                          // row-major rows*cols
  std::string row_axis = "query position", col_axis = "key position (attended to)";
  Scale scale = Scale::Grey;
  double vmin = 0, vmax = 1;  // Diverging with vmin == vmax == 0: lim = max |value|
  int decimals = 3;
  bool show_values = true;    // the value printed in each cell
  std::string hover_arrow = " \u2192 ";  // hover text: "<row><arrow><col>: <value>"
};
// One heatmap panel with a colour bar.
std::string heatmap(const Heatmap& h, const Options& o = {});
// Several panels stacked vertically in one figure (e.g. the sequences of a batch).
std::string heatmaps(const std::vector<Heatmap>& hs, const Options& o = {});

// Panels on a grid, `cols` to a row, left to right then top to bottom (small multiples, e.g. attention at several
// epochs); each cell is as large as the largest panel.
std::string heatmap_grid(const std::vector<Heatmap>& hs, int64_t cols, const Options& o = {});

// A labelled horizontal reference line (e.g. the corpus' loss floor).
struct Level {
  std::string label;
  double value = 0;
};

struct LossCurve {
  std::string title = "training loss";
  std::vector<float> loss;          // per epoch (> 0; non-positive values are clamped to the axis bottom)
  std::vector<float> lr;            // per epoch, lr used (optional: labels the reductions)
  std::vector<int64_t> reductions;  // 0-based epochs at whose end the lr was reduced
  std::vector<Level> levels;        // dotted grey lines, labelled at the left end
};
// Loss against epoch, log-scale y, a dashed line at each LR reduction (labelled with the new lr), the levels as
// dotted lines.
std::string loss_curve(const LossCurve& c, const Options& o = {});

struct Group {
  std::string label;              // "H=20"
  std::vector<double> values;
  std::vector<int> category;      // optional, same size: 0 / 1 / 2 colours the points (category_names' order)
  std::vector<std::string> hover; // optional, same size: hover text per point
};
struct Distribution {
  std::string title, y_label;
  std::vector<Group> groups;
  bool log_y = true;
  std::vector<std::string> category_names;  // legend for category 0, 1, 2 (empty: no legend)
  std::vector<std::string> category_colors; // "#rrggbb" per category (empty: red, blue, orange)
  std::vector<Level> levels;                // dotted reference lines across all groups
  double y_min = NAN, y_max = NAN;          // the y axis covers at least this range (NaN: the values' own)
};
// Box plot (quartiles, median, whiskers to the furthest point within 1.5 IQR) over a strip of all points,
// deterministically jittered.
std::string box_strip(const Distribution& d, const Options& o = {});
// Small multiples: one box_strip panel per distribution (e.g. per model variant of a sweep), `cols` to a row under
// `title`; the panels share one y axis (the range of all their values; give them the same log_y and levels).
std::string box_strip_grid(std::vector<Distribution> ds, int64_t cols, const std::string& title,
                           const Options& o = {});

struct Rate {
  int64_t k = 0, n = 0;
  double lo = 0, hi = 0;  // interval (e.g. Wilson 95%)
};
struct RateGroup {
  std::string label;        // "H=20"
  std::vector<Rate> rates;  // one per series
};
struct RatePlot {
  std::string title, y_label = "rate (95% Wilson interval)";
  std::vector<std::string> series;  // "solved", "stuck", "unfinished"
  std::vector<std::string> colors;  // per series (empty: a default palette)
  std::vector<RateGroup> groups;
};
// Proportions in [0, 1]: per group one bar per series with its interval as an error bar, "k" above each, a legend.
std::string rate_plot(const RatePlot& p, const Options& o = {});
// Small multiples: one rate_plot panel per plot, `cols` to a row under `title` (each panel's y axis is [0, 1]).
std::string rate_plot_grid(const std::vector<RatePlot>& ps, int64_t cols, const std::string& title,
                           const Options& o = {});

struct Series {
  std::string label;
  std::vector<double> y;  // one per x
  std::string color;      // "#rrggbb" (empty: a default palette)
};
struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<double> x;
  std::vector<Series> series;
  double ymin = 0, ymax = 1;
  std::vector<Level> levels;  // dotted horizontal reference lines (e.g. a threshold)
};
// Lines with a marker at every point (hover: label, x, y), linear axes, a legend.
std::string line_plot(const LinePlot& p, const Options& o = {});


}  // namespace toy::svg
