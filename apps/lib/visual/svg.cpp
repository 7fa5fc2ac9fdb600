// SVG figures: hand-written markup, coordinates rounded to 0.1 px so the same data gives the same bytes.
#include "apps/lib/visual/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "apps/lib/formats/fs_util.h"
#include "apps/lib/sweep/stats.h"
#include "core/error.h"

namespace toy::svg {
namespace {

constexpr const char* kFont = "DejaVu Sans, Helvetica, Arial, sans-serif";

// A coordinate or length: one decimal, no "-0.0".
std::string n1(double v) {
  if (std::fabs(v) < 0.05) return "0";
  std::string s = fmt::format("{:.1f}", v);
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s;
}

// Rough width of a label in a sans-serif font (no font metrics without a renderer): 0.6 em per character.
double text_width(std::string_view s, double font_px) {
  return static_cast<double>(utf8_decode(std::string(s)).size()) * font_px * 0.6;
}

std::string open_svg(double w, double h, const Options& o) {
  std::string s;
  if (o.standalone) s += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += fmt::format("<svg {}width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" font-family=\"{}\" font-size=\"12\">\n",
                   o.standalone ? "xmlns=\"http://www.w3.org/2000/svg\" " : "", n1(w), n1(h), n1(w), n1(h), kFont);
  s += fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n", n1(w), n1(h));
  return s;
}

std::string text(double x, double y, std::string_view s, std::string_view extra = "") {
  return fmt::format("<text x=\"{}\" y=\"{}\"{}{}>{}</text>\n", n1(x), n1(y), extra.empty() ? "" : " ", extra,
                     escape(s));
}

std::string line(double x1, double y1, double x2, double y2, std::string_view style) {
  return fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {}/>\n", n1(x1), n1(y1), n1(x2), n1(y2), style);
}

std::string hex(int r, int g, int b) { return fmt::format("#{:02x}{:02x}{:02x}", r, g, b); }

// A tick label: shortest of {:g} with up to 4 significant digits.
std::string tick_label(double v) {
  if (v == 0) return "0";
  return fmt::format("{:.4g}", v);
}

// 1, 2, 5 x 10^k steps giving about `want` ticks over [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int want) {
  std::vector<double> out;
  if (!(hi > lo)) {
    out.push_back(lo);
    return out;
  }
  const double raw = (hi - lo) / std::max(want, 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
    out.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  return out;
}

// Log-axis ticks inside [lo, hi]: decades when the range spans more than 3 of them, else 1, 2, 5 x 10^k, or finer
// steps (1, 1.5, 2, 3, 4, 5, 6, 7, 8 x 10^k) when that gives fewer than three ticks.
std::vector<double> log_ticks(double lo, double hi) {
  const int k0 = static_cast<int>(std::floor(std::log10(lo))), k1 = static_cast<int>(std::ceil(std::log10(hi)));
  auto pick = [&](std::initializer_list<double> mantissas) {
    std::vector<double> out;
    for (int k = k0; k <= k1; ++k)
      for (double m : mantissas) {
        double v = m * std::pow(10.0, k);
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push_back(v);
      }
    return out;
  };
  if (k1 - k0 > 3) return pick({1.0});
  std::vector<double> out = pick({1.0, 2.0, 5.0});
  if (out.size() < 3) out = pick({1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0});
  return out;
}

// The nearest 1, 2, 5 x 10^k at or below / at or above v (> 0).
double nice_floor(double v) {
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {5.0, 2.0, 1.0})
    if (m * p <= v * (1 + 1e-12)) return m * p;
  return p;
}
double nice_ceil(double v) {
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= v * (1 - 1e-12)) return m * p;
  return 10 * p;
}

struct Panel {
  std::string body;
  double w = 0, h = 0;
};

