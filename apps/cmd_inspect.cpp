// `toyformer inspect A.npz|DIR [--layer NAME] [--seq i] [--heatmap out.svg]`: the layers of an activation dump with
// their shapes, or one layer as labelled tables (rows: positions "3 the"; columns: positions, vocabulary words, head
// dimensions or feed-forward units; a model variant's attention layers one table per head), optionally as an SVG
// heatmap. `--epoch E` shows a training snapshot (<layer>@epochs); `--position P` one position's row at every snapshot
// epoch; `--chain` each sequence's attention chain side by side (dot, lambda, mask adder, AttnWts, Voutput, skipadd,
// activation; a variant's block by block and head by head). Every array is checked against the others when the dump is
// loaded (load_dump, apps/lib/tools/inspect.h), so a damaged or hand-made dump gives one error line, never a crash.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "apps/commands.h"
#include "apps/lib/formats/fs_util.h"
#include "apps/lib/tools/inspect.h"
#include "apps/lib/training/train.h"
#include "apps/lib/visual/report.h"
#include "apps/lib/visual/svg.h"
#include "core/error.h"
#include "core/npz.h"
#include "layers/toy_model.h"

namespace toy::app {
namespace {

struct InspectCli {
  std::string file, layer, heatmap;
  int64_t seq = -1, epoch = -1, position = -1;
  bool chain = false;
};

std::string text_table(const std::vector<std::string>& rows, const std::vector<std::string>& cols, const float* v,
                       int decimals) {
  return labelled_table(rows, cols, v, decimals, 7);
}

// Column labels of a layer's last axis: positions "3 the", words, feed-forward units "u4", head dimensions "h7" (a
// variant's heads concatenated: "h1.7", head 1, dimension 7), else "d0"..
std::vector<std::string> col_labels(const Dump& d, Axis a, int64_t s, int64_t X) {
  const int64_t heads = d.variant() && X % d.arch.heads == 0 ? d.arch.heads : 1;
  std::vector<std::string> out;
  for (int64_t j = 0; j < X; ++j) {
    if (a == Axis::Position && X == d.T)
      out.push_back(d.position(s, j));
    else if (a == Axis::Vocab && X == static_cast<int64_t>(d.vocab.size()))
      out.push_back(d.vocab[static_cast<size_t>(j)]);
    else if (a == Axis::Unit)
      out.push_back(fmt::format("u{}", j));
    else if (a == Axis::Head && heads > 1)
      out.push_back(fmt::format("h{}.{}", j / (X / heads), j % (X / heads)));
    else
      out.push_back(fmt::format("{}{}", a == Axis::Head ? "h" : "d", j));
  }
  return out;
}

// The axes of a layer (or of its gradient or snapshots): axis_text, with the head axis of a variant's attention
// layers ("sequence x head x position x position (attended to)").
std::string layer_axes(const Dump& d, const std::string& name) {
  const std::string text = axis_text(d.axis(name));
  const Tensor* layer = d.find(base_layer(name));
  if (!layer || layer->rank() != 4 || text.rfind("sequence x ", 0) != 0) return text;
  return "sequence x head x " + text.substr(11);
}

int list_layers(const InspectCli& c, const Dump& d) {
  fmt::print("activation dump {}: B={} sequences, T={} positions, V={} words; vocabulary {}\n", c.file, d.B, d.T, d.V,
             d.vocab_source);
  if (d.variant())
    fmt::print("  model: {} ({}{})\n", d.arch.describe(), d.arch_source,
               d.arch_source == "from its run.json" ? "" : "; the causal mask from the weights");
  for (int64_t s = 0; s < d.B; ++s) {
    std::string sent;
    for (int64_t t = 0; t < d.T; ++t) sent += (t ? " " : "") + d.word(d.ids[static_cast<size_t>(s)][static_cast<size_t>(t)]);
    fmt::print("  sequence {}: {}\n", s, sent);
  }
  size_t w = 17;  // the notebook's names fit; a variant's "L0/AttnWts@epochs" may not
  if (d.variant())
    for (const auto& [name, t] : d.arrays) w = std::max(w, name.size() + 1);
  fmt::print("\n{:<{}} {:<12} {}\n", "layer", w, "shape", "axes");
  for (const auto& [name, t] : d.arrays) {
    std::string axes;
    if (name == "Xseqids") axes = "sequence x position (token ids)";
    else if (name == "PosInput") axes = "sequence x position (position ids)";
    else if (name == "loss" || name == "lr") axes = "epoch";
    else if (name == kDumpVocab) axes = "word x code point";
    else if (name == "epochs") axes = "snapshot (the epoch of each, 1-based)";
    else if (name == "share@epochs") axes = "snapshot x judged position (the verdict's share)";
    else if (name.find("@epochs") != std::string::npos) axes = "snapshot x " + layer_axes(d, name);
    else if (name.rfind("grad/param/", 0) == 0) axes = "d loss / d weight (final weights)";
    else if (name.rfind("grad/", 0) == 0) axes = "d loss / d layer: " + layer_axes(d, name);
    else axes = layer_axes(d, name);
    fmt::print("{:<{}} {:<12} {}\n", name, w, t.shape().str(), axes);
  }
  fmt::print("\nshow one: toyformer inspect {} --layer {} [--seq 0] [--heatmap attn.svg]\n", c.file,
             d.variant() ? "L0/AttnWts" : "AttnWts");
  return 0;
}

int show_history(const std::string& name, const Tensor& t) {
  std::vector<float> v = t.to_vector();
  const int64_t n = static_cast<int64_t>(v.size());
  fmt::print("{} per epoch ({} epochs){}\n", name, n, n > 21 ? ", sampled" : "");
  if (n == 0) return 0;
  const int64_t step = std::max<int64_t>(1, (n + 19) / 20);
  fmt::print("{:>8} {:>12}\n", "epoch", name);
  for (int64_t e = 0; e < n; e += step) fmt::print("{:>8} {:>12.6g}\n", e + 1, v[static_cast<size_t>(e)]);
  if ((n - 1) % step != 0) fmt::print("{:>8} {:>12.6g}\n", n, v[static_cast<size_t>(n - 1)]);
  auto mn = std::min_element(v.begin(), v.end());
  fmt::print("min {:.6g} at epoch {}, last {:.6g}\n", *mn, mn - v.begin() + 1, v.back());
  return 0;
}

// Tables laid side by side: each block's lines padded to its widest, joined with a gap.
std::string side_by_side(const std::vector<std::string>& blocks) {
  std::vector<std::vector<std::string>> lines;
  std::vector<size_t> width;
  size_t n = 0;
  for (const auto& b : blocks) {
    lines.emplace_back();
    size_t w = 0, i = 0;
    while (i < b.size()) {
      size_t j = b.find('\n', i);
      if (j == std::string::npos) j = b.size();
      lines.back().push_back(b.substr(i, j - i));
      w = std::max(w, utf8_decode(lines.back().back()).size());
      i = j + 1;
    }
    width.push_back(w);
    n = std::max(n, lines.back().size());
  }
  std::string out;
  for (size_t r = 0; r < n; ++r) {
    std::string row;
    for (size_t k = 0; k < blocks.size(); ++k) {
      const std::string cell = r < lines[k].size() ? lines[k][r] : "";
      row += cell;
      if (k + 1 < blocks.size()) row += std::string(width[k] - utf8_decode(cell).size() + 4, ' ');
    }
    while (!row.empty() && row.back() == ' ') row.pop_back();
    out += row + "\n";
  }
  return out;
}

// The causal mask's adder (1 - mask) * -1e9 as a table: 0 where position i may attend to j <= i, -1e9 above.
std::string mask_block(const std::vector<std::string>& rows) {
  std::string mask = "mask adder (1-mask)*-1e9\n";
  size_t w0 = 0, wc = 7;
  for (const auto& r : rows) w0 = std::max(w0, r.size()), wc = std::max(wc, r.size() + 1);
  mask += fmt::format("{:<{}}", "", w0);
  for (const auto& r : rows) mask += fmt::format("{:>{}}", r, wc);
  mask += "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    mask += fmt::format("{:<{}}", rows[i], w0);
    for (size_t j = 0; j < rows.size(); ++j) mask += fmt::format("{:>{}}", j <= i ? "0" : "-1e9", wc);
    mask += "\n";
  }
  return mask;
}

std::string sentence(const Dump& d, int64_t s) {
  std::string sent;
  for (int64_t t = 0; t < d.T; ++t) sent += (t ? " " : "") + d.word(d.ids[static_cast<size_t>(s)][static_cast<size_t>(t)]);
  return sent;
}

// Sequence s's chain; load_dump has checked that every layer is [B, T, X] (dot, lambda, AttnWts with X = T).
void print_chain(const Dump& d, int64_t s) {
  const int64_t T = d.T;
  std::vector<std::string> rows;
  for (int64_t p = 0; p < T; ++p) rows.push_back(d.position(s, p));
  auto block = [&](const std::string& name, const std::string& title) {
    const Tensor& t = *d.find(name);
    std::vector<float> v = t.to_vector();
    const int64_t X = t.dim(2);
    return title + "\n" + text_table(rows, col_labels(d, last_axis(name), s, X), v.data() + s * T * X, 3);
  };
  fmt::print("sequence {} of {}: {}\n\n", s, d.B, sentence(d, s));
  fmt::print("{}\n", side_by_side({block("dot", "dot (raw scores)"), block("lambda", "lambda (scaled scores)")}));
  fmt::print("{}\n", side_by_side({mask_block(rows), block("AttnWts", "AttnWts (softmax weights)")}));
  fmt::print("{}\n", side_by_side({block("Voutput", "Voutput (value mix)"), block("skipadd", "skipadd (residual sum)")}));
  fmt::print("{}", block("activation", "activation (prediction)"));
}

// --- A variant's chain, block by block ---

// What a variant's block layer computes, for the chain's header: "skipadd = + the block's input".
std::string chain_step(const Dump& d, const std::string& own) {
  static const std::map<std::string, std::string> kSteps{
      {"Omat", "Omat = Voutput.W_O"},        {"skipadd", "skipadd = + the block's input"},
      {"norm1", "norm1 = LayerNorm"},        {"ffn1", "ffn1 = relu(.W1 + b1)"},
      {"ffn2", "ffn2 = ffn1.W2 + b2"},       {"ffnadd", "ffnadd = + the feed-forward's input"},
      {"norm2", "norm2 = LayerNorm"}};
  if (own == "Voutput")
    return d.arch.heads > 1 ? "Voutput = each head's AttnWts.Vmat, concatenated" : "Voutput = AttnWts.Vmat";
  auto it = kSteps.find(own);
  return it == kSteps.end() ? own : it->second;
}

// The block layers after attention (Voutput, Omat, skipadd, norm1, ffn1, ffn2, ffnadd, norm2: those of the model),
// by their own names.
std::vector<std::string> after_attention(const Dump& d) {
  std::vector<std::string> out;
  bool after = false;
  for (const std::string& name : d.layers) {
    if (name.rfind("L0/", 0) != 0) continue;
    const std::string own = own_layer(name);
    if (after && own != "Vmat") out.push_back(own);
    after = after || own == "AttnWts";
  }
  return out;
}

std::string variant_chain_header(const Dump& d) {
  std::string steps;
  for (const std::string& own : after_attention(d)) steps += " -> " + chain_step(d, own);
  return fmt::format("the attention chain of the model variant {}, block by block: per head dot -> lambda = "
                     "dot/sqrt(H){} -> AttnWts = softmax; then{}; activation = sigmoid(the last block's output)",
                     d.arch.describe(), d.arch.mask ? " -> + mask adder" : "", steps.substr(3));
}

// Sequence s's chain of a variant: the embedding, then per block every head's scores and weights and the block's
// layers after attention (two tables side by side where they fit), the prediction last.
void print_variant_chain(const Dump& d, int64_t s) {
  const int64_t T = d.T;
  std::vector<std::string> rows;
  for (int64_t p = 0; p < T; ++p) rows.push_back(d.position(s, p));
  auto block = [&](const std::string& name, const std::string& title) {  // [B, T, X]
    const Tensor& t = *d.find(name);
    std::vector<float> v = t.to_vector();
    const int64_t X = t.dim(2);
    return title + "\n" + text_table(rows, col_labels(d, d.axis(name), s, X), v.data() + s * T * X, 3);
  };
  auto head = [&](const std::string& name, int64_t h, const std::string& what) {  // [B, heads, T, T]
    std::vector<float> v = d.find(name)->to_vector();
    return fmt::format("{} head {} ({})\n", name, h, what) +
           text_table(rows, rows, v.data() + (s * d.arch.heads + h) * T * T, 3);
  };
  fmt::print("sequence {} of {}: {}\n\n", s, d.B, sentence(d, s));
  const std::string input = d.arch.pos ? "XwithPos" : "XEmbed";
  fmt::print("{}\n", block(input, input + " (block L0's input)"));
  for (int64_t l = 0; l < d.arch.layers; ++l) {
    const std::string P = fmt::format("L{}/", l);
    fmt::print("block L{}\n\n", l);
    for (int64_t h = 0; h < d.arch.heads; ++h) {
      fmt::print("{}\n", side_by_side({head(P + "dot", h, "raw scores"), head(P + "lambda", h, "scaled scores")}));
      const std::string weights = head(P + "AttnWts", h, "softmax weights");
      fmt::print("{}\n", d.arch.mask ? side_by_side({mask_block(rows), weights}) : weights);
    }
    std::vector<std::string> pending;  // narrow tables go two to a line
    for (const std::string& own : after_attention(d)) {
      const std::string name = P + own;
      pending.push_back(block(name, fmt::format("{} ({})", name, chain_step(d, own))));
      if (pending.size() == 2 || d.find(name)->dim(2) > 10) {
        fmt::print("{}\n", side_by_side(pending));
        pending.clear();
      }
    }
    if (!pending.empty()) fmt::print("{}\n", side_by_side(pending));
  }
  fmt::print("{}", block("activation", "activation (prediction)"));
}

// Every sequence's chain (or --seq's), each headed "sequence s of B: <its tokens>".
int show_chain(const InspectCli& c, const Dump& d) {
  TOY_CHECK(c.layer.empty() && c.heatmap.empty() && c.epoch < 0 && c.position < 0,
            "inspect: --chain shows its own layers: drop --layer, --heatmap, --epoch and --position");
  TOY_CHECK(c.seq < d.B, "inspect: --seq {} is out of range: the dump holds {} sequences (0..{})", c.seq, d.B, d.B - 1);
  const int64_t s0 = c.seq >= 0 ? c.seq : 0, s1 = c.seq >= 0 ? c.seq + 1 : d.B;
  fmt::print("{}\n{}\n",
             d.variant() ? variant_chain_header(d)
                         : "the attention chain: dot -> lambda = dot/sqrt(H) -> + mask adder -> AttnWts = softmax -> "
                           "Voutput = AttnWts.Vmat -> skipadd = Voutput + XwithPos -> activation = sigmoid(skipadd)",
             c.seq >= 0 ? "" : fmt::format("all {} sequences (--seq i for one)\n", d.B));
  for (int64_t s = s0; s < s1; ++s) {
    if (s > s0) fmt::print("\n\n");
    if (d.variant())
      print_variant_chain(d, s);
    else
      print_chain(d, s);
  }
  return 0;
}

// "epoch 1001 was not recorded in FILE (102 snapshots, epochs 1..5020); nearest: 1000, 1050": the recorded epochs
// around the one asked for, not all of them (a 5020-epoch run at --snapshot-every 50 has 102). A short list (up to
// 10) is given whole as well.
std::string missing_epoch(const Dump& d, int64_t want) {
  const std::vector<int64_t>& e = d.epochs;
  auto above = std::upper_bound(e.begin(), e.end(), want);
  std::vector<int64_t> near;
  if (above != e.begin()) near.push_back(*(above - 1));
  if (above != e.end()) near.push_back(*above);
  std::string msg = fmt::format("inspect: epoch {} was not recorded in {} ({} snapshot{}, epochs {}..{}); nearest: {}",
                                want, d.path, e.size(), e.size() == 1 ? "" : "s", e.front(), e.back(),
                                fmt::join(near, ", "));
  if (e.size() <= 10) msg += fmt::format("; recorded epochs: {}", fmt::join(e, ", "));
  return msg;
}

// `<layer>@epochs` [S, B, T, ...]; the error says how to record it.
const Tensor& snapshots_of(const InspectCli& c, const Dump& d) {
  const Tensor* all = d.find(c.layer + "@epochs");
  TOY_CHECK(all, "inspect: {} holds no snapshots of '{}' (no '{}@epochs' array{}; record them with toyformer train "
            "--snapshot-every N --snapshot-layers {})", c.file, c.layer, c.layer,
            d.epochs.empty() ? ", no snapshots at all" : "", c.layer);
  return *all;
}

// Snapshot k of `<layer>@epochs` as a tensor of the layer's shape (load_dump checked the first axis against epochs).
Tensor snapshot_at(const Tensor& all, int64_t k) {
  const int64_t per = all.numel() / all.dim(0);
  std::vector<int64_t> dims = all.shape().dims();
  dims.erase(dims.begin());
  std::vector<float> v = all.to_vector();
  return Tensor::from(Shape(dims), std::span<const float>(v.data() + k * per, static_cast<size_t>(per)));
}

const char* column_axis(Axis a) {
  switch (a) {
    case Axis::Position: return "position (attended to)";
    case Axis::Vocab: return "vocabulary";
    case Axis::Head: return "head dim";
    case Axis::Unit: return "feed-forward unit";
    case Axis::None: break;
  }
  return "value";
}

// --position P: for each sequence, one table of P's row at every snapshot (rows: epochs, columns: the layer's last
// axis), i.e. how one prediction or one attention row changed over training.
int show_position(const InspectCli& c, const Dump& d) {
  TOY_CHECK(c.epoch < 0 && c.heatmap.empty(), "inspect: --position shows every recorded epoch as text: drop --epoch "
            "and --heatmap");
  const Tensor& all = snapshots_of(c, d);
  TOY_CHECK(c.position < d.T, "inspect: --position {} is out of range: the sequences have {} positions (0..{})",
            c.position, d.T, d.T - 1);
  TOY_CHECK(c.seq < d.B, "inspect: --seq {} is out of range: the dump holds {} sequences (0..{})", c.seq, d.B, d.B - 1);
  // [S, B, T] (an input layer: one column), [S, B, T, X] or a variant's attention layer [S, B, heads, T, T].
  const int64_t r = all.rank(), S = all.dim(0), heads = r == 5 ? all.dim(2) : 1, X = r >= 4 ? all.dim(r - 1) : 1;
  const Tensor* layer = d.find(c.layer);
  TOY_CHECK(r == 3 || r == 4 || (r == 5 && layer && layer->rank() == 4), "inspect: --position needs a [S, B, T] or "
            "[S, B, T, X] snapshot array (or [S, B, heads, T, T] of a variant's attention layer); {}@epochs is ({})",
            c.layer, all.shape().str());
  const Axis axis = d.axis(c.layer);
  const std::vector<float> v = all.to_vector();
  std::vector<std::string> rows;
  for (int64_t e : d.epochs) rows.push_back(fmt::format("epoch {}", e));
  const int64_t s0 = c.seq >= 0 ? c.seq : 0, s1 = c.seq >= 0 ? c.seq + 1 : d.B, p = c.position;
  for (int64_t s = s0; s < s1; ++s)
    for (int64_t h = 0; h < heads; ++h) {
      std::vector<float> table;
      for (int64_t k = 0; k < S; ++k) {
        const float* row = v.data() + (((k * d.B + s) * heads + h) * d.T + p) * X;
        table.insert(table.end(), row, row + X);
      }
      const std::vector<std::string> cols = X == 1 && r == 3 ? std::vector<std::string>{c.layer}
                                                             : col_labels(d, axis, s, X);
      fmt::print("{}sequence {}, position {} ({}): {} over {} snapshot epochs (rows: epoch; columns: {})\n{}",
                 s > s0 || h > 0 ? "\n" : "", s, p, d.word(d.ids[static_cast<size_t>(s)][static_cast<size_t>(p)]),
                 r == 5 ? fmt::format("{} head {}", c.layer, h) : c.layer, S, r == 3 ? "the value" : column_axis(axis),
                 text_table(rows, cols, table.data(), r == 3 ? 0 : 3));
    }
  return 0;
}

// A [B, T, X] layer (a variant's attention layers: [B, heads, T, T]) as one labelled table per sequence (and head),
// and with --heatmap one panel each: grey for values in [0, 1], else a diverging scale symmetric around 0. `at`
// follows the layer's name in the titles (" at epoch 50").
int show_values(const InspectCli& c, const Dump& d, const Tensor& t, const std::string& at, int64_t s0, int64_t s1) {
  const std::vector<float> v = t.to_vector();
  const int64_t heads = t.rank() == 4 ? t.dim(1) : 1, X = t.dim(t.rank() - 1);
  const Axis axis = d.axis(c.layer);
  std::vector<svg::Heatmap> panels;
  float lo = 0, hi = 0;
  for (float x : v) lo = std::min(lo, x), hi = std::max(hi, x);
  const bool unit = lo >= 0 && hi <= 1;  // probabilities and attention weights: the grey scale
  for (int64_t s = s0; s < s1; ++s)
    for (int64_t head = 0; head < heads; ++head) {
      const std::string title = c.layer + (t.rank() == 4 ? fmt::format(" head {}", head) : "") + at;
      std::vector<std::string> rows;
      for (int64_t p = 0; p < d.T; ++p) rows.push_back(d.position(s, p));
      std::vector<std::string> cols = col_labels(d, axis, s, X);
      const float* block = v.data() + (s * heads + head) * d.T * X;
      fmt::print("sequence {}: {} ({}{})\n{}\n", s, title, t.shape().str(),
                 axis == Axis::None ? "" : ", " + layer_axes(d, c.layer), text_table(rows, cols, block, 3));
      svg::Heatmap h;
      h.title = fmt::format("{}, sequence {}", title, s);
      h.row_labels = rows;
      h.col_labels = cols;
      h.values.assign(block, block + d.T * X);
      h.row_axis = "position";
      h.col_axis = axis == Axis::Position ? "position (attended to)" : axis == Axis::Vocab ? "vocabulary"
                   : axis == Axis::Unit                              ? "feed-forward unit"
                                                                     : "head dim";
      h.hover_arrow = axis == Axis::Position ? " \u2192 " : ", ";
      h.scale = unit ? svg::Scale::Grey : svg::Scale::Diverging;
      if (!unit) {  // symmetric around 0, one scale for every panel
        const double lim = std::max(std::fabs(lo), std::fabs(hi));
        h.vmin = -lim;
        h.vmax = lim;
      }
      h.show_values = X <= 24;
      panels.push_back(std::move(h));
    }
  if (!c.heatmap.empty()) {
    write_file_atomic(c.heatmap, svg::heatmaps(panels));
    fmt::print("wrote {} ({} panel{}, {} scale)\n", c.heatmap, panels.size(), panels.size() == 1 ? "" : "s",
               unit ? "grey" : "diverging");
  }
  return 0;
}

int run_inspect(const InspectCli& c) {
  Dump d = load_dump(c.file);
  if (c.chain) return show_chain(c, d);
  TOY_CHECK(c.heatmap.empty() || !c.layer.empty(), "inspect: --heatmap needs --layer NAME");
  TOY_CHECK(c.epoch < 0 || !c.layer.empty(), "inspect: --epoch needs --layer NAME");
  TOY_CHECK(c.position < 0 || !c.layer.empty(), "inspect: --position needs --layer NAME (e.g. --layer activation)");
  if (c.layer.empty()) return list_layers(c, d);
  if (c.position >= 0) return show_position(c, d);
  const Tensor* t = d.find(c.layer);
  Tensor snap;
  if (c.epoch >= 0) {
    const Tensor& all = snapshots_of(c, d);
    auto it = std::find(d.epochs.begin(), d.epochs.end(), c.epoch);
    TOY_CHECK(it != d.epochs.end(), "{}", missing_epoch(d, c.epoch));
    snap = snapshot_at(all, it - d.epochs.begin());
    t = &snap;
  }
  if (!t) {
    std::vector<std::string> known;
    for (const auto& [k, x] : d.arrays) known.push_back(k);
    fail("inspect: no layer '{}' in {}; known: {}", c.layer, c.file, fmt::join(known, ", "));
  }
  TOY_CHECK(c.seq < d.B, "inspect: --seq {} is out of range: the dump holds {} sequences (0..{})", c.seq, d.B, d.B - 1);
  const int64_t s0 = c.seq >= 0 ? c.seq : 0, s1 = c.seq >= 0 ? c.seq + 1 : d.B;

  if (c.layer == kDumpVocab) {
    TOY_CHECK(c.heatmap.empty(), "inspect: --heatmap needs a [B, T, ...] layer; vocab is the vocabulary");
    for (size_t i = 0; i < d.vocab.size(); ++i) fmt::print("{:>3} {}\n", i, d.vocab[i]);
    return 0;
  }
  if (t->rank() == 1) {
    TOY_CHECK(c.heatmap.empty(), "inspect: --heatmap needs a [B, T, ...] layer; {} is per epoch ({}) (the loss curve "
              "is in toyformer report)", c.layer, t->shape().str());
    return show_history(c.layer, *t);
  }
  TOY_CHECK(((t->rank() == 2 || t->rank() == 3) && t->dim(0) == d.B && t->dim(1) == d.T) ||
                (t->rank() == 4 && t->dim(0) == d.B && t->dim(2) == d.T),
            "inspect: {} has shape ({}), expected [B={}, T={}, ...]", c.layer, t->shape().str(), d.B, d.T);
  std::vector<float> v = t->to_vector();
  if (t->rank() == 2) {
    TOY_CHECK(c.heatmap.empty(), "inspect: --heatmap needs a [B, T, X] layer; {} is ({}): ids, not values",
              c.layer, t->shape().str());
    for (int64_t s = s0; s < s1; ++s) {
      fmt::print("sequence {}: {}\n", s, c.layer);
      std::vector<std::string> rows;
      for (int64_t p = 0; p < d.T; ++p) rows.push_back(d.position(s, p));
      fmt::print("{}\n", text_table(rows, {c.layer}, v.data() + s * d.T, 0));
    }
    return 0;
  }
  return show_values(c, d, *t, c.epoch >= 0 ? fmt::format(" at epoch {}", c.epoch) : "", s0, s1);
}

}  // namespace

