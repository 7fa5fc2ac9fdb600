// Run records (apps/lib/training/run_record.h): the activation dump's vocabulary and layers, run.json, reading a run
// directory back.
#include "apps/lib/training/run_record.h"

#include <cmath>
#include <filesystem>

#include "apps/lib/formats/fs_util.h"
#include "apps/lib/formats/json_limits.h"
#include "core/error.h"
#include "core/utf8.h"

namespace toy {
namespace {

namespace fs = std::filesystem;

RunRecord record_from_json(const nlohmann::json& j, const std::string& where) {
  RunRecord r;
  try {
    TOY_CHECK(j.value("kind", "") == "toyformer-run", "not a toyformer run file");
    r.config = j.at("config");
    r.corpus = corpus_from_json(j.at("corpus"));
    const auto& m = j.at("metrics");
    r.final_loss = m.at("final_loss").get<float>();
    r.final_lr = m.at("final_lr").get<float>();
    TOY_CHECK(m.contains("outcome"), "no verdict outcome (run.json written by a toyformer before the three-outcome "
                                     "verdict: rerun train --out)");
    r.verdict = verdict_from_json(m.at("verdict"), r.corpus);
    r.levels = LossLevels{m.at("loss_floor").get<double>(), m.at("loss_undecided").get<double>()};
    r.stopped_early = m.value("stopped_early", false);
    r.attn_the_to_subject =
        m.at("attn_the_to_subject").is_null() ? std::nanf("") : m.at("attn_the_to_subject").get<float>();
    r.params = m.at("params").get<int64_t>();
    r.us_per_step = m.value("us_per_step", 0.0);
    const auto& h = j.at("history");
    r.loss = h.at("loss").get<std::vector<float>>();
    r.lr = h.at("lr").get<std::vector<float>>();
    r.reductions = h.at("reductions").get<std::vector<int64_t>>();
    TOY_CHECK(r.lr.size() == r.loss.size(), "history: 'lr' has {} values but 'loss' has {} (one of each per epoch)",
              r.lr.size(), r.loss.size());
    for (size_t k = 0; k < r.reductions.size(); ++k)
      TOY_CHECK(r.reductions[k] >= 0 && r.reductions[k] < static_cast<int64_t>(r.loss.size()) &&
                    (k == 0 || r.reductions[k] > r.reductions[k - 1]),
                "history: reductions[{}] = {} is not an epoch of the history (0..{}, increasing)", k, r.reductions[k],
                static_cast<int64_t>(r.loss.size()) - 1);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: {}", where, e.what());
  } catch (const Error& e) {
    fail("{}: {}", where, e.what());
  }
  return r;
}

}  // namespace

nlohmann::json corpus_json(const ToyCorpus& c) {
  return nlohmann::json{{"vocab", c.vocab}, {"sequences", c.seqs}};
}

ToyCorpus corpus_from_json(const nlohmann::json& j) {
  ToyCorpus c;
  c.vocab = j.at("vocab").get<std::vector<std::string>>();
  c.seqs = j.at("sequences").get<std::vector<std::vector<int64_t>>>();
  TOY_CHECK(!c.vocab.empty() && !c.seqs.empty(), "corpus: empty vocabulary or no sequences");
  for (const auto& s : c.seqs) {
    TOY_CHECK(s.size() == c.seqs[0].size(), "corpus: sequences of different lengths");
    for (int64_t id : s) TOY_CHECK(id >= 0 && id < c.vocab_size(), "corpus: token id {} outside the vocabulary", id);
  }
  return c;
}

Tensor vocab_tensor(const std::vector<std::string>& vocab) {
  std::vector<std::vector<uint32_t>> cps;
  size_t L = 1;
  for (const auto& w : vocab) {
    cps.push_back(utf8_decode(w));
    L = std::max(L, cps.back().size());
  }
  std::vector<float> v(vocab.size() * L, 0.0f);
  for (size_t i = 0; i < cps.size(); ++i)
    for (size_t k = 0; k < cps[i].size(); ++k) v[i * L + k] = static_cast<float>(cps[i][k]);
  return Tensor::from(Shape{static_cast<int64_t>(vocab.size()), static_cast<int64_t>(L)}, v);
}

std::vector<std::string> vocab_from_tensor(const Tensor& t) {
  TOY_CHECK(t.rank() == 2, "vocab: expected a [V, L] array of code points, got ({})", t.shape().str());
  std::vector<float> v = t.to_vector();
  const int64_t V = t.dim(0), L = t.dim(1);
  std::vector<std::string> out;
  for (int64_t i = 0; i < V; ++i) {
    std::vector<uint32_t> cps;
    for (int64_t k = 0; k < L; ++k) {
      float c = v[static_cast<size_t>(i * L + k)];
      TOY_CHECK(c >= 0 && c <= 0x10ffff && c == std::floor(c), "vocab: entry ({}, {}) = {} is not a code point", i, k, c);
      if (c > 0) cps.push_back(static_cast<uint32_t>(c));
    }
    out.push_back(utf8_encode(cps));
  }
  return out;
}

NpzArrays activation_arrays(const Model& view, const std::vector<float>& loss, const std::vector<float>& lr,
                            const std::vector<std::string>& vocab) {
  NpzArrays a;
  for (const LayerEntry& e : view.layers()) a.push_back({e.name, e.output.value()});
  a.push_back({"loss", Tensor::from(Shape{static_cast<int64_t>(loss.size())}, loss)});
  a.push_back({"lr", Tensor::from(Shape{static_cast<int64_t>(lr.size())}, lr)});
  a.push_back({kDumpVocab, vocab_tensor(vocab)});
  return a;
}

const Tensor* RunRecord::layer(const std::string& name) const {
  for (const auto& [k, t] : layers)
    if (k == name) return &t;
  return nullptr;
}

nlohmann::json run_json(const RunRecord& r) {
  nlohmann::json j;
  j["kind"] = "toyformer-run";
  j["config"] = r.config;
  j["corpus"] = corpus_json(r.corpus);
  j["metrics"] = {{"final_loss", r.final_loss},
                  {"final_lr", r.final_lr},
                  {"epochs", r.loss.size()},
                  {"lr_reductions", r.reductions.size()},
                  {"outcome", outcome_name(r.verdict.outcome)},
                  {"solved", r.verdict.solved()},
                  {"share", std::isnan(r.verdict.share) ? nlohmann::json(nullptr) : nlohmann::json(r.verdict.share)},
                  {"verdict", r.verdict.json(r.corpus)},
                  {"loss_floor", r.levels.floor},
                  {"loss_undecided", r.levels.undecided},
                  {"stopped_early", r.stopped_early},
                  {"attn_the_to_subject", std::isnan(r.attn_the_to_subject) ? nlohmann::json(nullptr)
                                                                            : nlohmann::json(r.attn_the_to_subject)},
                  {"params", r.params},
                  {"us_per_step", r.us_per_step}};
  j["history"] = {{"loss", r.loss}, {"lr", r.lr}, {"reductions", r.reductions}};
  return j;
}

RunRecord load_run_dir(const std::string& dir) {
  const std::string jpath = (fs::path(dir) / "run.json").string();
  const nlohmann::json j = read_json_record(jpath);
  RunRecord r = record_from_json(j, jpath);
  const std::string apath = (fs::path(dir) / "activations.npz").string();
  r.activation = load_npz_array(apath, "activation");
  r.attn = load_npz_array(apath, "AttnWts");
  for (auto& [k, t] : load_npz(apath))
    if (k == "dot" || k == "lambda" || k == "Voutput" || k == "skipadd" || k == "epochs" || k == "AttnWts@epochs" ||
        k == "activation@epochs" || k == "share@epochs")
      r.layers.push_back({k, t});
  const int64_t N = r.corpus.size(), T = r.corpus.seq_len(), V = r.corpus.vocab_size();
  TOY_CHECK(r.activation.shape() == (Shape{N, T, V}) && r.attn.shape() == (Shape{N, T, T}),
            "{}: activation ({}) and AttnWts ({}) do not match the corpus of run.json (N={}, T={}, V={})", apath,
            r.activation.shape().str(), r.attn.shape().str(), N, T, V);
  return r;
}

}  // namespace toy