Panel heatmap_panel(const Heatmap& hm) {
  const size_t R = hm.row_labels.size(), C = hm.col_labels.size();
  Panel p;
  const double font = 12;
  double max_row = 0, max_col = 0;
  for (const auto& s : hm.row_labels) max_row = std::max(max_row, text_width(s, font));
  for (const auto& s : hm.col_labels) max_col = std::max(max_col, text_width(s, font));
  const double value_w = hm.show_values ? text_width(fmt::format("{:.{}f}", -0.5, hm.decimals), 11) + 10 : 16;
  const double cell_w = std::max({value_w, hm.show_values ? 44.0 : 16.0, std::min(max_col + 10, 72.0)});
  const double cell_h = hm.show_values ? 26 : 16;
  const bool rotate = max_col + 6 > cell_w;
  const double title_h = hm.title.empty() ? 6 : 26;
  const double col_axis_h = hm.col_axis.empty() ? 0 : 18;
  const double col_label_h = rotate ? max_col * 0.72 + 14 : 20;
  const double row_axis_w = hm.row_axis.empty() ? 0 : 20;
  const double x0 = 8 + row_axis_w + max_row + 8, y0 = title_h + col_axis_h + col_label_h;
  const double grid_w = cell_w * static_cast<double>(C), grid_h = cell_h * static_cast<double>(R);

  double lo = hm.vmin, hi = hm.vmax;
  if (hm.scale == Scale::Diverging) {
    double lim = std::max(std::fabs(lo), std::fabs(hi));
    if (lim == 0)
      for (float v : hm.values)
        if (std::isfinite(v)) lim = std::max(lim, static_cast<double>(std::fabs(v)));
    if (lim == 0) lim = 1;
    lo = -lim;
    hi = lim;
  }
  if (!(hi > lo)) hi = lo + 1;

  std::string& s = p.body;
  if (!hm.title.empty()) s += text(8, 18, hm.title, "font-size=\"14\" font-weight=\"bold\"");
  if (!hm.col_axis.empty())
    s += text(x0 + grid_w / 2, title_h + 13, hm.col_axis, "text-anchor=\"middle\" fill=\"#444444\"");
  if (!hm.row_axis.empty())
    s += fmt::format("<text transform=\"translate({},{}) rotate(-90)\" text-anchor=\"middle\" fill=\"#444444\">{}"
                     "</text>\n",
                     n1(8 + 12), n1(y0 + grid_h / 2), escape(hm.row_axis));
  for (size_t j = 0; j < C; ++j) {
    const double cx = x0 + cell_w * (static_cast<double>(j) + 0.5);
    if (rotate)
      s += fmt::format("<text transform=\"translate({},{}) rotate(-45)\">{}</text>\n", n1(cx - 2), n1(y0 - 6),
                       escape(hm.col_labels[j]));
    else
      s += text(cx, y0 - 7, hm.col_labels[j], "text-anchor=\"middle\"");
  }
  for (size_t i = 0; i < R; ++i)
    s += text(x0 - 6, y0 + cell_h * (static_cast<double>(i) + 0.5) + 4, hm.row_labels[i], "text-anchor=\"end\"");
  for (size_t i = 0; i < R; ++i)
    for (size_t j = 0; j < C; ++j) {
      const float v = hm.values[i * C + j];
      const double x = x0 + cell_w * static_cast<double>(j), y = y0 + cell_h * static_cast<double>(i);
      const std::string fill = std::isfinite(v) ? color(hm.scale, v, lo, hi) : std::string("#ff00ff");
      const std::string val = fmt::format("{:.{}f}", v, hm.decimals);
      s += fmt::format("<g><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" "
                       "stroke=\"#d0d0d0\" stroke-width=\"0.5\"/>",
                       escape(hm.row_labels[i] + hm.hover_arrow + hm.col_labels[j] + ": " + val), n1(x), n1(y),
                       n1(cell_w), n1(cell_h), fill);
      if (hm.show_values) {
        // Ink that stays readable: white on dark cells.
        int r = std::stoi(fill.substr(1, 2), nullptr, 16), g = std::stoi(fill.substr(3, 2), nullptr, 16),
            b = std::stoi(fill.substr(5, 2), nullptr, 16);
        const double lum = 0.299 * r + 0.587 * g + 0.114 * b;
        s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\" fill=\"{}\">{}</text>",
                         n1(x + cell_w / 2), n1(y + cell_h / 2 + 4), lum < 128 ? "#ffffff" : "#000000",
                         escape(val));
      }
      s += "</g>\n";
    }
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#808080\"/>\n", n1(x0),
                   n1(y0), n1(grid_w), n1(grid_h));

  // Colour bar: stacked bands (no gradient ids, which would collide between figures inlined in one page).
  const double bx = x0 + grid_w + 16, bh = std::max(grid_h, 80.0), bw = 12;
  const int bands = 32;
  for (int k = 0; k < bands; ++k) {
    const double t = (static_cast<double>(k) + 0.5) / bands;  // k = 0 at the top = hi
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n", n1(bx),
                     n1(y0 + bh * k / bands), n1(bw), n1(bh / bands + 0.3), color(hm.scale, hi - t * (hi - lo), lo, hi));
  }
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#808080\"/>\n", n1(bx),
                   n1(y0), n1(bw), n1(bh));
  double label_w = 0;
  for (double v : {hi, (lo + hi) / 2, lo}) {
    const double y = y0 + bh * (hi - v) / (hi - lo);
    const std::string l = tick_label(v);
    label_w = std::max(label_w, text_width(l, 11));
    s += line(bx + bw, y, bx + bw + 3, y, "stroke=\"#808080\"");
    s += text(bx + bw + 5, y + 4, l, "font-size=\"11\"");
  }
  p.w = std::max(bx + bw + 8 + label_w + 8, 8 + text_width(hm.title, 14) + 8);
  p.h = y0 + std::max(grid_h, bh) + 10;
  return p;
}