Runner add_inspect(CLI::App& app) {
  auto c = std::make_shared<InspectCli>();
  CLI::App* s = app.add_subcommand("inspect", "print the layers of an activation dump as labelled tables");
  s->add_option("FILE", c->file,
                "activation dump (.npz from train --dump-activations or train --out), or a run directory of train --out "
                "(its activations.npz; the model variant from its run.json)")
      ->required();
  s->add_option("--layer", c->layer, "layer to print (without it: the list of layers)");
  s->add_option("--seq", c->seq, "only this sequence (0-based)")->check(CLI::NonNegativeNumber);
  s->add_option("--epoch", c->epoch, "with --layer: the training snapshot of that epoch (train --snapshot-every)")
      ->check(CLI::NonNegativeNumber);
  s->add_option("--position", c->position,
                "with --layer: that position's row at every recorded epoch, one table per sequence (rows: epochs; "
                "columns: the layer's last axis, e.g. the words for activation), from <layer>@epochs (train "
                "--snapshot-every)")
      ->check(CLI::NonNegativeNumber);
  s->add_flag("--chain", c->chain,
              "the attention chain side by side, for every sequence (or --seq's): dot, lambda, mask adder, AttnWts, "
              "Voutput, skipadd, activation; a model variant's block by block, every head, then its layers after "
              "attention (Omat, norm1, ffn1, ...)");
  s->add_option("--heatmap", c->heatmap,
                "also write the layer as an SVG heatmap (one panel per sequence; a variant's attention layers: per "
                "sequence and head)");
  return [c] { return run_inspect(*c); };
}

}  // namespace toy::app
