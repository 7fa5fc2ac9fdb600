// `toyformer attend`: scaled dot-product attention for the notebooks' pencil-and-paper exercises, from a JSON problem
// (queries, keys, optional values, projections, heads, mask, labels) or from word2vec embeddings and a list of ids.
// The problem format and the computation are in apps/lib/tools/attend.h.
#include <iostream>
#include <memory>

#include "apps/commands.h"
#include "apps/flag_checks.h"
#include "apps/lib/tools/attend.h"

namespace toy::app {

Runner add_attend(CLI::App& app) {
  auto c = std::make_shared<AttendCommand>();
  CLI::App* sub = app.add_subcommand(
      "attend",
      "scaled dot-product attention of a JSON problem (queries, keys, values, w_q/w_k/w_v/w_o, heads, mask, tokens)"
      " or of embedded ids: scores, scaled scores, weights, output");
  sub->add_option("file", c->file, "problem file (JSON object: queries [n_q,d], keys [n_k,d], ...)");
  sub->add_flag("--json", c->json, "print one JSON object (scores, scaled_scores, weights [heads,n_q,n_k], output)");
  sub->add_option("--heatmap", c->heatmap, "write the attention weights as an SVG heatmap to this file");
  sub->add_option("--embeddings", c->embeddings, "word2vec text file: Q = K = V = the vectors of --ids");
  sub->add_option("--ids", c->ids, "comma-separated row ids of the embeddings file, e.g. 461,124,648");
  sub->add_option("--heads", c->heads, "number of heads (blocks of columns); overrides the problem's \"heads\"")
      ->check(int_in(1, 1 << 16));
  return [c] { return run_attend(*c, std::cout); };
}

}  // namespace toy::app
