// `toyformer attend`: JSON / embeddings problems -> attention with the library's ops -> tables, JSON or heatmaps.
#include "apps/lib/tools/attend.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>

#include "apps/lib/formats/compare.h"
#include "apps/lib/formats/fs_util.h"
#include "apps/lib/visual/svg.h"
#include "autograd/ops.h"
#include "core/error.h"
#include "layers/attention.h"

namespace toy::app {
namespace {

using nlohmann::json;

// Tracks where a SAX parse is ("keys[0][1]"), so a number JSON cannot hold (1e999 overflows a double) or a syntax
// error is reported with the field it is in.
class PathTracker : public nlohmann::json_sax<json> {
 public:
  std::string error_path, error_token;
  int error_id = 0;

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override {
    stack_.push_back({false, 0, ""});
    return true;
  }
  bool key(string_t& k) override {
    stack_.back().key = k;
    return true;
  }
  bool end_object() override {
    stack_.pop_back();
    return value();
  }
  bool start_array(std::size_t) override {
    stack_.push_back({true, 0, ""});
    return true;
  }
  bool end_array() override {
    stack_.pop_back();
    return value();
  }
  bool parse_error(std::size_t, const std::string& last_token, const nlohmann::detail::exception& ex) override {
    std::string p;
    for (const Level& l : stack_)
      p += l.array ? fmt::format("[{}]", l.index) : (p.empty() ? "" : ".") + l.key;
    error_path = p;
    error_token = last_token;
    error_id = ex.id;
    return false;
  }

 private:
  struct Level {
    bool array;
    int64_t index;
    std::string key;
  };
  bool value() {
    if (!stack_.empty() && stack_.back().array) ++stack_.back().index;
    return true;
  }
  std::vector<Level> stack_;
};

// A problem nests three levels deep (an object of matrices); anything far deeper is not a problem file. The check
// runs before parsing because nlohmann's serializer (dump(), used to quote a bad value in an error) and comparisons
// recurse once per level: 100000 '[' would overflow the stack instead of giving an error.
constexpr int64_t kMaxJsonDepth = 64;

// Refuses text whose arrays and objects nest deeper than kMaxJsonDepth, naming the byte offset. Brackets inside
// strings do not count (escapes are skipped), so valid JSON within the limit always passes.
void check_json_depth(const std::string& text, const std::string& path) {
  int64_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      TOY_CHECK(++depth <= kMaxJsonDepth,
                "{}: malformed JSON: arrays and objects nest deeper than {} levels (at byte {}); a problem needs 3",
                path, kMaxJsonDepth, i);
    } else if (c == ']' || c == '}') {
      --depth;  // unbalanced closers are the parser's to report
    }
  }
}

std::string describe(const json& v) {
  std::string s = v.dump();
  return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

// A [rows, cols] matrix of finite float32 numbers from a JSON list of rows, errors naming the field.
Tensor matrix(const json& j, const std::string& field) {
  TOY_CHECK(j.is_array() && !j.empty() && j[0].is_array(),
            "{}: must be a non-empty matrix (a list of rows, each a list of numbers), got {}", field, describe(j));
  const int64_t rows = static_cast<int64_t>(j.size()), cols = static_cast<int64_t>(j[0].size());
  TOY_CHECK(cols > 0, "{}: row 0 is empty", field);
  std::vector<float> v;
  for (int64_t r = 0; r < rows; ++r) {
    const json& row = j[static_cast<size_t>(r)];
    TOY_CHECK(row.is_array(), "{}: row {} is {}, not a list of numbers", field, r, describe(row));
    TOY_CHECK(static_cast<int64_t>(row.size()) == cols, "{}: row {} has {} numbers, row 0 has {} (ragged)", field, r,
              row.size(), cols);
    for (int64_t c = 0; c < cols; ++c) {
      const json& x = row[static_cast<size_t>(c)];
      TOY_CHECK(x.is_number(), "{}[{}][{}]: {} is not a number", field, r, c, describe(x));
      const double d = x.get<double>();
      const float f = static_cast<float>(d);
      TOY_CHECK(std::isfinite(d) && std::isfinite(f), "{}[{}][{}]: {:g} is not a finite float32 number", field, r,
                c, d);
      v.push_back(f);
    }
  }
  return Tensor::from(Shape{rows, cols}, v);
}

std::vector<std::string> labels(const json& j, const std::string& field, int64_t n, const std::string& rows_are) {
  TOY_CHECK(j.is_array(), "{}: must be a list of strings, got {}", field, describe(j));
  TOY_CHECK(static_cast<int64_t>(j.size()) == n, "{}: {} labels but there are {} {}", field, j.size(), n, rows_are);
  std::vector<std::string> out;
  for (size_t i = 0; i < j.size(); ++i) {
    TOY_CHECK(j[i].is_string(), "{}[{}]: {} is not a string", field, i, describe(j[i]));
    out.push_back(j[i].get<std::string>());
  }
  return out;
}

std::vector<std::string> numbered(int64_t n, const char* prefix) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(fmt::format("{}{}", prefix, i));
  return out;
}