// Dotted grey reference lines from x0 to x1, each labelled above its left end ("floor 0.139").
template <class YFn>
std::string level_lines(const std::vector<Level>& levels, double x0, double x1, YFn Y) {
  std::string s;
  for (const Level& l : levels) {
    if (!std::isfinite(l.value)) continue;
    s += fmt::format("<g class=\"level\"><title>{}</title>", escape(fmt::format("{}: {:.4g}", l.label, l.value)));
    s += line(x0, Y(l.value), x1, Y(l.value), "stroke=\"#666666\" stroke-width=\"1\" stroke-dasharray=\"2,3\"");
    s += "</g>\n";
    s += text(x0 + 4, Y(l.value) - 4, fmt::format("{} {:.3f}", l.label, l.value),
              "font-size=\"10\" fill=\"#555555\"");
  }
  return s;
}
}  // namespace

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') continue;
        out += c;
    }
  }
  return out;
}

std::string color(Scale sc, double v, double vmin, double vmax) {
  if (sc == Scale::Grey) {
    double t = vmax > vmin ? (v - vmin) / (vmax - vmin) : 0.0;
    t = std::clamp(t, 0.0, 1.0);
    const int g = static_cast<int>(std::lround(255.0 * (1.0 - t)));
    return hex(g, g, g);
  }
  double lim = std::max(std::fabs(vmin), std::fabs(vmax));
  double t = lim > 0 ? std::clamp(v / lim, -1.0, 1.0) : 0.0;
  // RdBu endpoints: #2166ac (negative) and #b2182b (positive), through #f7f7f7.
  const double w[3] = {247, 247, 247};
  const double neg[3] = {33, 102, 172}, pos[3] = {178, 24, 43};
  const double* end = t < 0 ? neg : pos;
  const double a = std::fabs(t);
  int c[3];
  for (int k = 0; k < 3; ++k) c[k] = static_cast<int>(std::lround(w[k] + (end[k] - w[k]) * a));
  return hex(c[0], c[1], c[2]);
}

std::string heatmap(const Heatmap& h, const Options& o) { return heatmaps({h}, o); }

std::string heatmaps(const std::vector<Heatmap>& hs, const Options& o) {
  std::vector<Panel> panels;
  double w = 0, h = 0;
  for (const Heatmap& hm : hs) {
    if (hm.values.size() != hm.row_labels.size() * hm.col_labels.size())
      fail("svg::heatmap: {} values for {} rows x {} columns", hm.values.size(), hm.row_labels.size(),
           hm.col_labels.size());
    panels.push_back(heatmap_panel(hm));
    w = std::max(w, panels.back().w);
    h += panels.back().h;
  }
  std::string s = open_svg(w, h, o);
  double y = 0;
  for (const Panel& p : panels) {
    s += fmt::format("<g transform=\"translate(0,{})\">\n", n1(y));
    s += p.body;
    s += "</g>\n";
    y += p.h;
  }
  s += "</svg>\n";
  return s;
}

std::string heatmap_grid(const std::vector<Heatmap>& hs, int64_t cols, const Options& o) {
  if (cols <= 0) fail("svg::heatmap_grid: {} columns", cols);
  std::vector<Panel> panels;
  double cw = 0, rh = 0;
  for (const Heatmap& hm : hs) {
    if (hm.values.size() != hm.row_labels.size() * hm.col_labels.size())
      fail("svg::heatmap_grid: {} values for {} rows x {} columns", hm.values.size(), hm.row_labels.size(),
           hm.col_labels.size());
    panels.push_back(heatmap_panel(hm));
    cw = std::max(cw, panels.back().w);
    rh = std::max(rh, panels.back().h);
  }
  const int64_t n = static_cast<int64_t>(panels.size()), c = std::min<int64_t>(cols, std::max<int64_t>(n, 1));
  const int64_t r = (n + c - 1) / c;
  std::string s = open_svg(cw * static_cast<double>(c), rh * static_cast<double>(std::max<int64_t>(r, 1)), o);
  for (int64_t i = 0; i < n; ++i) {
    s += fmt::format("<g transform=\"translate({},{})\">\n", n1(cw * static_cast<double>(i % c)),
                     n1(rh * static_cast<double>(i / c)));
    s += panels[static_cast<size_t>(i)].body;
    s += "</g>\n";
  }
  s += "</svg>\n";
  return s;
}

