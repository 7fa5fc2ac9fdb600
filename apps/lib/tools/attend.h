// `toyformer attend`: scaled dot-product attention for pencil-and-paper exercises, from a JSON problem or from
// pretrained embeddings, computed with the library's ops (layers/attention.h) and shown as labelled tables, one
// JSON object or SVG heatmaps. The CLI wiring is apps/cmd_attend.cpp; everything else is here so tests can call it.
//
// JSON problem (one object; numbers must be finite float32 values):
//   queries  [n_q, d]            required
//   keys     [n_k, d_k]          required
//   values   [n_k, d_v]          optional, default: keys
//   w_q [d, m], w_k [d_k, m], w_v [d_v, m_v], w_o [m_v, d_out]   optional projections, numpy layout x @ W
//                                (default: none, i.e. identity)
//   heads    positive integer, default 1: head i uses columns [i·m/heads, (i+1)·m/heads) of the projected queries
//            and keys (and of the values), scaled by 1/sqrt(m/heads)
//   mask     "none" (default) | "causal" (query i attends to keys j <= i)
//   tokens   labels: a list for both rows and columns (n_q == n_k), or {"queries": [...], "keys": [...]}
//   comment  free text, ignored
// Any other field is refused (a misspelt field would otherwise be silently ignored).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "layers/word2vec.h"

namespace toy::app {

struct AttendProblem {
  Tensor queries, keys, values;  // [n_q, d], [n_k, d_k], [n_k, d_v]
  Tensor w_q, w_k, w_v, w_o;     // undefined: no projection
  int64_t heads = 1;
  bool causal = false;
  std::vector<std::string> query_labels, key_labels;  // one per row / column
  std::vector<int64_t> ids;                           // --embeddings: the ids embedded (else empty)
};

// A problem from parsed JSON; toy::Error names the field ("keys: row 2 has 3 numbers, row 0 has 4").
AttendProblem parse_attend_problem(const nlohmann::json& j);
// A problem from a file: "FILE: malformed JSON: ..." (also for arrays and objects nested more than 64 deep) or
// "FILE: <field>: ...".
AttendProblem read_attend_problem(const std::string& path);
// "461,124,648" -> ids, each in [0, limit); errors name --ids.
std::vector<int64_t> parse_ids(const std::string& s, int64_t limit);
// Notebook 000: Q = K = V = the embedded sequence (rows of the word2vec file), labelled by the file's tokens.
AttendProblem embeddings_problem(const Word2Vec& w, const std::vector<int64_t>& ids, int64_t heads);

struct AttendResult {
  int64_t heads = 1, n_q = 0, n_k = 0, d_model = 0, d_head = 0, d_out = 0;
  bool causal = false;
  Tensor q, k, v;                         // projected: [n_q, m], [n_k, m], [n_k, m_v]
  Tensor scores, scaled_scores, weights;  // [heads, n_q, n_k]
  Tensor average_weights;                 // [n_q, n_k]
  Tensor output;                          // [n_q, d_out]
  std::vector<std::string> query_labels, key_labels;
  std::vector<int64_t> ids;
};

// Checks the sizes (naming the field) and computes the attention. Huge but finite inputs are fine as long as every
// intermediate fits float32 (the softmax subtracts each row's maximum); a value that overflows (e.g. a score of
// 1e60 from inputs of 1e30) is refused, naming the array and the element ("scores[0,0,1] = inf overflows float32").
AttendResult attend(const AttendProblem& p);
// One JSON object: heads, d_model, d_head, scale, mask, tokens, q, k, v, scores, scaled_scores, weights,
// average_weights, output (and ids for --embeddings).
nlohmann::json attend_json(const AttendResult& r);
// Labelled tables: the projections, then per head the scores, scaled scores and weights, the average, the output.
// A table of more than 12 columns shows the first 6 and the last 5 with a "…" column, and its title says
// "[64 columns, showing 0..5 and 59..63; full values with --json]".
std::string attend_tables(const AttendResult& r);
// The weights of every head (and their average when heads > 1) as SVG heatmap panels.
std::string attend_heatmap_svg(const AttendResult& r);

// The command: exactly one of `file` or `embeddings` (+ `ids`); `heads` > 0 overrides the problem's heads.
struct AttendCommand {
  std::string file, embeddings, ids, heatmap;
  int64_t heads = 0;
  bool json = false;
};
// Writes the tables or the JSON to `out` (and the heatmap file); returns 0. Bad input throws toy::Error (exit 2).
int run_attend(const AttendCommand& c, std::ostream& out);

}  // namespace toy::app