// The values of a [1, ...] or [...] tensor as nested JSON lists of `dims`.
json nested(const std::vector<float>& v, const std::vector<int64_t>& dims, size_t axis = 0, size_t offset = 0) {
  json out = json::array();
  size_t stride = 1;
  for (size_t a = axis + 1; a < dims.size(); ++a) stride *= static_cast<size_t>(dims[a]);
  for (int64_t i = 0; i < dims[axis]; ++i) {
    const size_t at = offset + static_cast<size_t>(i) * stride;
    if (axis + 1 == dims.size())
      out.push_back(static_cast<double>(v[at]));
    else
      out.push_back(nested(v, dims, axis + 1, at));
  }
  return out;
}

json to_json(const Tensor& t) { return nested(t.to_vector(), t.shape().dims()); }

// A table with more columns than this shows the first kHeadColumns and the last kTailColumns with "…" between
// them: notebook 000's 64-d embeddings would otherwise print 700-character lines. --json keeps every value.
constexpr size_t kMaxTableColumns = 12, kHeadColumns = 6, kTailColumns = 5;
constexpr size_t kEllipsis = static_cast<size_t>(-1);  // marks the "…" column in shown_columns()

// The columns a table shows, in order, with kEllipsis where some are left out.
std::vector<size_t> shown_columns(size_t cols) {
  std::vector<size_t> out;
  for (size_t c = 0; c < cols; ++c) {
    if (cols > kMaxTableColumns && c == kHeadColumns) {
      out.push_back(kEllipsis);
      c = cols - kTailColumns;
    }
    out.push_back(c);
  }
  return out;
}

// A labelled table of rows x cols values, columns right-aligned and as wide as their widest entry; a wide one is
// summarized (shown_columns) and its title says so.
std::string table(const std::string& title, const std::vector<std::string>& row_labels,
                  const std::vector<std::string>& col_labels, const float* values) {
  const size_t rows = row_labels.size(), cols = col_labels.size();
  const std::vector<size_t> shown = shown_columns(cols);
  size_t lw = 0;
  for (const std::string& l : row_labels) lw = std::max(lw, l.size());
  std::vector<std::string> cells(rows * cols);
  std::vector<size_t> cw(cols);
  for (size_t c = 0; c < cols; ++c) cw[c] = col_labels[c].size();
  for (size_t r = 0; r < rows; ++r)
    for (size_t c : shown) {
      if (c == kEllipsis) continue;
      cells[r * cols + c] = fmt::format("{:.6f}", values[r * cols + c]);
      cw[c] = std::max(cw[c], cells[r * cols + c].size());
    }
  // "…" is one column wide but three bytes: written as is, not through a byte-counted width.
  const auto cell = [&](size_t c, const std::string& text) {
    return c == kEllipsis ? std::string("  \u2026") : fmt::format("  {:>{}}", text, cw[c]);
  };
  std::string s = title;
  if (shown.size() < cols)
    s += fmt::format(" [{} columns, showing {}..{} and {}..{}; full values with --json]", cols, 0, kHeadColumns - 1,
                     cols - kTailColumns, cols - 1);
  s += "\n" + std::string(lw, ' ');
  for (size_t c : shown) s += cell(c, c == kEllipsis ? "" : col_labels[c]);
  s += "\n";
  for (size_t r = 0; r < rows; ++r) {
    s += fmt::format("{:<{}}", row_labels[r], lw);
    for (size_t c : shown) s += cell(c, c == kEllipsis ? "" : cells[r * cols + c]);
    s += "\n";
  }
  return s + "\n";
}