std::string loss_curve(const LossCurve& c, const Options& o) {
  const double W = 720, H = 360, ml = 64, mr = 24, mt = 40, mb = 48;
  const double pw = W - ml - mr, ph = H - mt - mb;
  std::string s = open_svg(W, H, o);
  s += text(ml, 22, c.title, "font-size=\"14\" font-weight=\"bold\"");
  const size_t n = c.loss.size();
  if (n == 0) {
    s += text(W / 2, H / 2, "no epochs", "text-anchor=\"middle\"");
    return s + "</svg>\n";
  }
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (float v : c.loss)
    if (std::isfinite(v) && v > 0) lo = std::min(lo, static_cast<double>(v)), hi = std::max(hi, static_cast<double>(v));
  if (!(hi > 0)) lo = 0.1, hi = 1;
  for (const Level& l : c.levels)
    if (std::isfinite(l.value) && l.value > 0) lo = std::min(lo, l.value), hi = std::max(hi, l.value);
  double ylo = nice_floor(lo), yhi = nice_ceil(hi);
  if (yhi <= ylo) yhi = nice_ceil(ylo * 1.01);
  auto Y = [&](double v) {
    v = std::clamp(v, ylo, yhi);
    return mt + ph * (1 - (std::log10(v) - std::log10(ylo)) / (std::log10(yhi) - std::log10(ylo)));
  };
  const double xmax = static_cast<double>(std::max<size_t>(n, 2));
  auto X = [&](double epoch1) { return ml + pw * (epoch1 - 1) / (xmax - 1); };  // epochs numbered from 1

  // Grid and axes.
  for (double v : log_ticks(ylo, yhi)) {
    s += line(ml, Y(v), ml + pw, Y(v), "stroke=\"#e6e6e6\"");
    s += text(ml - 6, Y(v) + 4, tick_label(v), "text-anchor=\"end\" font-size=\"11\"");
  }
  for (double v : nice_ticks(1, xmax, 8)) {
    s += line(X(v), mt + ph, X(v), mt + ph + 4, "stroke=\"#808080\"");
    s += text(X(v), mt + ph + 17, tick_label(v), "text-anchor=\"middle\" font-size=\"11\"");
  }
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#808080\"/>\n", n1(ml),
                   n1(mt), n1(pw), n1(ph));
  s += text(ml + pw / 2, H - 10, "epoch", "text-anchor=\"middle\"");
  s += fmt::format("<text transform=\"translate(16,{}) rotate(-90)\" text-anchor=\"middle\">loss (log scale)</text>\n",
                   n1(mt + ph / 2));

  s += level_lines(c.levels, ml, ml + pw, [&](double v) { return Y(v); });

  // LR reductions: the new lr applies from the next epoch. Reductions closer than 14 px share one label.
  std::vector<std::vector<int64_t>> clusters;
  for (int64_t e : c.reductions) {
    if (clusters.empty() || X(static_cast<double>(e) + 2) - X(static_cast<double>(clusters.back().back()) + 2) >= 14)
      clusters.emplace_back();
    clusters.back().push_back(e);
  }
  const bool label = clusters.size() <= 12;
  for (const auto& cl : clusters) {
    std::vector<std::string> lrs;
    for (int64_t e : cl) {
      const double x = X(static_cast<double>(e) + 2);
      std::string what = fmt::format("epoch {}: ReduceLROnPlateau", e + 1);
      if (static_cast<size_t>(e + 1) < c.lr.size()) {
        lrs.push_back(fmt::format("{:.3g}", c.lr[static_cast<size_t>(e + 1)]));
        what += fmt::format(", lr {:.3g} -> {:.3g}", c.lr[static_cast<size_t>(e)], c.lr[static_cast<size_t>(e + 1)]);
      }
      s += fmt::format("<g class=\"lr-reduction\"><title>{}</title>", escape(what));
      s += line(x, mt, x, mt + ph, "stroke=\"#e08214\" stroke-width=\"1.2\" stroke-dasharray=\"5,3\"");
      s += "</g>\n";
    }
    if (label && !lrs.empty()) {
      std::string t = "lr ";
      for (size_t i = 0; i < lrs.size(); ++i) t += (i ? " \u2192 " : "") + lrs[i];
      s += fmt::format("<text transform=\"translate({},{}) rotate(-90)\" text-anchor=\"end\" font-size=\"10\" "
                       "fill=\"#b35806\">{}</text>\n",
                       n1(X(static_cast<double>(cl.front()) + 2) - 4), n1(mt + 4), escape(t));
    }
  }

  // The curve, thinned to at most ~1500 points (the last epoch always kept).
  const size_t stride = std::max<size_t>(1, (n + 1499) / 1500);
  std::string pts;
  for (size_t i = 0; i < n; i += stride) {
    if (!pts.empty()) pts += ' ';
    pts += fmt::format("{},{}", n1(X(static_cast<double>(i) + 1)), n1(Y(c.loss[i])));
  }
  if ((n - 1) % stride != 0) pts += fmt::format(" {},{}", n1(X(static_cast<double>(n))), n1(Y(c.loss[n - 1])));
  s += fmt::format("<polyline class=\"loss\" fill=\"none\" stroke=\"#2166ac\" stroke-width=\"1.6\" points=\"{}\"><title>"
                   "loss per epoch</title></polyline>\n",
                   pts);
  s += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"#2166ac\"><title>{}</title></circle>\n",
                   n1(X(static_cast<double>(n))), n1(Y(c.loss[n - 1])),
                   escape(fmt::format("final loss {:.4f} (epoch {})", c.loss[n - 1], n)));
  s += text(X(static_cast<double>(n)) - 4, Y(c.loss[n - 1]) - 8, fmt::format("{:.4f}", c.loss[n - 1]),
            "text-anchor=\"end\" font-size=\"11\" fill=\"#2166ac\"");
  if (!c.reductions.empty())
    s += text(ml + pw, 22, fmt::format("dashed: {} LR reduction{}", c.reductions.size(), c.reductions.size() == 1 ? "" : "s"),
              "text-anchor=\"end\" font-size=\"11\" fill=\"#b35806\"");
  return s + "</svg>\n";
}

