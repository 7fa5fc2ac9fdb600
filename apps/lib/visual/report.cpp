// Run records and the HTML reports (hand-written markup; figures from apps/lib/svg).
#include "apps/lib/visual/report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "apps/lib/formats/fs_util.h"
#include "apps/lib/formats/json_limits.h"
#include "apps/lib/sweep/sweep.h"
#include "apps/lib/visual/svg.h"
#include "core/error.h"

namespace toy {
namespace {

namespace fs = std::filesystem;
using svg::escape;

constexpr const char* kCss = R"(
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; margin: 24px auto; max-width: 1180px;
       padding: 0 16px; line-height: 1.4; }
h1 { font-size: 24px; margin-bottom: 4px; }
h2 { font-size: 19px; border-bottom: 1px solid #ddd; padding-bottom: 3px; margin-top: 30px; }
h3 { font-size: 16px; margin: 22px 0 6px; }
h4 { font-size: 14px; margin: 10px 0 4px; color: #444; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 12px; }
th, td { border: 1px solid #d4d4d4; padding: 3px 8px; }
th { background: #f2f2f2; font-weight: 600; }
td.num { text-align: right; font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
table.kv th { text-align: left; }
td.target { outline: 2px solid #1a9850; outline-offset: -2px; }
td.best { font-weight: bold; }
.verdict { padding: 8px 12px; border-radius: 4px; font-weight: 600; display: inline-block; }
.verdict.solved { background: #d9f0d3; border: 1px solid #1a9850; }
.verdict.stuck { background: #fddbc7; border: 1px solid #b2182b; }
.verdict.unfinished { background: #fee8c8; border: 1px solid #e08214; }
.verdict.none { background: #eeeeee; border: 1px solid #888888; }
.because { color: #444; font-size: 13px; margin: 6px 0 12px; }
.figure svg { max-width: 100%; height: auto; }
.row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.figure { margin: 8px 0; }
.note { color: #555; font-size: 13px; max-width: 900px; }
footer { margin-top: 40px; color: #888; font-size: 12px; }
)";

std::string page(const std::string& title, const std::string& body, bool script = false) {
  return fmt::format("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n"
                     "<style>{}</style>\n</head>\n<body>\n{}<footer>Written by toyformer. Self-contained: inline CSS "
                     "and SVG, {}nothing loaded from elsewhere.</footer>\n</body>\n</html>\n",
                     escape(title), kCss, body, script ? "one inline script (the epoch slider), " : "no scripts, ");
}

std::string json_value_text(const nlohmann::json& v) {
  if (v.is_null()) return "default";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return fmt::format("{:.6g}", v.get<double>());
  return v.dump();
}

// Key/value pairs, `per_row` pairs to a table row.
std::string kv_table(const std::vector<std::pair<std::string, std::string>>& rows, size_t per_row = 1) {
  std::string s = "<table class=\"kv\">\n";
  for (size_t i = 0; i < rows.size(); i += per_row) {
    s += "<tr>";
    for (size_t k = i; k < i + per_row; ++k)
      s += k < rows.size() ? fmt::format("<th>{}</th><td>{}</td>", escape(rows[k].first), escape(rows[k].second))
                           : std::string("<th></th><td></td>");
    s += "</tr>\n";
  }
  return s + "</table>\n";
}

// The run's configuration in reading order (run.json's object is sorted by key).
std::vector<std::pair<std::string, std::string>> config_rows(const nlohmann::json& cfg) {
  static const char* kOrder[] = {"H",         "seed",           "epochs",           "batch",  "optimizer",
                                 "lr",        "momentum",       "nesterov",         "loss",   "plateau",
                                 "plateau_factor", "plateau_patience", "min_lr",    "min_delta", "cooldown",
                                 "device",    "corpus",         "init_weights"};
  std::vector<std::pair<std::string, std::string>> rows;
  std::set<std::string> done;
  for (const char* k : kOrder)
    if (cfg.contains(k)) rows.push_back({k, json_value_text(cfg[k])}), done.insert(k);
  for (auto it = cfg.begin(); it != cfg.end(); ++it)
    if (!done.count(it.key())) rows.push_back({it.key(), json_value_text(it.value())});
  return rows;
}

std::string sentence(const ToyCorpus& c, int64_t s) {
  std::string out;
  for (int64_t id : c.seqs[static_cast<size_t>(s)]) {
    if (!out.empty()) out += ' ';
    out += c.vocab[static_cast<size_t>(id)];
  }
  return out;
}

std::vector<std::string> position_labels(const ToyCorpus& c, int64_t s) {
  std::vector<std::string> out;
  for (int64_t t = 0; t < c.seq_len(); ++t)
    out.push_back(fmt::format("{} {}", t, c.vocab[static_cast<size_t>(c.seqs[static_cast<size_t>(s)][static_cast<size_t>(t)])]));
  return out;
}

// An HTML table of one sequence's [T, C] block; `target[t]` (or -1) outlines a cell, the row maximum is bold.
std::string value_table(const std::vector<std::string>& rows, const std::vector<std::string>& cols, const float* v,
                        const std::vector<int64_t>& target, bool bold_max) {
  std::string s = "<table class=\"values\">\n<tr><th></th>";
  for (const auto& c : cols) s += "<th>" + escape(c) + "</th>";
  s += "</tr>\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const float* r = v + i * cols.size();
    const size_t best = static_cast<size_t>(std::max_element(r, r + cols.size()) - r);
    s += "<tr><th>" + escape(rows[i]) + "</th>";
    for (size_t j = 0; j < cols.size(); ++j) {
      std::string cls = "num";
      if (i < target.size() && target[i] == static_cast<int64_t>(j)) cls += " target";
      if (bold_max && j == best) cls += " best";
      s += fmt::format("<td class=\"{}\">{:.3f}</td>", cls, r[j]);
    }
    s += "</tr>\n";
  }
  return s + "</table>\n";
}

// The corpus' loss levels as labelled reference lines: "floor", "'the' undecided".
std::vector<svg::Level> level_lines_of(const ToyCorpus& c, const LossLevels& l) {
  std::vector<svg::Level> out{{"floor", l.floor}};
  if (const std::string words = judged_words(c); !words.empty()) out.push_back({words + " undecided", l.undecided});
  return out;
}

// --- a sweep's grid in the report --------------------------------------------------------------------------------

// A panel of the sweep's figures: one combination of the model axes' values (the only one, labelled "", for an
// H-only grid), in grid order; H is each panel's x axis.
struct Facet {
  ToyArch arch;
  std::string label;  // "heads=2 layers=1"
};
std::vector<Facet> facets_of(const SweepConfig& c) {
  std::vector<Facet> out;
  for (const GridPoint& p : grid_points(c))
    if (std::none_of(out.begin(), out.end(), [&](const Facet& f) { return f.arch == p.arch; }))
      out.push_back(Facet{p.arch, point_label(c, p.arch)});
  if (out.empty()) out.push_back(Facet{c.arch, ""});  // a record without head sizes
  return out;
}
// Columns of the small multiples: the last (fastest) model axis across, 2 to 4 panels to a row.
int64_t facet_columns(const SweepConfig& c, size_t panels) {
  int64_t cols = static_cast<int64_t>(c.axes.back().values.size());
  if (cols < 2) cols = 3;
  return std::clamp<int64_t>(std::min<int64_t>(cols, static_cast<int64_t>(panels)), 1, 4);
}
// "one panel per heads &times; layers" (the model axes).
std::string facet_title(const std::string& what, const SweepConfig& c) {
  std::vector<std::string> names;
  for (const GridAxis& a : c.axes) names.push_back(a.name);
  return fmt::format("{}, one panel per {}", what, fmt::join(names, " \u00d7 "));
}
// "H 10, 20 &times; heads 1, 2" (every axis in grid order; `sep` between axes, ", " between values).
std::string axes_text(const SweepConfig& c, const std::string& sep, const std::string& comma = ", ") {
  std::string s;
  for (const GridAxis& a : grid_axes(c)) {
    std::vector<std::string> v;
    for (int64_t x : a.values) v.push_back(axis_value_text(a.name, x));
    s += fmt::format("{}{} {}", s.empty() ? "" : sep, a.name, fmt::join(v, comma));
  }
  return s;
}
// A run's model-axis values as table cells.
std::string axis_cells(const SweepConfig& c, int64_t H, const ToyArch& arch, const char* tag) {
  std::string s;
  for (const GridAxis& a : c.axes)
    s += fmt::format("<{0}>{1}</{0}>", tag, escape(axis_value_text(a.name, axis_value(a.name, H, arch))));
  return s;
}

}  // namespace

namespace {

// --- Every head of every block: the attention layers of a record ---

// One head of one attention layer of a record: weights [N, heads, T, T] (the notebook's AttnWts [N, T, T]: one head).
struct HeadRef {
  std::string layer;  // "AttnWts", "L0/AttnWts"
  int64_t head = 0, heads = 1;
};

// Every head of the record's attention layers, block by block (the notebook's: AttnWts alone).
std::vector<HeadRef> head_refs(const RunRecord& r) {
  std::vector<HeadRef> out;
  for (const auto& [name, w] : r.attention)
    for (int64_t h = 0; h < attention_heads(w); ++h) out.push_back({name, h, attention_heads(w)});
  return out;
}

// "L0 head 1": the block and the head of a variant's attention layer.
std::string head_title(const HeadRef& h) {
  return fmt::format("{} head {}", h.layer.substr(0, h.layer.find('/')), h.head);
}

const Tensor& attention_of(const RunRecord& r, const std::string& layer) {
  for (const auto& [name, w] : r.attention)
    if (name == layer) return w;
  fail("report: the record has no attention layer '{}'", layer);
}

// Sequence s's [T, T] weights of head h in a host copy laid out [S, N, heads, T, T] at snapshot k (or [N, heads, T,
// T] with k = 0).
std::vector<float> head_block(const std::vector<float>& v, int64_t N, int64_t T, const HeadRef& h, int64_t s,
                              int64_t k = 0) {
  const auto off = static_cast<std::ptrdiff_t>((((k * N + s) * h.heads + h.head) * T) * T);
  return {v.begin() + off, v.begin() + off + static_cast<std::ptrdiff_t>(T * T)};
}

// Small multiples of a variant's heads: every head of a block in one row (up to 4 panels to a row).
int64_t head_grid_cols(const RunRecord& r, int64_t panels) {
  return panels <= 4 ? panels : std::min<int64_t>(r.arch.heads, 4);
}

// Sequence s's attention panel of head h at the final weights, titled `title`.
svg::Heatmap head_heatmap(const RunRecord& r, const HeadRef& h, int64_t s, std::string title) {
  svg::Heatmap m;
  m.title = std::move(title);
  m.row_labels = position_labels(r.corpus, s);
  m.col_labels = m.row_labels;
  m.values = head_block(attention_of(r, h.layer).to_vector(), r.corpus.size(), r.corpus.seq_len(), h, s);
  return m;
}

// --- Snapshots over training ---

// The snapshot epochs [S], when the record has a non-empty vector of them.
const Tensor* snapshot_epochs(const RunRecord& r) {
  const Tensor* ep = r.layer("epochs");
  return ep && ep->rank() == 1 && ep->dim(0) > 0 ? ep : nullptr;
}

// The heads whose attention layer has consistent snapshots: <layer>@epochs [S, <the layer's shape>].
std::vector<HeadRef> snapshot_heads(const RunRecord& r) {
  std::vector<HeadRef> out;
  const Tensor* ep = snapshot_epochs(r);
  if (!ep) return out;
  for (const HeadRef& h : head_refs(r)) {
    const Tensor* a = r.layer(h.layer + "@epochs");
    std::vector<int64_t> dims{ep->dim(0)};
    for (int64_t d : attention_of(r, h.layer).shape().dims()) dims.push_back(d);
    if (a && a->shape() == Shape(dims)) out.push_back(h);
  }
  return out;
}

// The epochs and attention snapshots of a record, when it has consistent ones.
bool has_snapshots(const RunRecord& r) { return !snapshot_heads(r).empty(); }

// Up to k evenly spaced indices of 0..n-1, first and last included.
std::vector<int64_t> spaced(int64_t n, int64_t k) {
  std::vector<int64_t> out;
  if (n <= k) {
    for (int64_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  for (int64_t i = 0; i < k; ++i) {
    int64_t j = static_cast<int64_t>(std::llround(static_cast<double>(i) * static_cast<double>(n - 1) / static_cast<double>(k - 1)));
    if (out.empty() || out.back() != j) out.push_back(j);
  }
  return out;
}

// The prediction snapshots activation@epochs [S, N, T, V], when present and consistent with the epochs.
const Tensor* prediction_snapshots(const RunRecord& r) {
  const Tensor* p = r.layer("activation@epochs");
  const Tensor* ep = r.layer("epochs");
  const int64_t N = r.corpus.size(), T = r.corpus.seq_len(), V = r.corpus.vocab_size();
  return p && ep && p->shape() == (Shape{ep->dim(0), N, T, V}) ? p : nullptr;
}

// Sequence s's attention table for the slider: empty cells "<id_prefix><s>-<i>-<j>" that the script fills.
std::string snapshot_attention_table(const ToyCorpus& c, int64_t s, const std::string& id_prefix) {
  const int64_t T = c.seq_len();
  std::vector<std::string> rows = position_labels(c, s);
  std::string b = "<table class=\"values\">\n<tr><th></th>";
  for (const auto& l : rows) b += "<th>" + escape(l) + "</th>";
  b += "</tr>\n";
  for (int64_t i = 0; i < T; ++i) {
    b += "<tr><th>" + escape(rows[static_cast<size_t>(i)]) + "</th>";
    for (int64_t j = 0; j < T; ++j) b += fmt::format("<td class=\"num\" id=\"{}{}-{}-{}\"></td>", id_prefix, s, i, j);
    b += "</tr>\n";
  }
  return b + "</table>\n";
}

// Sequence s's prediction table for the slider: empty cells "pred-<s>-<i>-<v>", the target outlined.
std::string snapshot_prediction_table(const ToyCorpus& c, int64_t s) {
  const int64_t T = c.seq_len(), V = c.vocab_size();
  std::vector<std::string> rows = position_labels(c, s);
  std::string b = fmt::format("<div><h4>Predictions, sequence {}</h4>\n<table class=\"values\">\n<tr><th></th>", s);
  for (const auto& w : c.vocab) b += "<th>" + escape(w) + "</th>";
  b += "</tr>\n";
  for (int64_t i = 0; i < T; ++i) {
    b += "<tr><th>" + escape(rows[static_cast<size_t>(i)]) + "</th>";
    for (int64_t v = 0; v < V; ++v)
      b += fmt::format("<td class=\"num{}\" id=\"pred-{}-{}-{}\"></td>", c.target(s, i) == v ? " target" : "", s, i, v);
    b += "</tr>\n";
  }
  return b + "</table>\n</div>\n";
}

// Numbers for the script's data, 4 significant digits: "0.5,1,0.25".
std::string js_numbers(const std::vector<float>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += fmt::format("{}{:.4g}", i ? "," : "", v[i]);
  return out;
}

// The slider's attention data, [S, N, P, T, T] over the P snapshot heads (the notebook's: AttnWts@epochs itself).
std::vector<float> snapshot_attention_data(const RunRecord& r, const std::vector<HeadRef>& heads, int64_t S) {
  const int64_t N = r.corpus.size(), T = r.corpus.seq_len();
  std::vector<std::vector<float>> all;
  for (const HeadRef& h : heads) all.push_back(r.layer(h.layer + "@epochs")->to_vector());
  std::vector<float> out;
  for (int64_t k = 0; k < S; ++k)
    for (int64_t s = 0; s < N; ++s)
      for (size_t p = 0; p < heads.size(); ++p) {
        const std::vector<float> block = head_block(all[p], N, T, heads[p], s, k);
        out.insert(out.end(), block.begin(), block.end());
      }
  return out;
}

// The slider's script: `show(k)` recolours every cell from snapshot k of the data `d`.
constexpr const char* kSliderStart = R"JS(  var slider = document.getElementById("snap-slider");
  var label = document.getElementById("snap-epoch");
  function paint(cell, v) {
    var g = Math.round(255 * (1 - Math.min(1, Math.max(0, v))));
    cell.style.background = "rgb(" + g + "," + g + "," + g + ")";
    cell.style.color = g < 128 ? "#fff" : "#000";
    cell.textContent = v.toFixed(3);
  }
)JS";
// The notebook's show(k): one attention table per sequence, cells snap-<s>-<i>-<j>.
constexpr const char* kSliderShowOne = R"JS(  function show(k) {
    label.textContent = d.epochs[k];
    for (var s = 0; s < d.N; s++)
      for (var i = 0; i < d.T; i++) {
        for (var j = 0; j < d.T; j++)
          paint(document.getElementById("snap-" + s + "-" + i + "-" + j), d.a[((k * d.N + s) * d.T + i) * d.T + j]);
        for (var v = 0; v < d.V; v++)
          paint(document.getElementById("pred-" + s + "-" + i + "-" + v), d.p[((k * d.N + s) * d.T + i) * d.V + v]);
      }
  }
)JS";
// A variant's show(k): d.P tables per sequence (one per block and head), cells snap-<p>-<s>-<i>-<j>.
constexpr const char* kSliderShowHeads = R"JS(  function show(k) {
    label.textContent = d.epochs[k];
    for (var s = 0; s < d.N; s++)
      for (var i = 0; i < d.T; i++) {
        for (var p = 0; p < d.P; p++)
          for (var j = 0; j < d.T; j++)
            paint(document.getElementById("snap-" + p + "-" + s + "-" + i + "-" + j),
                  d.a[(((k * d.N + s) * d.P + p) * d.T + i) * d.T + j]);
        for (var v = 0; v < d.V; v++)
          paint(document.getElementById("pred-" + s + "-" + i + "-" + v), d.p[((k * d.N + s) * d.T + i) * d.V + v]);
      }
  }
)JS";
constexpr const char* kSliderEnd = R"JS(  slider.addEventListener("input", function () { show(+slider.value); });
  show(+slider.value);
})();
</script>
</section>
)JS";

// Sequence s's attention tables for the slider: the notebook's one table; a variant's one per block and head
// ("L0 head 1"), cells snap-<p>-<s>-<i>-<j>.
std::string snapshot_attention_tables(const RunRecord& r, const std::vector<HeadRef>& heads, int64_t s) {
  const ToyCorpus& c = r.corpus;
  std::string b = fmt::format("<div><h4>Sequence {}: {}</h4>\n", s, escape(sentence(c, s)));
  if (r.arch.notebook()) return b + snapshot_attention_table(c, s, "snap-") + "</div>\n";
  b += "<div class=\"row\">\n";
  for (size_t p = 0; p < heads.size(); ++p)
    b += fmt::format("<div><h4>{}</h4>\n", escape(head_title(heads[p]))) +
         snapshot_attention_table(c, s, fmt::format("snap-{}-", p)) + "</div>\n";
  return b + "</div>\n</div>\n";
}

// The epoch slider: grey-scale attention (and prediction) tables per sequence whose cells an inline script
// recolours from the snapshots; a variant's every block and head.
std::string snapshot_section(const RunRecord& r) {
  const ToyCorpus& c = r.corpus;
  const int64_t N = c.size(), T = c.seq_len(), V = c.vocab_size();
  const std::vector<HeadRef> heads = snapshot_heads(r);
  std::vector<float> ep = r.layer("epochs")->to_vector();
  const Tensor* pred_t = prediction_snapshots(r);
  const std::vector<float> pred = pred_t ? pred_t->to_vector() : std::vector<float>{};
  const int64_t S = static_cast<int64_t>(ep.size());
  std::string b = "<section id=\"snapshots\">\n<h2>Attention over training</h2>\n";
  // With one batch per epoch a snapshot is that epoch's forward pass; with mini-batches, a pass over the whole corpus
  // after the epoch's updates.
  const bool full_batch = !r.config.contains("batch") || r.config["batch"].get<int64_t>() == N;
  b += fmt::format("<p class=\"note\">The attention weights ({}){} recorded at {} epochs ({}). Drag "
                   "the slider to watch the pattern form.</p>\n",
                   r.arch.notebook() ? std::string("<code>AttnWts</code>")
                                     : fmt::format("<code>L&lt;block&gt;/AttnWts</code>, {} head{}: every block and "
                                                   "head recorded", heads.size(), heads.size() == 1 ? "" : "s"),
                   pred_t ? " and the predictions (<code>activation</code>; the outlined cell is the target)" : "",
                   S, full_batch ? "the forward pass of that epoch, before its update"
                                 : "a pass over the whole corpus after that epoch's updates");
  b += fmt::format("<p><input type=\"range\" id=\"snap-slider\" min=\"0\" max=\"{}\" value=\"{}\" step=\"1\" "
                   "style=\"width:480px\"> epoch <b id=\"snap-epoch\">{}</b></p>\n<div class=\"row\">\n",
                   S - 1, S - 1, static_cast<int64_t>(ep.back()));
  for (int64_t s = 0; s < N; ++s) {
    b += snapshot_attention_tables(r, heads, s);
    if (pred_t) b += snapshot_prediction_table(c, s);
  }
  b += "</div>\n<div class=\"figure\">\n" + run_snapshot_figure(r, svg::Options{false}) + "</div>\n";
  const std::string share_fig = run_share_figure(r, svg::Options{false});
  if (!share_fig.empty())
    b += "<h3>The decision over training</h3>\n<p class=\"note\">The share of the target against its strongest "
         "competitor at each judged position, at each snapshot (the verdict's measure; the dotted line is the solved "
         "threshold).</p>\n<div class=\"figure\">\n" + share_fig + "</div>\n";
  std::string data = "{\"N\":" + std::to_string(N) + ",\"T\":" + std::to_string(T);
  if (!r.arch.notebook()) data += ",\"P\":" + std::to_string(heads.size());
  data += ",\"epochs\":[";
  for (int64_t i = 0; i < S; ++i) data += (i ? "," : "") + std::to_string(static_cast<int64_t>(ep[static_cast<size_t>(i)]));
  data += "],\"a\":[" + js_numbers(snapshot_attention_data(r, heads, S));
  data += "],\"V\":" + std::to_string(pred_t ? V : 0) + ",\"p\":[" + js_numbers(pred) + "]}";
  b += "<script>\n(function () {\n  var d = " + data + ";\n" + kSliderStart +
       (r.arch.notebook() ? kSliderShowOne : kSliderShowHeads) + kSliderEnd;
  return b;
}

// The causal mask's adder (1 - mask)·(-1e9) of a sequence as a table: 0 where row i may attend to column j <= i.
std::string mask_adder_table(const std::vector<std::string>& rows) {
  const size_t T = rows.size();
  std::string b = "<div><h4>mask adder</h4>\n<table class=\"values\">\n<tr><th></th>";
  for (const auto& x : rows) b += "<th>" + escape(x) + "</th>";
  b += "</tr>\n";
  for (size_t i = 0; i < T; ++i) {
    b += "<tr><th>" + escape(rows[i]) + "</th>";
    for (size_t j = 0; j < T; ++j) b += j <= i ? "<td class=\"num\">0</td>" : "<td class=\"num\">-1e9</td>";
    b += "</tr>\n";
  }
  return b + "</table>\n</div>\n";
}

// The attention chain of each sequence: dot -> lambda -> + mask adder -> AttnWts -> Voutput -> skipadd -> activation.
std::string chain_section(const RunRecord& r) {
  const ToyCorpus& c = r.corpus;
  const int64_t N = c.size(), T = c.seq_len(), V = c.vocab_size();
  const Tensor *dot = r.layer("dot"), *lam = r.layer("lambda"), *vo = r.layer("Voutput"), *sk = r.layer("skipadd");
  if (!dot || !lam || !vo || !sk || dot->shape() != (Shape{N, T, T}) || lam->shape() != (Shape{N, T, T}) ||
      vo->shape() != (Shape{N, T, V}) || sk->shape() != (Shape{N, T, V}))
    return "";
  std::vector<float> d = dot->to_vector(), l = lam->to_vector(), a = attention_of(r, "AttnWts").to_vector(),
                     v = vo->to_vector(), z = sk->to_vector(), p = r.activation.to_vector();
  std::string b = "<section id=\"chain\">\n<h2>The attention chain</h2>\n<p class=\"note\">Per sequence, each stage "
                  "of the attention layer: raw scores <code>dot</code> = Q&middot;K<sup>T</sup>, scaled scores "
                  "<code>lambda</code> = dot/&radic;H, the causal mask's adder (1 &minus; mask)&middot;(&minus;1e9), the "
                  "softmax weights <code>AttnWts</code>, the value mix <code>Voutput</code> = AttnWts&middot;V, the "
                  "residual sum <code>skipadd</code> = Voutput + XwithPos and the prediction "
                  "<code>activation</code> = sigmoid(skipadd).</p>\n";
  for (int64_t s = 0; s < N; ++s) {
    std::vector<std::string> rows = position_labels(c, s);
    b += fmt::format("<h3>Sequence {}: {}</h3>\n<div class=\"row\">\n", s, escape(sentence(c, s)));
    auto stage = [&](const char* title, const std::vector<std::string>& cols, const float* x) {
      b += fmt::format("<div><h4>{}</h4>\n", title) + value_table(rows, cols, x, {}, false) + "</div>\n";
    };
    stage("dot (raw scores)", rows, d.data() + s * T * T);
    stage("lambda (scaled scores)", rows, l.data() + s * T * T);
    b += mask_adder_table(rows);
    stage("AttnWts (softmax)", rows, a.data() + s * T * T);
    b += "</div>\n<div class=\"row\">\n";
    stage("Voutput (value mix)", c.vocab, v.data() + s * T * V);
    stage("skipadd (residual sum)", c.vocab, z.data() + s * T * V);
    stage("activation (prediction)", c.vocab, p.data() + s * T * V);
    b += "</div>\n";
  }
  return b + "</section>\n";
}

// --- A variant's attention chain, block by block ---

// A block layer's own name: "L0/ffn1" -> "ffn1".
std::string own_name(const std::string& layer) { return layer.substr(layer.find('/') + 1); }

// What a variant's chain layer computes, for its table's title.
std::string chain_stage_title(const RunRecord& r, const std::string& layer) {
  static const std::map<std::string, std::string> kWhat{
      {"XwithPos", "the block's input: XEmbed + PosEmbed"}, {"XEmbed", "the block's input: the embedding"},
      {"Omat", "output projection: &middot;W<sub>O</sub>"}, {"skipadd", "residual sum: input + attention"},
      {"norm1", "LayerNorm"}, {"ffn1", "feed-forward: relu(x&middot;W<sub>1</sub> + b<sub>1</sub>)"},
      {"ffn2", "feed-forward: &middot;W<sub>2</sub> + b<sub>2</sub>"}, {"ffnadd", "residual sum: + feed-forward"},
      {"norm2", "LayerNorm"}};
  const std::string own = own_name(layer);
  std::string what = own == "Voutput" ? (r.arch.heads > 1 ? "value mix of every head, concatenated"
                                                         : "value mix: AttnWts&middot;V")
                                      : kWhat.count(own) ? kWhat.at(own) : own;
  return escape(layer) + " (" + what + ")";
}

// The columns of a variant's [N, T, X] chain layer: the words for the E = V wide ones, the units of ffn1, the head
// dimensions of Voutput with W_O ("h1.3": head 1, dimension 3).
std::vector<std::string> chain_columns(const RunRecord& r, const std::string& layer, int64_t X) {
  const std::string own = own_name(layer);
  std::vector<std::string> out;
  for (int64_t j = 0; j < X; ++j) {
    if (own == "ffn1")
      out.push_back(fmt::format("u{}", j));
    else if (own == "Voutput" && r.arch.has_wo())
      out.push_back(r.arch.heads > 1 ? fmt::format("h{}.{}", j / (X / r.arch.heads), j % (X / r.arch.heads))
                                     : fmt::format("d{}", j));
    else if (X == r.corpus.vocab_size())
      out.push_back(r.corpus.vocab[static_cast<size_t>(j)]);
    else
      out.push_back(fmt::format("d{}", j));
  }
  return out;
}

// Whether a variant's record holds every layer of its chain: dot and lambda [N, heads, T, T], the others [N, T, X].
bool variant_chain_ready(const RunRecord& r) {
  const int64_t N = r.corpus.size(), T = r.corpus.seq_len();
  for (const std::string& name : record_chain_layers(r.arch)) {
    const Tensor* t = r.layer(name);
    const std::string own = own_name(name);
    const bool scores = own == "dot" || own == "lambda";
    if (!t || (scores ? t->shape() != (Shape{N, r.arch.heads, T, T})
                      : t->rank() != 3 || t->dim(0) != N || t->dim(1) != T || t->dim(2) < 1))
      return false;
  }
  return true;
}

// Sequence s's table of a variant's [N, T, X] layer.
std::string chain_stage(const RunRecord& r, const std::string& layer, int64_t s) {
  const Tensor& t = layer == "activation" ? r.activation : *r.layer(layer);
  const int64_t T = r.corpus.seq_len(), X = t.dim(2);
  const std::vector<float> v = t.to_vector();
  const std::string title = layer == "activation" ? "activation (prediction: sigmoid of the last block's output)"
                                                  : chain_stage_title(r, layer);
  return "<div><h4>" + title + "</h4>\n" +
         value_table(position_labels(r.corpus, s), chain_columns(r, layer, X), v.data() + s * T * X, {}, false) +
         "</div>\n";
}

// Sequence s's scores and weights of one head of block `block` ("L0"): dot, lambda, the mask adder, AttnWts.
std::string chain_head_row(const RunRecord& r, const std::string& block, int64_t h, int64_t s) {
  const int64_t N = r.corpus.size(), T = r.corpus.seq_len();
  const std::vector<std::string> rows = position_labels(r.corpus, s);
  std::string b = "<div class=\"row\">\n";
  auto head = [&](const std::string& layer, const Tensor& t, const std::string& what) {
    const HeadRef ref{layer, h, r.arch.heads};
    const std::vector<float> v = head_block(t.to_vector(), N, T, ref, s);
    b += fmt::format("<div><h4>{} head {}: {}</h4>\n", escape(block), h, what) +
         value_table(rows, rows, v.data(), {}, false) + "</div>\n";
  };
  head(block + "/dot", *r.layer(block + "/dot"), "dot (raw scores)");
  head(block + "/lambda", *r.layer(block + "/lambda"), "lambda (scaled scores)");
  if (r.arch.mask) b += mask_adder_table(rows);
  head(block + "/AttnWts", attention_of(r, block + "/AttnWts"), "AttnWts (softmax)");
  return b + "</div>\n";
}

// The block layers after attention that a variant has, as the chain's note lists them: "<code>Voutput</code>, ...".
std::string after_attention_text(const ToyArch& arch) {
  std::string out;
  for (const std::string& name : record_chain_layers(arch)) {
    const std::string own = own_name(name);
    if (name.rfind("L0/", 0) != 0 || own == "dot" || own == "lambda") continue;
    out += (out.empty() ? "" : ", ") + std::string("<code>") + escape(own) + "</code>";
  }
  return out;
}

// A variant's chain: per sequence and block, every head's scores and weights, then the block's value mix, output
// projection, residual sums, LayerNorms and feed-forward layers (those the variant has); the prediction last.
std::string variant_chain_section(const RunRecord& r) {
  if (!variant_chain_ready(r)) return "";
  const ToyCorpus& c = r.corpus;
  std::string b = fmt::format(
      "<section id=\"chain\">\n<h2>The attention chain</h2>\n<p class=\"note\">Per sequence and block "
      "(<code>L0</code> .. <code>L{}</code>; model: {}), each stage: for every head the raw scores <code>dot</code> "
      "= Q&middot;K<sup>T</sup>, the scaled scores <code>lambda</code> = dot/&radic;H,{} the softmax weights "
      "<code>AttnWts</code>; then the block's layers after attention: {}. Block L0's input is <code>{}</code>, each "
      "further block's the output of the block before it (its last table); the prediction <code>activation</code> "
      "is the sigmoid of the last block's output. Q, K and V themselves are left out. Embedding dimensions are "
      "labelled with the words (E = V), feed-forward units u0.., concatenated head dimensions "
      "h&lt;head&gt;.&lt;dim&gt;.</p>\n",
      r.arch.layers - 1, escape(r.arch.describe()),
      r.arch.mask ? " the causal mask's adder (1 &minus; mask)&middot;(&minus;1e9)," : "",
      after_attention_text(r.arch), r.arch.pos ? "XwithPos" : "XEmbed");
  for (int64_t s = 0; s < c.size(); ++s)
    for (int64_t l = 0; l < r.arch.layers; ++l) {
      const std::string block = fmt::format("L{}", l);
      b += fmt::format("<h3>Sequence {}, block {}: {}</h3>\n", s, block, escape(sentence(c, s)));
      if (l == 0) b += "<div class=\"row\">\n" + chain_stage(r, r.arch.pos ? "XwithPos" : "XEmbed", s) + "</div>\n";
      for (int64_t h = 0; h < r.arch.heads; ++h) b += chain_head_row(r, block, h, s);
      b += "<div class=\"row\">\n";
      for (const std::string& name : record_chain_layers(r.arch)) {
        const std::string own = own_name(name);
        if (name.rfind(block + "/", 0) == 0 && own != "dot" && own != "lambda") b += chain_stage(r, name, s);
      }
      if (l + 1 == r.arch.layers) b += chain_stage(r, "activation", s);
      b += "</div>\n";
    }
  return b + "</section>\n";
}

// --- Predictions and attention per sequence ---

// Sequence s's predictions as a heatmap (act: activation [N, T, V], a host copy).
std::string prediction_heatmap(const ToyCorpus& c, const std::vector<float>& act, int64_t s) {
  const int64_t T = c.seq_len(), V = c.vocab_size();
  svg::Heatmap hp;
  hp.title = fmt::format("predictions, sequence {}", s);
  hp.row_labels = position_labels(c, s);
  hp.col_labels = c.vocab;
  hp.col_axis = "predicted next token";
  hp.hover_arrow = " predicts ";
  hp.values.assign(act.begin() + s * T * V, act.begin() + (s + 1) * T * V);
  return "<div class=\"figure\">" + svg::heatmap(hp, svg::Options{false}) + "</div>\n";
}

// Sequence s's prediction table (the target outlined, the row maximum bold).
std::string prediction_value_table(const ToyCorpus& c, const std::vector<float>& act, int64_t s) {
  const int64_t T = c.seq_len(), V = c.vocab_size();
  std::vector<int64_t> target;
  for (int64_t t = 0; t < T; ++t) target.push_back(c.target(s, t));
  return "<div><h4>Predictions (activation)</h4>\n" +
         value_table(position_labels(c, s), c.vocab, act.data() + s * T * V, target, true) + "</div>\n";
}

// The notebook's: per sequence the prediction and attention tables, then both as heatmaps.
std::string sequences_section(const RunRecord& r) {
  const ToyCorpus& c = r.corpus;
  const int64_t N = c.size(), T = c.seq_len();
  std::string b = "<section id=\"sequences\">\n<h2>Predictions and attention per sequence</h2>\n";
  b += "<p class=\"note\">Predictions are the sigmoid outputs (<code>activation</code>); the outlined cell is the "
       "target (the next token), the row maximum is bold. Attention weights (<code>AttnWts</code>): row t attends "
       "to the columns (positions &le; t; the causal mask zeroes the rest).</p>\n";
  std::vector<float> act = r.activation.to_vector(), att = attention_of(r, "AttnWts").to_vector();
  for (int64_t s = 0; s < N; ++s) {
    std::vector<std::string> rows = position_labels(c, s);
    b += fmt::format("<h3 id=\"seq{}\">Sequence {}: {}</h3>\n<div class=\"row\">\n", s, s, escape(sentence(c, s)));
    b += prediction_value_table(c, act, s);
    b += "<div><h4>Attention weights (AttnWts)</h4>\n" + value_table(rows, rows, att.data() + s * T * T, {}, false) +
         "</div>\n</div>\n<div class=\"row\">\n";
    svg::Heatmap ha;
    ha.title = fmt::format("attention weights, sequence {}", s);
    ha.row_labels = rows;
    ha.col_labels = rows;
    ha.values.assign(att.begin() + s * T * T, att.begin() + (s + 1) * T * T);
    b += "<div class=\"figure\">" + svg::heatmap(ha, svg::Options{false}) + "</div>\n";
    b += prediction_heatmap(c, act, s) + "</div>\n";
  }
  return b + "</section>\n";
}

// Sequence s's attention at the final weights, one panel per block and head titled "L0 head 1" (small multiples).
std::string head_grid(const RunRecord& r, int64_t s, const svg::Options& o) {
  const std::vector<HeadRef> heads = head_refs(r);
  std::vector<svg::Heatmap> panels;
  for (const HeadRef& h : heads) panels.push_back(head_heatmap(r, h, s, head_title(h)));
  return svg::heatmap_grid(panels, head_grid_cols(r, static_cast<int64_t>(heads.size())), o);
}

// A variant's: per sequence the prediction table and heatmap, then every block's and head's attention weights.
std::string variant_sequences_section(const RunRecord& r) {
  const ToyCorpus& c = r.corpus;
  std::string b = "<section id=\"sequences\">\n<h2>Predictions and attention per sequence</h2>\n";
  b += fmt::format("<p class=\"note\">Predictions are the sigmoid outputs (<code>activation</code>); the outlined cell "
                   "is the target (the next token), the row maximum is bold. Attention weights of every block and head "
                   "(<code>L&lt;block&gt;/AttnWts</code>, {} blocks of {} head{}; &ldquo;L0 head 1&rdquo; is block "
                   "L0's head 1): row t attends to the columns{}.</p>\n",
                   r.arch.layers, r.arch.heads, r.arch.heads == 1 ? "" : "s",
                   r.arch.mask ? " (positions &le; t; the causal mask zeroes the rest)" : " (no causal mask)");
  const std::vector<float> act = r.activation.to_vector();
  for (int64_t s = 0; s < c.size(); ++s) {
    b += fmt::format("<h3 id=\"seq{}\">Sequence {}: {}</h3>\n<div class=\"row\">\n", s, s, escape(sentence(c, s)));
    b += prediction_value_table(c, act, s) + prediction_heatmap(c, act, s) + "</div>\n";
    b += fmt::format("<h4>Attention weights, sequence {}: every block and head</h4>\n<div class=\"figure\">\n", s) +
         head_grid(r, s, svg::Options{false}) + "</div>\n";
  }
  return b + "</section>\n";
}

// The summary's "attention the -> subject": the value, and for a variant the head it comes from.
std::string attention_summary(const RunRecord& r) {
  if (std::isnan(r.attn_the_to_subject)) return "n/a";
  std::string where;
  for (const auto& [layer, heads] : r.attn_heads)
    for (size_t h = 0; h < heads.size() && where.empty(); ++h)
      if (heads[h] == r.attn_the_to_subject) where = head_title(HeadRef{layer, static_cast<int64_t>(h)});
  return fmt::format("{:.3f}", r.attn_the_to_subject) + (where.empty() ? "" : " (the strongest head: " + where + ")");
}

// A variant's attention to the evidence per block and head: ("L0", "head 0 0.249, head 1 0.251"), ...
std::vector<std::pair<std::string, std::string>> attention_head_rows(const RunRecord& r) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& [layer, heads] : r.attn_heads) {
    std::string text;
    for (size_t h = 0; h < heads.size(); ++h)
      text += fmt::format("{}head {} {}", h ? ", " : "", h,
                          std::isnan(heads[h]) ? std::string("n/a") : fmt::format("{:.3f}", heads[h]));
    rows.push_back({layer.substr(0, layer.find('/')), text});
  }
  return rows;
}

// attention.svg of a variant: per sequence one panel per block and head, "sequence 0: L0 head 1".
std::string head_attention_figure(const RunRecord& r, const svg::Options& o) {
  const std::vector<HeadRef> heads = head_refs(r);
  std::vector<svg::Heatmap> panels;
  for (int64_t s = 0; s < r.corpus.size(); ++s)
    for (const HeadRef& h : heads) panels.push_back(head_heatmap(r, h, s, fmt::format("sequence {}: {}", s, head_title(h))));
  return svg::heatmap_grid(panels, head_grid_cols(r, static_cast<int64_t>(heads.size())), o);
}
}  // namespace

std::string run_snapshot_figure(const RunRecord& r, const svg::Options& o) {
  const std::vector<HeadRef> heads = snapshot_heads(r);
  if (heads.empty()) return "";
  const ToyCorpus& c = r.corpus;
  const int64_t N = c.size(), T = c.seq_len();
  std::vector<float> ep = r.layer("epochs")->to_vector();
  std::map<std::string, std::vector<float>> snaps;  // <layer>@epochs [S, N(, heads), T, T], a host copy
  for (const HeadRef& h : heads)
    if (!snaps.count(h.layer)) snaps[h.layer] = r.layer(h.layer + "@epochs")->to_vector();
  const std::vector<int64_t> picks = spaced(static_cast<int64_t>(ep.size()), 8);
  std::vector<svg::Heatmap> panels;
  for (int64_t s = 0; s < N; ++s)
    for (const HeadRef& h : heads)
      for (int64_t k : picks) {
        svg::Heatmap m;
        const auto epoch = static_cast<int64_t>(ep[static_cast<size_t>(k)]);
        m.title = r.arch.notebook() ? fmt::format("sequence {}, epoch {}", s, epoch)
                                    : fmt::format("sequence {}, {}, epoch {}", s, head_title(h), epoch);
        m.row_labels = position_labels(c, s);
        m.col_labels = m.row_labels;
        m.values = head_block(snaps[h.layer], N, T, h, s, k);
        m.show_values = false;
        panels.push_back(std::move(m));
      }
  return svg::heatmap_grid(panels, static_cast<int64_t>(std::min<size_t>(picks.size(), 4)), o);
}

std::string run_share_figure(const RunRecord& r, const svg::Options& o) {
  const Tensor* ep = r.layer("epochs");
  const Tensor* sh = r.layer("share@epochs");
  const int64_t J = static_cast<int64_t>(r.verdict.positions.size());
  if (!ep || !sh || J == 0 || ep->rank() != 1 || sh->shape() != (Shape{ep->dim(0), J})) return "";
  const std::vector<float> e = ep->to_vector(), v = sh->to_vector();
  svg::LinePlot p;
  p.title = "decision share of each judged position over training";
  p.x_label = "epoch";
  p.y_label = "share (target vs strongest competitor)";
  p.x.assign(e.begin(), e.end());
  const ToyCorpus& c = r.corpus;
  for (int64_t j = 0; j < J; ++j) {
    svg::Series se;
    se.label = judged_label(c, r.verdict.positions[static_cast<size_t>(j)].at);
    for (size_t k = 0; k < e.size(); ++k) se.y.push_back(v[k * static_cast<size_t>(J) + static_cast<size_t>(j)]);
    p.series.push_back(std::move(se));
  }
  const double thr = r.config.contains("solved_share") ? r.config["solved_share"].get<double>() : 0.9;
  p.levels = {{"solved", thr}, {"coin flip", 0.5}};
  return svg::line_plot(p, o);
}

void write_run_dir(const std::string& dir, const RunRecord& r, const NpzArrays& weights,
                   const NpzArrays& activations) {
  make_dirs(dir);
  save_npz((fs::path(dir) / "weights.npz").string(), weights);
  save_npz((fs::path(dir) / "activations.npz").string(), activations);
  write_file_atomic((fs::path(dir) / "loss.svg").string(), run_loss_figure(r));
  write_file_atomic((fs::path(dir) / "attention.svg").string(), run_attention_figure(r));
  if (has_snapshots(r)) write_file_atomic((fs::path(dir) / "attention_epochs.svg").string(), run_snapshot_figure(r));
  write_file_atomic((fs::path(dir) / "report.html").string(), run_report_html(r));
  write_file_atomic((fs::path(dir) / "run.json").string(), run_json(r).dump(1) + "\n");
}

void write_sweep_dir(const std::string& dir, const SweepData& d) {
  write_sweep_tables(dir, d);
  auto path = [&](const char* name) { return (fs::path(dir) / name).string(); };
  write_file_atomic(path("final_loss.svg"), sweep_loss_figure(d));
  write_file_atomic(path("outcome_rate.svg"), sweep_rate_figure(d));
  write_file_atomic(path("report.html"), sweep_report_html(d));
  // Last: a directory with sweep.json is complete.
  write_file_atomic(path("sweep.json"), sweep_json(d).dump(2) + "\n");
}

std::string run_report_html(const RunRecord& r) {
  const ToyCorpus& c = r.corpus;
  const int64_t N = c.size(), T = c.seq_len(), V = c.vocab_size();
  const std::string H = r.config.contains("H") ? json_value_text(r.config["H"]) : "?";
  const std::string seed = r.config.contains("seed") ? json_value_text(r.config["seed"]) : "?";
  std::string b;
  b += fmt::format("<h1>toyformer run: H={}, seed {}</h1>\n<p class=\"sub\">{}{} epochs, {} sequences of {} tokens, "
                   "vocabulary of {}</p>\n",
                   escape(H), escape(seed), r.arch.notebook() ? "" : "model " + escape(r.arch.describe()) + "; ",
                   r.loss.size(), N, T, V);

  b += "<section id=\"summary\">\n<h2>Summary</h2>\n";
  {
    std::string name = outcome_name(r.verdict.outcome);
    std::string upper = name;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char ch) { return std::toupper(ch); });
    b += fmt::format("<p class=\"verdict {}\">{} &mdash; {}</p>\n<p class=\"because\">{}</p>\n", name, upper,
                     escape(r.verdict.positions_text(c)), escape(r.verdict.because));
    b += "<p class=\"note\">At each judged position (the next token is fixed by the sentence so far but not by the "
         "token itself: <code>the</code>) the two numbers are the sigmoid outputs of the prediction table for the "
         "target and its strongest competitor. The <em>share</em> is p(target) / (p(target) + p(competitor)) on the "
         "distribution the model was trained to produce (the softmax over the pre-sigmoid logits under the Keras "
         "loss), so 0.5 is a coin flip; solved means a share of at least the threshold at every judged position. "
         "Stuck: not solved and no longer improving; unfinished: not solved but still improving.</p>\n";
  }
  std::string reds = r.reductions.empty() ? "none" : "";
  for (size_t i = 0; i < r.reductions.size(); ++i) {
    const int64_t e = r.reductions[i];
    if (i) reds += ", ";
    reds += static_cast<size_t>(e + 1) < r.lr.size()
                ? fmt::format("epoch {} (lr {:.3g})", e + 1, r.lr[static_cast<size_t>(e + 1)])
                : fmt::format("epoch {}", e + 1);
  }
  b += kv_table({{"final loss", fmt::format("{:.4f}", r.final_loss)},
                 {"loss levels", loss_levels_text(c, r.levels)},
                 {"decision share", std::isnan(r.verdict.share) ? std::string("n/a")
                                                                : fmt::format("{:.3f} (solved at >= {})",
                                                                              r.verdict.share,
                                                                              r.config.contains("solved_share")
                                                                                  ? json_value_text(r.config["solved_share"])
                                                                                  : std::string("0.9"))},
                 {"final learning rate", fmt::format("{:.4g}", r.final_lr)},
                 {"epochs", fmt::format("{}{}", r.loss.size(), r.stopped_early ? " (early stop)" : "")},
                 {"LR reductions", reds},
                 {"attention the \u2192 subject", attention_summary(r)},
                 {"parameters", fmt::format("{}", r.params)},
                 {"\u00b5s per training step", fmt::format("{:.2f}", r.us_per_step)}});
  if (!r.attn_heads.empty())
    b += "<p class=\"note\">Attention the &rarr; subject: the attention weight from each position whose next token "
         "depends on the subject to the position that tells the sentences apart, mean over those positions, for "
         "every block and head (the summary row gives the strongest head):</p>\n" + kv_table(attention_head_rows(r));
  b += "</section>\n";

  b += "<section id=\"config\">\n<h2>Configuration</h2>\n";
  b += kv_table(config_rows(r.config), 3);
  b += "<h4>Corpus</h4>\n<table>\n";
  for (int64_t s = 0; s < N; ++s) b += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", s, escape(sentence(c, s)));
  b += "</table>\n</section>\n";

  b += "<section id=\"loss\">\n<h2>Loss curve</h2>\n<div class=\"figure\">\n";
  const svg::Options inl{false};
  b += run_loss_figure(r, inl);
  b += "</div>\n</section>\n";

  b += r.arch.notebook() ? sequences_section(r) : variant_sequences_section(r);
  b += r.arch.notebook() ? chain_section(r) : variant_chain_section(r);
  const bool snaps = has_snapshots(r);
  if (snaps) b += snapshot_section(r);
  return page(fmt::format("toyformer run H={} seed {}", H, seed), b, snaps);
}

namespace {

// One panel of final_loss.svg: the runs of one facet, a box + strip per H.
svg::Distribution loss_panel(const SweepData& d, const Facet& f, bool log_y) {
  svg::Distribution dist;
  dist.title = f.label.empty() ? "final loss per H" : f.label;
  dist.y_label = "final loss";
  // Colour by outcome, in the order of outcome_category.
  dist.category_names = {"solved", "stuck", "unfinished"};
  if (std::any_of(d.runs.begin(), d.runs.end(), [](const RunResult& r) { return r.outcome == Outcome::None; }))
    dist.category_names.push_back("none");
  dist.category_colors = {"#2166ac", "#d6604d", "#e08214", "#808080"};
  dist.levels = level_lines_of(d.corpus, loss_levels(d.corpus));
  dist.log_y = log_y;
  const std::string where = f.label.empty() ? "" : " " + f.label;
  for (int64_t H : d.config.Hs) {
    svg::Group g;
    g.label = fmt::format("H={}", H);
    for (const RunResult& r : d.runs)
      if (r.H == H && r.arch == f.arch) {
        g.values.push_back(r.final_loss);
        g.category.push_back(static_cast<int>(r.outcome));
        g.hover.push_back(fmt::format("H={}{} seed {}: final loss {:.4f}, {} (share {:.2f})", r.H, where, r.seed,
                                      r.final_loss, outcome_name(r.outcome), r.share));
      }
    dist.groups.push_back(std::move(g));
  }
  return dist;
}

// One panel of outcome_rate.svg: a facet's grid points, the outcome rates per H.
svg::RatePlot rate_panel(const SweepData& d, const Facet& f) {
  svg::RatePlot p;
  p.title = f.label.empty() ? "outcomes per H" : f.label;
  p.y_label = "share of runs (95% Wilson interval)";
  p.series = {"solved", "stuck", "unfinished"};
  p.colors = {"#2166ac", "#d6604d", "#e08214"};
  for (const HSummary& h : summarize(d.config, d.runs)) {
    if (!(h.arch == f.arch)) continue;
    svg::RateGroup g{fmt::format("H={}", h.H), {}};
    for (const OutcomeCount* oc : {&h.solved, &h.stuck, &h.unfinished})
      g.rates.push_back(svg::Rate{oc->k, h.runs, oc->ci.lo, oc->ci.hi});
    p.groups.push_back(std::move(g));
  }
  return p;
}

}  // namespace

// With model axes: small multiples, one panel per combination of their values (H across each, one shared y axis).
std::string sweep_loss_figure(const SweepData& d, const svg::Options& o) {
  // Log scale only when the losses span more than a factor of 5 (a sweep's final losses usually do not).
  double lo_loss = std::numeric_limits<double>::infinity(), hi_loss = 0;
  for (const RunResult& r : d.runs)
    if (std::isfinite(r.final_loss) && r.final_loss > 0)
      lo_loss = std::min(lo_loss, static_cast<double>(r.final_loss)),
      hi_loss = std::max(hi_loss, static_cast<double>(r.final_loss));
  const bool log_y = hi_loss > 5 * lo_loss;
  const std::vector<Facet> facets = facets_of(d.config);
  if (d.config.axes.empty()) return svg::box_strip(loss_panel(d, facets.front(), log_y), o);
  std::vector<svg::Distribution> panels;
  for (const Facet& f : facets) panels.push_back(loss_panel(d, f, log_y));
  return svg::box_strip_grid(panels, facet_columns(d.config, panels.size()), facet_title("final loss per H", d.config),
                             o);
}

std::string sweep_rate_figure(const SweepData& d, const svg::Options& o) {
  const std::vector<Facet> facets = facets_of(d.config);
  if (d.config.axes.empty()) return svg::rate_plot(rate_panel(d, facets.front()), o);
  std::vector<svg::RatePlot> panels;
  for (const Facet& f : facets) panels.push_back(rate_panel(d, f));
  return svg::rate_plot_grid(panels, facet_columns(d.config, panels.size()), facet_title("outcomes per H", d.config),
                             o);
}

std::string run_loss_figure(const RunRecord& r, const svg::Options& o) {
  svg::LossCurve lc;
  lc.title = fmt::format("training loss (H={}, seed {})", r.config.contains("H") ? json_value_text(r.config["H"]) : "?",
                         r.config.contains("seed") ? json_value_text(r.config["seed"]) : "?");
  lc.loss = r.loss;
  lc.lr = r.lr;
  lc.reductions = r.reductions;
  lc.levels = level_lines_of(r.corpus, r.levels);
  return svg::loss_curve(lc, o);
}

std::string run_attention_figure(const RunRecord& r, const svg::Options& o) {
  if (!r.arch.notebook()) return head_attention_figure(r, o);
  const ToyCorpus& c = r.corpus;
  const int64_t T = c.seq_len();
  std::vector<float> att = attention_of(r, "AttnWts").to_vector();
  std::vector<svg::Heatmap> panels;
  for (int64_t s = 0; s < c.size(); ++s) {
    svg::Heatmap h;
    h.title = fmt::format("attention weights, sequence {}", s);
    h.row_labels = position_labels(c, s);
    h.col_labels = h.row_labels;
    h.values.assign(att.begin() + s * T * T, att.begin() + (s + 1) * T * T);
    panels.push_back(std::move(h));
  }
  return svg::heatmaps(panels, o);
}

std::string sweep_report_html(const SweepData& d) {
  const SweepConfig& c = d.config;
  std::vector<HSummary> sum = summarize(c, d.runs);
  std::string b;
  const bool grid = c.grid_layout();
  b += fmt::format("<h1>toyformer sweep: {} &times; {} seeds</h1>\n<p class=\"sub\">{} runs of {} epochs{}</p>\n",
                   escape(axes_text(c, " \u00d7 ")), c.seeds, d.runs.size(), c.epochs,
                   d.shard.count > 1 ? escape(fmt::format(", shard {} of the grid", d.shard.str()))
                   : static_cast<int64_t>(d.runs.size()) < d.grid_size
                       ? escape(fmt::format(", {} of the grid's {} points", d.runs.size(), d.grid_size))
                       : std::string());

  b += "<section id=\"summary\">\n<h2>Summary</h2>\n<table>\n<tr><th>H</th>";
  for (const GridAxis& a : c.axes) b += "<th>" + escape(a.name) + "</th>";
  b += "<th>runs</th><th>solved</th><th>stuck</th><th>unfinished</th><th>final loss median</th><th>q1</th><th>q3</th>";
  b += grid ? "<th>path</th></tr>\n" : "</tr>\n";
  auto cell = [](const OutcomeCount& o) {
    return fmt::format("<td class=\"num\">{} ({:.1f}%, {:.1f}&ndash;{:.1f}%)</td>", o.k, 100 * o.rate, 100 * o.ci.lo,
                       100 * o.ci.hi);
  };
  for (const HSummary& h : sum)
    b += fmt::format("<tr><th>{}</th>{}<td class=\"num\">{}</td>{}{}{}<td class=\"num\">{:.4f}</td><td "
                     "class=\"num\">{:.4f}</td><td class=\"num\">{:.4f}</td>{}</tr>\n",
                     h.H, axis_cells(c, h.H, h.arch, "th"), h.runs, cell(h.solved), cell(h.stuck), cell(h.unfinished),
                     h.loss_median, h.loss_q1, h.loss_q3,
                     grid ? "<td>" + escape(training_path(c, h.arch)) + "</td>" : std::string());
  const LossLevels lv = loss_levels(d.corpus);
  b += fmt::format("</table>\n<p class=\"note\">Each run gets <code>train</code>'s verdict. At every judged position "
                   "(the next token is fixed by the prefix but not by the token alone: <code>the</code>) the "
                   "<em>share</em> is p(target) / (p(target) + p(strongest competitor)) on the distribution the model "
                   "was trained on. <em>Solved</em>: share &ge; {:g} at every judged position. <em>Stuck</em>: not "
                   "solved, and training stopped moving (the plateau rule drove the learning rate to min_lr, or the "
                   "loss fell by less than 1e-3 over the last 10% of epochs). <em>Unfinished</em>: not solved but "
                   "still improving (more epochs would likely help). Counts with the rate and its 95% Wilson score "
                   "interval; loss quartiles interpolate linearly between order statistics. Loss levels of this "
                   "corpus: {}.{}</p>\n</section>\n",
                   c.solved_share, escape(loss_levels_text(d.corpus, lv)),
                   grid ? " <em>Path</em>: how a grid point's seeds trained: <em>fused stacks</em> (the notebook's "
                          "model: its seeds as stacks of models on one fused step), <em>graph stacks</em> (the same "
                          "on <code>--step graph</code>, and every variant: its seeds as stacks of models on the "
                          "op-by-op graph)."
                        : "");

  b += "<section id=\"plots\">\n<h2>Plots</h2>\n<div class=\"row\">\n";
  const svg::Options inl{false};
  b += "<div class=\"figure\">" + sweep_loss_figure(d, inl) + "</div>\n";
  b += "<div class=\"figure\">" + sweep_rate_figure(d, inl) + "</div>\n</div>\n</section>\n\n";
  b += "<section id=\"config\">\n<h2>Configuration</h2>\n";
  std::vector<std::pair<std::string, std::string>> cfg{
      {"H", fmt::format("{}", fmt::join(c.Hs, ", "))}};
  for (const GridAxis& a : c.axes) cfg.push_back({a.name, axis_values_text(a)});
  if (!c.axes.empty()) cfg.push_back({"grid order", axes_text(c, ", then ", ",") + ", then seeds"});
  if (!c.arch.notebook()) cfg.push_back({"model", c.arch.describe()});
  const std::vector<std::pair<std::string, std::string>> rest{
      {"seeds", fmt::format("{} .. {}", c.seed_start, c.seed_start + static_cast<uint64_t>(c.seeds) - 1)},
      {"epochs", fmt::format("{}", c.epochs)},
      {"batch", fmt::format("{}", c.batch)},
      {"optimizer", c.optimizer},
      {"lr", c.lr < 0 ? std::string("default") : fmt::format("{:.6g}", c.lr)},
      {"momentum", fmt::format("{:g}", c.momentum)},
      {"nesterov", c.nesterov ? "yes" : "no"},
      {"ReduceLROnPlateau", c.plateau ? fmt::format("factor {:g}, patience {}, min_lr {:g}, min_delta {:g}, cooldown {}",
                                                    c.plateau_factor, c.plateau_patience, c.min_lr, c.min_delta,
                                                    c.cooldown)
                                      : std::string("off")},
      {"early stopping", c.early_stop >= 0 ? fmt::format("patience {}, min_delta {:g}", c.early_stop,
                                                         c.early_stop_min_delta)
                                                  : std::string("off")},
      {"solved share", fmt::format("{:g}", c.solved_share)},
      {"loss", c.loss},
      {"device", c.device},
      {"corpus", c.corpus_source},
      {"shard", d.shard.str()}};
  cfg.insert(cfg.end(), rest.begin(), rest.end());
  b += kv_table(cfg, 2);
  b += "<h4>Corpus</h4>\n<table>\n";
  for (int64_t s = 0; s < d.corpus.size(); ++s)
    b += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", s, escape(sentence(d.corpus, s)));
  b += "</table>\n</section>\n";

  std::string axis_heads;
  for (const GridAxis& a : c.axes) axis_heads += "<th>" + escape(a.name) + "</th>";
  b += fmt::format("<section id=\"runs\">\n<h2>Runs</h2>\n<details>\n<summary>all {} runs</summary>\n<table>\n"
                   "<tr><th>H</th>{}<th>seed</th><th>final loss</th><th>final lr</th><th>outcome</th><th>share</th>"
                   "<th>attention the &rarr; subject</th>{}<th>epochs</th><th>LR reductions</th></tr>\n",
                   d.runs.size(), axis_heads, grid ? "<th>attention per head</th>" : "");
  for (const RunResult& r : d.runs) {
    std::string heads;
    for (float v : r.attn_heads) heads += fmt::format("{}{:.3f}", heads.empty() ? "" : " ", v);
    b += fmt::format("<tr><td class=\"num\">{}</td>{}<td class=\"num\">{}</td><td class=\"num\">{:.4f}</td><td "
                     "class=\"num\">{:.4g}</td><td>{}</td><td class=\"num\">{:.3f}</td><td class=\"num\">{:.3f}</td>"
                     "{}<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                     r.H, axis_cells(c, r.H, r.arch, "td"), r.seed, r.final_loss, r.final_lr, outcome_name(r.outcome),
                     r.share, r.attn_the_to_subject, grid ? "<td class=\"num\">" + heads + "</td>" : std::string(),
                     r.epochs, r.lr_reductions);
  }
  b += "</table>\n</details>\n<p class=\"note\"><em>attention the &rarr; subject</em>: the attention weight from each "
       "position whose next token depends on the subject (<code>the</code>) to the position that tells the sentences "
       "apart (<code>man</code>/<code>woman</code>), mean over those positions.";
  if (grid)
    b += " For a model with several blocks or heads it is the strongest evidence head: the maximum of <em>attention "
         "per head</em>, which lists the same measure for every head of every block (block 0's heads first: L0h0 "
         "L0h1 &hellip; L1h0 &hellip;; runs.csv: <code>attn_heads</code>, space-separated). <code>train</code>'s "
         "run.json reports block 0's head 0.";
  b += "</p>\n</section>\n";
  return page("toyformer sweep " + axes_text(c, " ", ","), b);
}

std::string report_for_dir(const std::string& dir) {
  TOY_CHECK(fs::is_directory(dir), "report: '{}' is not a directory", dir);
  if (fs::exists(fs::path(dir) / "sweep.json")) return sweep_report_html(load_sweep_dir(dir));
  if (fs::exists(fs::path(dir) / "run.json")) return run_report_html(load_run_dir(dir));
  fail("report: '{}' holds neither run.json (train --out) nor sweep.json (sweep --out)", dir);
}

}  // namespace toy