// Head h's [n_q, n_k] block of a [heads, n_q, n_k] tensor's host values.
const float* head_block(const std::vector<float>& v, const AttendResult& r, int64_t h) {
  return v.data() + h * r.n_q * r.n_k;
}

// Finite inputs can still overflow float32 on the way (|x| ~ 1e20 squares to 1e40 > 3.4e38), and an infinite score
// would turn its softmax row into NaN (inf - inf). The softmax subtracts each row's maximum before exp, so scores
// up to float32's largest value give exact weights; beyond it float32 has no answer: refuse, naming the element.
void check_finite(const Tensor& t, const std::string& what) {
  const std::vector<float> v = t.to_vector();
  for (size_t i = 0; i < v.size(); ++i)
    TOY_CHECK(std::isfinite(v[i]),
              "attend: {}{} = {} overflows float32 (largest finite value {:g}): the inputs are too large; scale them "
              "down",
              what, coords_text(unravel_index(static_cast<int64_t>(i), t.shape().dims())), v[i],
              std::numeric_limits<float>::max());
}

}  // namespace

AttendProblem parse_attend_problem(const json& j) {
  TOY_CHECK(j.is_object(), "the problem must be a JSON object with queries and keys, got {}", describe(j));
  static const std::set<std::string> kKnown = {"queries", "keys", "values", "w_q", "w_k",  "w_v",
                                               "w_o",     "heads", "mask",  "tokens", "comment"};
  for (const auto& [k, v] : j.items())
    TOY_CHECK(kKnown.count(k), "{}: unknown field (known: queries, keys, values, w_q, w_k, w_v, w_o, heads, mask, "
              "tokens, comment)", k);
  TOY_CHECK(j.contains("queries"), "queries: missing (a [n_q, d] matrix)");
  TOY_CHECK(j.contains("keys"), "keys: missing (a [n_k, d] matrix)");
  AttendProblem p;
  p.queries = matrix(j.at("queries"), "queries");
  p.keys = matrix(j.at("keys"), "keys");
  p.values = j.contains("values") ? matrix(j.at("values"), "values") : p.keys;
  for (const char* w : {"w_q", "w_k", "w_v", "w_o"})
    if (j.contains(w)) {
      Tensor t = matrix(j.at(w), w);
      (w[2] == 'q' ? p.w_q : w[2] == 'k' ? p.w_k : w[2] == 'v' ? p.w_v : p.w_o) = t;
    }
  if (j.contains("heads")) {
    const json& h = j.at("heads");
    TOY_CHECK(h.is_number_integer() && h.get<int64_t>() > 0, "heads: must be a positive integer, got {}",
              describe(h));
    p.heads = h.get<int64_t>();
  }
  if (j.contains("mask")) {
    const json& m = j.at("mask");
    TOY_CHECK(m.is_string() && (m == "none" || m == "causal"), "mask: must be \"none\" or \"causal\", got {}",
              describe(m));
    p.causal = m == "causal";
  }
  const int64_t nq = p.queries.dim(0), nk = p.keys.dim(0);
  if (j.contains("tokens")) {
    const json& t = j.at("tokens");
    if (t.is_object()) {
      for (const auto& [k, v] : t.items())
        TOY_CHECK(k == "queries" || k == "keys", "tokens.{}: unknown field (expected queries and keys)", k);
      TOY_CHECK(t.contains("queries") && t.contains("keys"), "tokens: needs both \"queries\" and \"keys\" lists");
      p.query_labels = labels(t.at("queries"), "tokens.queries", nq, "queries");
      p.key_labels = labels(t.at("keys"), "tokens.keys", nk, "keys");
    } else {
      TOY_CHECK(nq == nk,
                "tokens: one list labels both rows and columns, but there are {} queries and {} keys (use "
                "{{\"queries\": [...], \"keys\": [...]}})",
                nq, nk);
      p.query_labels = labels(t, "tokens", nq, "queries");
      p.key_labels = p.query_labels;
    }
  }
  return p;
}