namespace {

// Whether a value can be drawn on the distribution's y axis.
bool drawable(const Distribution& d, double v) { return std::isfinite(v) && (!d.log_y || v > 0); }

// A box_strip figure's content (without the <svg> element), and its size.
Panel box_strip_panel(const Distribution& d) {
  const double gw = 150, ml = 72, mr = 24, mt = d.category_names.empty() ? 40 : 58, mb = 44, ph = 300;
  const double W = ml + mr + gw * static_cast<double>(std::max<size_t>(d.groups.size(), 1)), H = mt + ph + mb;
  const double pw = W - ml - mr;
  std::string s;
  s += text(ml, 22, d.title, "font-size=\"14\" font-weight=\"bold\"");
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const Group& g : d.groups)
    for (double v : g.values)
      if (drawable(d, v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (drawable(d, d.y_min)) lo = std::min(lo, d.y_min);
  if (drawable(d, d.y_max)) hi = std::max(hi, d.y_max);
  if (!(hi >= lo)) lo = d.log_y ? 0.1 : 0, hi = 1;
  for (const Level& l : d.levels)
    if (std::isfinite(l.value) && (!d.log_y || l.value > 0)) lo = std::min(lo, l.value), hi = std::max(hi, l.value);
  double ylo, yhi;
  std::vector<double> ticks;
  if (d.log_y) {
    if (hi / lo < 1.2) lo /= 1.1, hi *= 1.1;
    ylo = lo / std::pow(hi / lo, 0.05);
    yhi = hi * std::pow(hi / lo, 0.05);
    ticks = log_ticks(ylo, yhi);
  } else {
    if (hi == lo) lo -= 0.5, hi += 0.5;
    const double pad = (hi - lo) * 0.05;
    ylo = lo - pad, yhi = hi + pad;
    ticks = nice_ticks(ylo, yhi, 6);
  }
  auto Y = [&](double v) {
    double t = d.log_y ? (std::log10(std::max(v, ylo)) - std::log10(ylo)) / (std::log10(yhi) - std::log10(ylo))
                       : (v - ylo) / (yhi - ylo);
    return mt + ph * (1 - std::clamp(t, 0.0, 1.0));
  };
  for (double v : ticks) {
    s += line(ml, Y(v), ml + pw, Y(v), "stroke=\"#e6e6e6\"");
    s += text(ml - 6, Y(v) + 4, tick_label(v), "text-anchor=\"end\" font-size=\"11\"");
  }
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#808080\"/>\n", n1(ml),
                   n1(mt), n1(pw), n1(ph));
  s += fmt::format("<text transform=\"translate(16,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                   n1(mt + ph / 2), escape(d.y_label + (d.log_y ? " (log scale)" : "")));
  s += level_lines(d.levels, ml, ml + pw, Y);
  const std::vector<std::string> colors =
      d.category_colors.empty() ? std::vector<std::string>{"#d6604d", "#2166ac", "#e08214"} : d.category_colors;
  auto color_of = [&](int cat) { return colors[static_cast<size_t>(std::clamp<int>(cat, 0, static_cast<int>(colors.size()) - 1))]; };
  if (!d.category_names.empty()) {
    double x = ml;
    for (size_t k = 0; k < d.category_names.size() && k < colors.size(); ++k) {
      s += fmt::format("<circle cx=\"{}\" cy=\"40\" r=\"4\" fill=\"{}\" fill-opacity=\"0.7\"/>\n", n1(x + 4), colors[k]);
      s += text(x + 12, 44, d.category_names[k], "font-size=\"11\"");
      x += 24 + text_width(d.category_names[k], 11);
    }
  }
  for (size_t gi = 0; gi < d.groups.size(); ++gi) {
    const Group& g = d.groups[gi];
    const double cx = ml + gw * (static_cast<double>(gi) + 0.5);
    s += text(cx, mt + ph + 18, g.label, "text-anchor=\"middle\"");
    s += text(cx, mt + ph + 33, fmt::format("n={}", g.values.size()), "text-anchor=\"middle\" font-size=\"10\" fill=\"#666666\"");
    std::vector<double> fin;
    for (double v : g.values)
      if (std::isfinite(v)) fin.push_back(v);
    if (fin.empty()) continue;
    const double q1 = quantile(fin, 0.25), med = quantile(fin, 0.5), q3 = quantile(fin, 0.75), iqr = q3 - q1;
    double wlo = med, whi = med;
    for (double v : fin) {
      if (v >= q1 - 1.5 * iqr) wlo = std::min(wlo, v);
      if (v <= q3 + 1.5 * iqr) whi = std::max(whi, v);
    }
    // Points first, box on top (outline only, so the points stay visible).
    for (size_t i = 0; i < g.values.size(); ++i) {
      const double v = g.values[i];
      if (!std::isfinite(v)) continue;
      const double jitter = std::fmod(static_cast<double>(i + 1) * 0.6180339887498949, 1.0) - 0.5;
      const int cat = i < g.category.size() ? g.category[i] : 1;
      const std::string hover = i < g.hover.size() ? g.hover[i] : fmt::format("{}: {:.4g}", g.label, v);
      s += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\" fill-opacity=\"0.55\"><title>{}</title></circle>\n",
                       n1(cx + jitter * gw * 0.55), n1(Y(v)), color_of(cat), escape(hover));
    }
    const double bw = gw * 0.42;
    s += fmt::format("<g class=\"box\"><title>{}</title>", escape(fmt::format("{}: median {:.4g}, quartiles {:.4g} - {:.4g}, "
                                                                               "n={}", g.label, med, q1, q3, fin.size())));
    s += line(cx, Y(whi), cx, Y(q3), "stroke=\"#333333\"");
    s += line(cx, Y(q1), cx, Y(wlo), "stroke=\"#333333\"");
    s += line(cx - bw / 4, Y(whi), cx + bw / 4, Y(whi), "stroke=\"#333333\"");
    s += line(cx - bw / 4, Y(wlo), cx + bw / 4, Y(wlo), "stroke=\"#333333\"");
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333333\" "
                     "stroke-width=\"1.3\"/>",
                     n1(cx - bw / 2), n1(Y(q3)), n1(bw), n1(std::max(Y(q1) - Y(q3), 0.5)));
    s += line(cx - bw / 2, Y(med), cx + bw / 2, Y(med), "stroke=\"#000000\" stroke-width=\"2.2\"");
    s += "</g>\n";
  }
  return Panel{s, W, H};
}

