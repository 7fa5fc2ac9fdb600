// Notebook 002 with toyformer: "reweighing by proximity" (a Gaussian conv1d smoothing a noisy sine), then the Dutch
// "bank" sentences: vocabulary, embedding, self-attention (the two "bank" vectors are equal before attention and
// differ after it), and multi-head attention with a key-padding mask, shown as a labelled table (PAD included).
//
//   bank_attention [heatmap.svg]
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/lib/formats/fs_util.h"
#include "apps/lib/visual/svg.h"
#include "autograd/ops.h"
#include "core/error.h"
#include "layers/attention.h"
#include "layers/tokenizer.h"

using namespace toy;

namespace {

// Sum of squared differences of neighbours: how rough a signal is.
double roughness(const std::vector<float>& x) {
  double s = 0;
  for (size_t i = 1; i < x.size(); ++i) s += (x[i] - x[i - 1]) * (x[i] - x[i - 1]);
  return s;
}

// Rows a and b of a [rows, n] view are bit-for-bit equal.
bool same_row(const Tensor& t, int64_t a, int64_t b, int64_t n) {
  for (int64_t j = 0; j < n; ++j)
    if (t[a * n + j] != t[b * n + j]) return false;
  return true;
}

std::string vec(const Tensor& t, int64_t row, int64_t n) {
  std::string s = "[";
  for (int64_t j = 0; j < n; ++j) s += fmt::format("{}{:8.4f}", j ? ", " : "", t[row * n + j]);
  return s + "]";
}

}  // namespace

int main(int argc, char** argv) {
  // Usage: bank_attention [HEATMAP.svg]. Anything that looks like an option is not a file name.
  if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
    const bool help = argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h");
    std::fprintf(help ? stdout : stderr,
                 "usage: bank_attention [HEATMAP.svg]\n  notebook 002's exercises: Gaussian smoothing, the 'bank' "
                 "self-attention and multi-head attention with a padding mask; with a file name, also the multi-head "
                 "weights as an SVG heatmap\n");
    return help ? 0 : 2;
  }
  Rng rng(2);

  // --- Reweighing by proximity: y[i] = sum_j g[j] x[i + j], an 8-tap Gaussian over a noisy sine (valid padding).
  std::vector<float> signal, gaussian;
  for (int i = 0; i < 100; ++i) {
    const float t = 4.0f * static_cast<float>(M_PI) * static_cast<float>(i) / 99.0f;
    signal.push_back(std::sin(t) + 0.1f * rng.uniform(-1.7f, 1.7f));
  }
  for (int v = -4; v < 4; ++v) gaussian.push_back(std::exp(-0.5f * v * v) / std::sqrt(2.0f * static_cast<float>(M_PI)));
  Var x = Var::constant(Tensor::from(Shape{100}, signal));
  Var smooth = conv1d(x, Var::constant(Tensor::from(Shape{8}, gaussian)));  // [93]
  fmt::print("smoothing: conv1d of 100 samples with an 8-tap Gaussian -> {} samples, roughness {:.3f} -> {:.3f}\n\n",
             smooth.shape()[0], roughness(signal), roughness(smooth.value().to_vector()));

  // --- Vocabulary from three sentences (most frequent first, at most 11 words).
  const std::vector<std::string> corpus = {"ik zit op de bank", "ik werk bij de bank", "bij de bank is het heel druk"};
  Tokenizer tok = Tokenizer::build(corpus, {.max_words = 11});
  fmt::print("vocabulary ({} tokens):", tok.size());
  for (int64_t i = 0; i < tok.size(); ++i) fmt::print(" {}={}", tok.token(i), i);
  fmt::print("\nid of 'bank': {}, of 'test': {} (<unk>)\n", tok.id("bank"), tok.id("test"));
  EncodedBatch batch = tok.encode(corpus);  // ids [3, 7], padded with <pad> = 0; mask 1 = word, 0 = padding
  fmt::print("batch: {} sentences x {} positions\n\n", batch.ids.dim(0), batch.ids.dim(1));

  // --- Embedding (4 features, <pad> is row 0): "bank" gets the same vector in both sentences.
  Embedding emb("embedding", tok.size(), 4, rng, Tokenizer::kPad);
  // Values of unit size, like torch's nn.Embedding (Keras' default U(-0.05, 0.05) gives near-uniform attention).
  Tensor table = init::uniform(emb.table().shape(), rng, -1.7f, 1.7f);
  for (int64_t j = 0; j < 4; ++j) table[Tokenizer::kPad * 4 + j] = 0.0f;  // the padding row stays zero
  emb.table().value().copy_from(table);
  Var e = emb(Var::constant(batch.ids));  // [3, 7, 4]
  const int64_t T = batch.ids.dim(1), bank1 = 0 * T + 4, bank2 = 1 * T + 4;  // "bank" is word 4 of sentences 0, 1
  fmt::print("bank in sentence 0: {}\nbank in sentence 1: {}\n", vec(e.value(), bank1, 4), vec(e.value(), bank2, 4));
  fmt::print("bank before attention: {}\n\n", same_row(e.value(), bank1, bank2, 4) ? "equal" : "different");

  // --- Self-attention, Q = K = V = the embeddings: softmax(Q Kᵀ / sqrt(4)) V mixes every word with its context.
  AttentionOutput self = scaled_dot_product_attention(e, e, e, /*heads=*/1);
  const Tensor& act = self.output.value();  // [3, 7, 4]
  fmt::print("bank in sentence 0: {}\nbank in sentence 1: {}\n", vec(act, bank1, 4), vec(act, bank2, 4));
  fmt::print("bank after attention: {}\n\n", same_row(act, bank1, bank2, 4) ? "equal" : "different");

  // --- Multi-head attention (2 heads of 2 features, learned W_Q, W_K, W_V, W_O) with the padding masked out.
  MultiHeadAttention mha("multihead", {.d_model = 4, .num_heads = 2}, rng);
  AttentionOutput m = mha(e, batch.mask);
  std::vector<std::string> labels = tok.split(corpus[0]);
  while (static_cast<int64_t>(labels.size()) < T) labels.push_back("PAD");
  const std::vector<float> w = m.average_weights.value().to_vector();  // [3, 7, 7], sentence 0 first
  fmt::print("multi-head attention weights of sentence 0 (average of {} heads; rows attend to columns, untrained)\n",
             mha.options().num_heads);
  fmt::print("{:>6}", "");
  for (const std::string& l : labels) fmt::print(" {:>6}", l);
  fmt::print("\n");
  for (int64_t i = 0; i < T; ++i) {
    fmt::print("{:>6}", labels[static_cast<size_t>(i)]);
    for (int64_t j = 0; j < T; ++j) fmt::print(" {:6.3f}", w[static_cast<size_t>(i * T + j)]);
    fmt::print("\n");
  }
  fmt::print("the PAD columns are 0: padded keys get no attention\n");

  if (argc > 1) {
    svg::Heatmap h;
    h.title = "multi-head attention, sentence 0 (average over heads)";
    h.row_labels = h.col_labels = labels;
    h.values.assign(w.begin(), w.begin() + T * T);
    try {
      write_file_atomic(argv[1], svg::heatmap(h));
    } catch (const Error& e) {
      std::fprintf(stderr, "bank_attention: error: %s\n", e.what());
      return 2;
    }
    fmt::print("heatmap written to {}\n", argv[1]);
  }
  return 0;
}