AttendProblem read_attend_problem(const std::string& path) {
  const std::string text = read_file(path);
  check_json_depth(text, path);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    PathTracker where;
    json::sax_parse(text, &where);
    if (where.error_id == 406)  // out_of_range.406: a number beyond double's range
      fail("{}: {}: {} is not a finite float32 number", path, where.error_path, where.error_token);
    fail("{}: malformed JSON{}: {}", path, where.error_path.empty() ? "" : " (in " + where.error_path + ")",
         e.what());
  }
  try {
    return parse_attend_problem(j);
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());
  }
}

std::vector<int64_t> parse_ids(const std::string& s, int64_t limit) {
  std::vector<int64_t> ids;
  size_t i = 0;
  while (true) {
    size_t j = s.find(',', i);
    std::string part = s.substr(i, j == std::string::npos ? std::string::npos : j - i);
    while (!part.empty() && part.front() == ' ') part.erase(part.begin());
    while (!part.empty() && part.back() == ' ') part.pop_back();
    int64_t v = -1;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    TOY_CHECK(!part.empty() && ec == std::errc() && p == part.data() + part.size() && v >= 0,
              "--ids: '{}' is not a non-negative integer (expected a list like 461,124,648)", part);
    TOY_CHECK(v < limit, "--ids: id {} is out of range: the embeddings have {} vectors (ids 0..{})", v, limit,
              limit - 1);
    ids.push_back(v);
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return ids;
}

AttendProblem embeddings_problem(const Word2Vec& w, const std::vector<int64_t>& ids, int64_t heads) {
  TOY_CHECK(!ids.empty(), "--ids: no ids");
  const int64_t n = static_cast<int64_t>(ids.size()), d = w.dim();
  std::vector<float> table = w.vectors.to_vector(), e;
  AttendProblem p;
  for (int64_t id : ids) {
    TOY_CHECK(id >= 0 && id < w.size(), "--ids: id {} is out of range: the embeddings have {} vectors", id, w.size());
    e.insert(e.end(), table.begin() + id * d, table.begin() + (id + 1) * d);
    p.query_labels.push_back(w.tokens[static_cast<size_t>(id)]);
  }
  p.queries = Tensor::from(Shape{n, d}, e);
  p.keys = p.values = p.queries;
  p.key_labels = p.query_labels;
  p.heads = heads;
  p.ids = ids;
  return p;
}

AttendResult attend(const AttendProblem& p) {
  TOY_CHECK(p.queries.defined() && p.keys.defined(), "attend: queries and keys are required");
  const Tensor values = p.values.defined() ? p.values : p.keys;
  const int64_t nq = p.queries.dim(0), nk = p.keys.dim(0);
  TOY_CHECK(values.dim(0) == nk, "values: {} rows but keys have {} (one value per key)", values.dim(0), nk);
  // Projected widths, each check naming the field at fault.
  const auto projected = [](const Tensor& x, const Tensor& w, const char* xname, const char* wname) {
    if (!w.defined()) return x.dim(1);
    TOY_CHECK(w.dim(0) == x.dim(1), "{}: {} rows but {} have {} columns ({} is [{} columns, projected width])", wname,
              w.dim(0), xname, x.dim(1), wname, xname);
    return w.dim(1);
  };
  const int64_t mq = projected(p.queries, p.w_q, "queries", "w_q");
  const int64_t mk = projected(p.keys, p.w_k, "keys", "w_k");
  const int64_t mv = projected(values, p.w_v, "values", "w_v");
  if (!p.w_q.defined() && !p.w_k.defined())
    TOY_CHECK(mq == mk, "keys: {} columns but queries have {} (without w_q and w_k they must have the same width)",
              mk, mq);
  else
    TOY_CHECK(mq == mk, "{}: queries are projected to width {} but keys to {} (they must match)",
              p.w_k.defined() ? "w_k" : "w_q", mq, mk);
  TOY_CHECK(p.heads >= 1, "heads: must be a positive integer, got {}", p.heads);
  TOY_CHECK(mq % p.heads == 0, "heads: {} heads do not divide the query/key width {} into equal blocks", p.heads, mq);
  TOY_CHECK(mv % p.heads == 0, "heads: {} heads do not divide the value width {} into equal blocks", p.heads, mv);
  if (p.w_o.defined())
    TOY_CHECK(p.w_o.dim(0) == mv, "w_o: {} rows but the concatenated heads have {} columns", p.w_o.dim(0), mv);
  TOY_CHECK(p.query_labels.empty() || static_cast<int64_t>(p.query_labels.size()) == nq,
            "tokens: {} labels but there are {} queries", p.query_labels.size(), nq);
  TOY_CHECK(p.key_labels.empty() || static_cast<int64_t>(p.key_labels.size()) == nk,
            "tokens: {} labels but there are {} keys", p.key_labels.size(), nk);

  NoGradGuard no_grad;
  const auto as_batch = [](const Tensor& t) { return Var::constant(t.reshape(Shape{1, t.dim(0), t.dim(1)})); };
  const auto project = [&](const Tensor& x, const Tensor& w) {
    Var v = as_batch(x);
    return w.defined() ? matmul(v, Var::constant(w)) : v;
  };
  Var q = project(p.queries, p.w_q), k = project(p.keys, p.w_k), v = project(values, p.w_v);
  const Tensor mask = attention_mask(1, nq, nk, Tensor(), p.causal);
  AttentionOutput a = scaled_dot_product_attention(q, k, v, p.heads, mask, "attend");
  Var out = p.w_o.defined() ? matmul(a.context, Var::constant(p.w_o)) : a.context;

  AttendResult r;
  r.heads = p.heads, r.n_q = nq, r.n_k = nk, r.d_model = mq, r.d_head = mq / p.heads;
  r.d_out = out.shape()[-1];
  r.causal = p.causal;
  r.q = q.value().reshape(Shape{nq, mq});
  r.k = k.value().reshape(Shape{nk, mk});
  r.v = v.value().reshape(Shape{nk, mv});
  const auto stack = [&](const std::vector<Var>& per_head) {
    std::vector<float> all;
    for (const Var& h : per_head) {
      std::vector<float> x = h.value().to_vector();
      all.insert(all.end(), x.begin(), x.end());
    }
    return Tensor::from(Shape{p.heads, nq, nk}, all);
  };
  r.scores = stack(a.head_scores);
  r.scaled_scores = stack(a.head_scaled_scores);
  r.weights = stack(a.head_weights);
  r.average_weights = a.average_weights.value().reshape(Shape{nq, nk});
  r.output = out.value().reshape(Shape{nq, r.d_out});
  r.query_labels = p.query_labels.empty() ? numbered(nq, "q") : p.query_labels;
  r.key_labels = p.key_labels.empty() ? numbered(nk, "k") : p.key_labels;
  r.ids = p.ids;
  const std::pair<const Tensor*, const char*> results[] = {
      {&r.q, "q"},          {&r.k, "k"},     {&r.v, "v"}, {&r.scores, "scores"}, {&r.scaled_scores, "scaled_scores"},
      {&r.weights, "weights"}, {&r.output, "output"}};
  for (const auto& [t, what] : results) check_finite(*t, what);
  return r;
}

json attend_json(const AttendResult& r) {
  json j;
  j["heads"] = r.heads;
  j["d_model"] = r.d_model;
  j["d_head"] = r.d_head;
  j["scale"] = 1.0 / std::sqrt(static_cast<double>(r.d_head));
  j["mask"] = r.causal ? "causal" : "none";
  j["tokens"] = {{"queries", r.query_labels}, {"keys", r.key_labels}};
  if (!r.ids.empty()) j["ids"] = r.ids;
  j["q"] = to_json(r.q);
  j["k"] = to_json(r.k);
  j["v"] = to_json(r.v);
  j["scores"] = to_json(r.scores);
  j["scaled_scores"] = to_json(r.scaled_scores);
  j["weights"] = to_json(r.weights);
  j["average_weights"] = to_json(r.average_weights);
  j["output"] = to_json(r.output);
  return j;
}

std::string attend_tables(const AttendResult& r) {
  std::string s = fmt::format(
      "attention: {} head{}, query/key width {} (d_head {}, scale 1/sqrt({}) = {:.6f}), mask {}; {} queries, {} keys\n"
      "rows are queries, columns are keys; each row of weights sums to 1\n\n",
      r.heads, r.heads == 1 ? "" : "s", r.d_model, r.d_head, r.d_head, 1.0 / std::sqrt(static_cast<double>(r.d_head)),
      r.causal ? "causal" : "none", r.n_q, r.n_k);
  const std::vector<float> qv = r.q.to_vector(), kv = r.k.to_vector(), vv = r.v.to_vector();
  s += table("Q (projected queries)", r.query_labels, numbered(r.q.dim(1), ""), qv.data());
  s += table("K (projected keys)", r.key_labels, numbered(r.k.dim(1), ""), kv.data());
  s += table("V (projected values)", r.key_labels, numbered(r.v.dim(1), ""), vv.data());
  const std::vector<float> sc = r.scores.to_vector(), ss = r.scaled_scores.to_vector(), w = r.weights.to_vector();
  for (int64_t h = 0; h < r.heads; ++h) {
    const std::string head = r.heads == 1 ? "" : fmt::format(" (head {}: columns {}..{})", h, h * r.d_head,
                                                              (h + 1) * r.d_head - 1);
    s += table("scores = Q Kᵀ" + head, r.query_labels, r.key_labels, head_block(sc, r, h));
    s += table(fmt::format("scaled scores = Q Kᵀ / sqrt({})", r.d_head) + head, r.query_labels, r.key_labels,
               head_block(ss, r, h));
    s += table("attention weights = softmax(scaled scores)" + head, r.query_labels, r.key_labels,
               head_block(w, r, h));
  }
  if (r.heads > 1) {
    const std::vector<float> avg = r.average_weights.to_vector();
    s += table(fmt::format("average attention weights over the {} heads", r.heads), r.query_labels, r.key_labels,
               avg.data());
  }
  const std::vector<float> out = r.output.to_vector();
  s += table("output = weights · V (heads concatenated" + std::string(r.d_out != r.v.dim(1) ? ", then · W_O)" : ")"),
             r.query_labels, numbered(r.d_out, ""), out.data());
  return s;
}

std::string attend_heatmap_svg(const AttendResult& r) {
  std::vector<svg::Heatmap> panels;
  const bool values = r.n_q <= 16 && r.n_k <= 16;
  const auto panel = [&](std::string title, const float* v) {
    svg::Heatmap h;
    h.title = std::move(title);
    h.row_labels = r.query_labels;
    h.col_labels = r.key_labels;
    h.values.assign(v, v + r.n_q * r.n_k);
    h.row_axis = "query";
    h.col_axis = "key (attended to)";
    h.show_values = values;
    panels.push_back(std::move(h));
  };
  const std::vector<float> w = r.weights.to_vector();
  for (int64_t h = 0; h < r.heads; ++h)
    panel(r.heads == 1 ? "attention weights" : fmt::format("head {} attention weights", h), head_block(w, r, h));
  if (r.heads > 1) {
    const std::vector<float> avg = r.average_weights.to_vector();
    panel(fmt::format("average over the {} heads", r.heads), avg.data());
  }
  return svg::heatmaps(panels);
}

int run_attend(const AttendCommand& c, std::ostream& out) {
  const bool from_file = !c.file.empty(), from_embeddings = !c.embeddings.empty();
  TOY_CHECK(from_file != from_embeddings,
            "attend: give either a problem FILE.json or --embeddings FILE --ids LIST{}",
            from_file ? " (not both)" : "");
  TOY_CHECK(from_embeddings || c.ids.empty(), "attend: --ids needs --embeddings");
  TOY_CHECK(!from_embeddings || !c.ids.empty(), "attend: --embeddings needs --ids (e.g. --ids 461,124,648)");
  TOY_CHECK(c.heads >= 0, "--heads: must be a positive integer, got {}", c.heads);
  AttendProblem p;
  if (from_file) {
    p = read_attend_problem(c.file);
    if (c.heads > 0) p.heads = c.heads;
  } else {
    Word2Vec w = load_word2vec(c.embeddings);
    p = embeddings_problem(w, parse_ids(c.ids, w.size()), c.heads > 0 ? c.heads : 1);
  }
  AttendResult r;
  try {
    r = attend(p);
  } catch (const Error& e) {
    if (from_file) fail("{}: {}", c.file, e.what());
    throw;
  }
  if (!c.heatmap.empty()) write_file_atomic(c.heatmap, attend_heatmap_svg(r));
  if (c.json)
    out << attend_json(r).dump() << "\n";
  else
    out << attend_tables(r) << (c.heatmap.empty() ? "" : "heatmap written to " + c.heatmap + "\n");
  return 0;
}

}  // namespace toy::app