// Panels on a grid, `cols` to a row, under a title (none when empty); each cell as large as the largest panel.
std::string panel_grid(const std::vector<Panel>& panels, int64_t cols, const std::string& title, const Options& o) {
  if (cols <= 0) fail("svg: a grid of {} columns", cols);
  double cw = 0, rh = 0;
  for (const Panel& p : panels) cw = std::max(cw, p.w), rh = std::max(rh, p.h);
  const int64_t n = static_cast<int64_t>(panels.size()), c = std::min<int64_t>(cols, std::max<int64_t>(n, 1));
  const int64_t r = std::max<int64_t>((n + c - 1) / c, 1);
  const double top = title.empty() ? 0 : 34;
  std::string s = open_svg(std::max(cw * static_cast<double>(c), 8 + text_width(title, 16)),
                           top + rh * static_cast<double>(r), o);
  if (!title.empty()) s += text(8, 24, title, "font-size=\"16\" font-weight=\"bold\"");
  for (int64_t i = 0; i < n; ++i) {
    s += fmt::format("<g class=\"panel\" transform=\"translate({},{})\">\n", n1(cw * static_cast<double>(i % c)),
                     n1(top + rh * static_cast<double>(i / c)));
    s += panels[static_cast<size_t>(i)].body;
    s += "</g>\n";
  }
  return s + "</svg>\n";
}

}  // namespace

