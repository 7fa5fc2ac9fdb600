// word2vec text format reader: strict parsing, errors that name the file and the line.
#include "layers/word2vec.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <optional>
#include <string_view>

#include "core/error.h"
#include "core/utf8.h"
#include "core/rng.h"

namespace toy {
namespace {

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<int64_t> parse_count(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

// A finite float32 number, the whole field (from_chars: no locale, no leading '+').
std::optional<float> parse_float(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  float v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

}  // namespace

int64_t Word2Vec::find(const std::string& token) const {
  auto it = index.find(token);
  return it == index.end() ? -1 : it->second;
}

Word2Vec parse_word2vec(std::istream& in, const std::string& source, int64_t expected_dim) {
  Word2Vec w;
  std::vector<float> values;
  int64_t dim = -1, dim_line = 0, header_n = -1, header_line = 0;
  std::string raw;
  int64_t line_no = 0;
  bool first = true;
  while (std::getline(in, raw)) {
    ++line_no;
    std::string_view line(raw);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // Editors on Windows start UTF-8 files with a byte order mark; it is not part of the first token.
    if (line_no == 1 && line.substr(0, kUtf8Bom.size()) == kUtf8Bom) line.remove_prefix(kUtf8Bom.size());
    std::vector<std::string_view> f = fields(line);
    if (f.empty()) continue;
    if (first) {
      first = false;
      if (f.size() == 2) {
        std::optional<int64_t> n = parse_count(f[0]), d = parse_count(f[1]);
        if (n && d) {
          TOY_CHECK(*d > 0, "{}:{}: header says dimension 0", source, line_no);
          header_n = *n;
          dim = *d;
          dim_line = header_line = line_no;
          continue;
        }
      }
    }
    const int64_t nvals = static_cast<int64_t>(f.size()) - 1;
    // Tokens label tables, JSON and SVG downstream, all of which must be valid UTF-8: refuse a bad token here,
    // where the line is known, rather than write a broken file later.
    if (const size_t bad = invalid_utf8_at(f[0]); bad != std::string_view::npos)
      fail("{}:{}: token '{}' is not valid UTF-8 (byte {} of the token, 0x{:02x}); save the file as UTF-8", source,
           line_no, escaped_bytes(f[0]), bad + 1, static_cast<unsigned char>(f[0][bad]));
    const std::string token(f[0]);
    if (dim < 0) {
      TOY_CHECK(nvals > 0, "{}:{}: token '{}' has no values", source, line_no, token);
      dim = nvals;
      dim_line = line_no;
    } else if (nvals != dim) {
      if (header_line > 0 && dim_line == header_line)
        fail("{}:{}: token '{}' has {} values but the header (line {}) says dimension {}", source, line_no, token,
             nvals, header_line, dim);
      fail("{}:{}: token '{}' has {} values but line {} has {} (ragged rows)", source, line_no, token, nvals,
           dim_line, dim);
    }
    for (int64_t j = 0; j < nvals; ++j) {
      std::optional<float> v = parse_float(f[static_cast<size_t>(j + 1)]);
      TOY_CHECK(v.has_value(), "{}:{}: value {} of token '{}' is '{}', not a finite number", source, line_no, j + 1,
                token, escaped_bytes(f[static_cast<size_t>(j + 1)]));
      values.push_back(*v);
    }
    auto [it, fresh] = w.index.emplace(token, static_cast<int64_t>(w.tokens.size()));
    TOY_CHECK(fresh, "{}:{}: token '{}' occurs twice (first as vector {})", source, line_no, token, it->second);
    w.tokens.push_back(token);
  }
  const int64_t n = static_cast<int64_t>(w.tokens.size());
  TOY_CHECK(n > 0, "{}: no vectors{}", source, header_n >= 0 ? " after the header" : " (empty file)");
  TOY_CHECK(header_n < 0 || header_n == n, "{}: the header (line {}) says {} vectors but the file has {}", source,
            header_line, header_n, n);
  TOY_CHECK(expected_dim <= 0 || expected_dim == dim, "{}: vectors have dimension {}, expected {}", source, dim,
            expected_dim);
  w.vectors = Tensor::from(Shape{n, dim}, values);
  return w;
}

Word2Vec load_word2vec(const std::string& path, int64_t expected_dim) {
  std::ifstream f(path);
  TOY_CHECK(f.good(), "word2vec: cannot open '{}'", path);
  return parse_word2vec(f, path, expected_dim);
}

std::shared_ptr<Embedding> embedding_from_word2vec(const Word2Vec& w, const std::string& name, int64_t padding_idx) {
  TOY_CHECK(w.vectors.defined(), "word2vec: no vectors loaded");
  Rng rng(0);  // the initial table is overwritten
  auto e = std::make_shared<Embedding>(name, w.size(), w.dim(), rng, padding_idx);
  load_word2vec_into(*e, w);
  return e;
}

void load_word2vec_into(Embedding& e, const Word2Vec& w) {
  TOY_CHECK(w.vectors.defined(), "word2vec: no vectors loaded");
  Tensor& table = e.table().value();
  TOY_CHECK(table.shape() == w.vectors.shape(), "word2vec: Embedding '{}' is ({}) but the vectors are ({}) ({} x {})",
            e.name(), table.shape().str(), w.vectors.shape().str(), w.size(), w.dim());
  table.copy_from(w.vectors);
}

}  // namespace toy