std::string box_strip(const Distribution& d, const Options& o) {
  const Panel p = box_strip_panel(d);
  return open_svg(p.w, p.h, o) + p.body + "</svg>\n";
}

std::string box_strip_grid(std::vector<Distribution> ds, int64_t cols, const std::string& title, const Options& o) {
  // One y axis for all: every panel covers the range of all panels' values.
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const Distribution& d : ds)
    for (const Group& g : d.groups)
      for (double v : g.values)
        if (drawable(d, v)) lo = std::min(lo, v), hi = std::max(hi, v);
  std::vector<Panel> panels;
  for (Distribution& d : ds) {
    if (hi >= lo) d.y_min = lo, d.y_max = hi;
    panels.push_back(box_strip_panel(d));
  }
  return panel_grid(panels, cols, title, o);
}

namespace {
const char* kPalette[] = {"#2166ac", "#d6604d", "#e08214", "#1b7837", "#762a83", "#808080"};
std::string palette(const std::vector<std::string>& colors, size_t i) {
  return i < colors.size() ? colors[i] : kPalette[i % (sizeof kPalette / sizeof kPalette[0])];
}

// A rate_plot figure's content (without the <svg> element), and its size.
Panel rate_plot_panel(const RatePlot& p) {
  const size_t ns = std::max<size_t>(p.series.size(), 1);
  const double bar = 34, gw = std::max(130.0, bar * static_cast<double>(ns) + 40), ml = 64, mr = 24, mt = 58, mb = 44,
               ph = 300;
  const double W = ml + mr + gw * static_cast<double>(std::max<size_t>(p.groups.size(), 1)), H = mt + ph + mb;
  const double pw = W - ml - mr;
  std::string s;
  s += text(ml, 22, p.title, "font-size=\"14\" font-weight=\"bold\"");
  auto Y = [&](double v) { return mt + ph * (1 - std::clamp(v, 0.0, 1.0)); };
  for (int k = 0; k <= 5; ++k) {
    const double v = k / 5.0;
    s += line(ml, Y(v), ml + pw, Y(v), "stroke=\"#e6e6e6\"");
    s += text(ml - 6, Y(v) + 4, fmt::format("{}%", k * 20), "text-anchor=\"end\" font-size=\"11\"");
  }
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#808080\"/>\n", n1(ml),
                   n1(mt), n1(pw), n1(ph));
  s += fmt::format("<text transform=\"translate(16,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                   n1(mt + ph / 2), escape(p.y_label));
  double lx = ml;
  for (size_t k = 0; k < p.series.size(); ++k) {
    s += fmt::format("<rect x=\"{}\" y=\"33\" width=\"10\" height=\"10\" fill=\"{}\"/>\n", n1(lx), palette(p.colors, k));
    s += text(lx + 14, 42, p.series[k], "font-size=\"11\"");
    lx += 28 + text_width(p.series[k], 11);
  }
  for (size_t i = 0; i < p.groups.size(); ++i) {
    const RateGroup& g = p.groups[i];
    const double cx = ml + gw * (static_cast<double>(i) + 0.5);
    s += text(cx, mt + ph + 18, g.label, "text-anchor=\"middle\"");
    if (g.rates.empty() || g.rates[0].n <= 0) {
      s += text(cx, mt + ph / 2, "no runs", "text-anchor=\"middle\" fill=\"#666666\"");
      continue;
    }
    s += text(cx, mt + ph + 33, fmt::format("n={}", g.rates[0].n), "text-anchor=\"middle\" font-size=\"10\" fill=\"#666666\"");
    for (size_t k = 0; k < g.rates.size(); ++k) {
      const Rate& r = g.rates[k];
      const double x = cx + bar * (static_cast<double>(k) - static_cast<double>(g.rates.size() - 1) / 2);
      const double q = r.n > 0 ? static_cast<double>(r.k) / static_cast<double>(r.n) : 0.0;
      const std::string name = k < p.series.size() ? p.series[k] : "";
      s += fmt::format("<g class=\"rate\"><title>{}</title>",
                       escape(fmt::format("{}: {}/{} {} = {:.1f}%, 95% interval {:.1f}% - {:.1f}%", g.label, r.k, r.n,
                                          name, 100 * q, 100 * r.lo, 100 * r.hi)));
      s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" fill-opacity=\"0.55\"/>",
                       n1(x - bar * 0.4), n1(Y(q)), n1(bar * 0.8), n1(Y(0) - Y(q)), palette(p.colors, k));
      s += line(x, Y(r.hi), x, Y(r.lo), "stroke=\"#000000\" stroke-width=\"1.3\"");
      s += line(x - 6, Y(r.hi), x + 6, Y(r.hi), "stroke=\"#000000\" stroke-width=\"1.3\"");
      s += line(x - 6, Y(r.lo), x + 6, Y(r.lo), "stroke=\"#000000\" stroke-width=\"1.3\"");
      s += "</g>\n";
      s += text(x, Y(r.hi) - 5, fmt::format("{}", r.k), "text-anchor=\"middle\" font-size=\"10\"");
    }
  }
  return Panel{s, W, H};
}
}  // namespace

std::string rate_plot(const RatePlot& p, const Options& o) {
  const Panel panel = rate_plot_panel(p);
  return open_svg(panel.w, panel.h, o) + panel.body + "</svg>\n";
}

std::string rate_plot_grid(const std::vector<RatePlot>& ps, int64_t cols, const std::string& title, const Options& o) {
  std::vector<Panel> panels;
  for (const RatePlot& p : ps) panels.push_back(rate_plot_panel(p));
  return panel_grid(panels, cols, title, o);
}

std::string line_plot(const LinePlot& p, const Options& o) {
  const double W = 720, H = 320, ml = 64, mr = 24, mt = p.series.size() > 1 ? 56 : 40, mb = 48;
  const double pw = W - ml - mr, ph = H - mt - mb;
  std::string s = open_svg(W, H, o);
  s += text(ml, 22, p.title, "font-size=\"14\" font-weight=\"bold\"");
  if (p.x.empty()) {
    s += text(W / 2, H / 2, "no data", "text-anchor=\"middle\"");
    return s + "</svg>\n";
  }
  const double xlo = *std::min_element(p.x.begin(), p.x.end()), xhi0 = *std::max_element(p.x.begin(), p.x.end());
  const double xhi = xhi0 > xlo ? xhi0 : xlo + 1;
  auto X = [&](double v) { return ml + pw * (v - xlo) / (xhi - xlo); };
  auto Y = [&](double v) { return mt + ph * (1 - std::clamp((v - p.ymin) / (p.ymax - p.ymin), 0.0, 1.0)); };
  for (double v : nice_ticks(p.ymin, p.ymax, 6)) {
    s += line(ml, Y(v), ml + pw, Y(v), "stroke=\"#e6e6e6\"");
    s += text(ml - 6, Y(v) + 4, tick_label(v), "text-anchor=\"end\" font-size=\"11\"");
  }
  for (double v : nice_ticks(xlo, xhi, 8)) {
    s += line(X(v), mt + ph, X(v), mt + ph + 4, "stroke=\"#808080\"");
    s += text(X(v), mt + ph + 17, tick_label(v), "text-anchor=\"middle\" font-size=\"11\"");
  }
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#808080\"/>\n", n1(ml),
                   n1(mt), n1(pw), n1(ph));
  s += text(ml + pw / 2, H - 10, p.x_label, "text-anchor=\"middle\"");
  s += fmt::format("<text transform=\"translate(16,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                   n1(mt + ph / 2), escape(p.y_label));
  s += level_lines(p.levels, ml, ml + pw, Y);
  double lx = ml;
  for (size_t k = 0; k < p.series.size(); ++k) {
    const Series& se = p.series[k];
    const std::string col = se.color.empty() ? palette({}, k) : se.color;
    if (p.series.size() > 1) {
      s += line(lx, 38, lx + 16, 38, fmt::format("stroke=\"{}\" stroke-width=\"2\"", col));
      s += text(lx + 20, 42, se.label, "font-size=\"11\"");
      lx += 36 + text_width(se.label, 11);
    }
    std::string pts;
    for (size_t i = 0; i < p.x.size() && i < se.y.size(); ++i)
      if (std::isfinite(se.y[i])) pts += fmt::format("{}{},{}", pts.empty() ? "" : " ", n1(X(p.x[i])), n1(Y(se.y[i])));
    s += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\" points=\"{}\"/>\n", col, pts);
    for (size_t i = 0; i < p.x.size() && i < se.y.size(); ++i)
      if (std::isfinite(se.y[i]))
        s += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"2.5\" fill=\"{}\"><title>{}</title></circle>\n", n1(X(p.x[i])),
                         n1(Y(se.y[i])), col,
                         escape(fmt::format("{}: {} {:g}, {:.3f}", se.label, p.x_label, p.x[i], se.y[i])));
  }
  return s + "</svg>\n";
}

}  // namespace toy::svg
