// Run records (apps/lib/training/run_record.h): the activation dump's vocabulary and layers, run.json, reading a run
// directory back.
#include "apps/lib/training/run_record.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "apps/lib/formats/fs_util.h"
#include "apps/lib/formats/json_limits.h"
#include "apps/lib/training/settings.h"
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
    r.arch = run_arch(r.config);
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

std::vector<std::string> attention_layer_names(const ToyArch& arch) {
  std::vector<std::string> out;
  for (const std::string& name : toy_layer_names(arch))
    if (name == "AttnWts" || name.ends_with("/AttnWts")) out.push_back(name);
  return out;
}

std::vector<std::string> record_chain_layers(const ToyArch& arch) {
  if (arch.notebook()) return {"dot", "lambda", "Voutput", "skipadd"};
  std::vector<std::string> out{arch.pos ? "XwithPos" : "XEmbed"};
  for (const std::string& name : toy_layer_names(arch)) {
    const size_t slash = name.find('/');
    if (slash == std::string::npos) continue;  // not a block layer
    const std::string own = name.substr(slash + 1);
    if (own != "Qmat" && own != "Kmat" && own != "Vmat" && own != "AttnWts") out.push_back(name);
  }
  return out;
}

std::vector<std::string> record_snapshot_arrays(const ToyArch& arch) {
  std::vector<std::string> out{"epochs", "share@epochs"};
  for (const std::string& name : attention_layer_names(arch)) out.push_back(name + "@epochs");
  out.push_back("activation@epochs");
  return out;
}

ToyArch run_arch(const nlohmann::json& config) {
  nlohmann::json keys = nlohmann::json::object();  // only the variant's keys: the others do not decide the layers
  for (const char* k : {"heads", "wo", "layers", "ffn", "norm", "pos", "residual", "mask"})
    if (config.contains(k)) keys[k] = config.at(k);
  TrainSettings s;
  from_json(keys, s);
  s.arch.validate();
  return s.arch;
}

std::vector<std::pair<std::string, std::vector<float>>> attention_evidence_per_head(const ToyCorpus& corpus,
                                                                                    const ToyArch& arch,
                                                                                    const NpzArrays& attention) {
  std::vector<std::pair<std::string, std::vector<float>>> out;
  if (arch.notebook()) return out;
  for (const auto& [name, w] : attention) out.push_back({name, attention_to_evidence_per_head(corpus, w)});
  return out;
}

float strongest_evidence(const std::vector<std::pair<std::string, std::vector<float>>>& per_head) {
  float best = std::nanf("");
  for (const auto& [name, heads] : per_head)
    for (float v : heads) best = std::fmax(best, v);
  return best;
}

nlohmann::json attn_heads_json(const RunRecord& r) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, heads] : r.attn_heads) {
    nlohmann::json values = nlohmann::json::array();
    for (float v : heads) values.push_back(std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v));
    j[name] = values;
  }
  return j;
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
  if (!r.attn_heads.empty()) j["metrics"]["attn_heads"] = attn_heads_json(r);
  j["history"] = {{"loss", r.loss}, {"lr", r.lr}, {"reductions", r.reductions}};
  return j;
}

namespace {

// The array `name` of a run directory's activations.npz (`arrays`); the error names the file and run.json's model.
const Tensor& array_of(const NpzArrays& arrays, const std::string& name, const std::string& path,
                       const ToyArch& arch) {
  for (const auto& [k, t] : arrays)
    if (k == name) return t;
  fail("{}: no array '{}' (run.json's model, {}, has that layer)", path, name, arch.describe());
}

// AttnWts [N, T, T] of the notebook's model, L<block>/AttnWts [N, heads, T, T] of a variant.
Shape attention_shape(const ToyArch& arch, int64_t N, int64_t T) {
  return arch.notebook() ? Shape{N, T, T} : Shape{N, arch.heads, T, T};
}

}  // namespace

RunRecord load_run_dir(const std::string& dir) {
  const std::string jpath = (fs::path(dir) / "run.json").string();
  const nlohmann::json j = read_json_record(jpath);
  RunRecord r = record_from_json(j, jpath);
  const std::string apath = (fs::path(dir) / "activations.npz").string();
  const NpzArrays all = load_npz(apath);
  const int64_t N = r.corpus.size(), T = r.corpus.seq_len(), V = r.corpus.vocab_size();
  r.activation = array_of(all, "activation", apath, r.arch);
  TOY_CHECK(r.activation.shape() == (Shape{N, T, V}), "{}: activation ({}) does not match the corpus of run.json "
            "(N={}, T={}, V={})", apath, r.activation.shape().str(), N, T, V);
  for (const std::string& name : attention_layer_names(r.arch)) {
    const Tensor& w = array_of(all, name, apath, r.arch);
    TOY_CHECK(w.shape() == attention_shape(r.arch, N, T), "{}: {} ({}) does not match the corpus and model of "
              "run.json: expected ({}) (N={}, {}T={})", apath, name, w.shape().str(),
              attention_shape(r.arch, N, T).str(), N, r.arch.notebook() ? "" : fmt::format("heads={}, ", r.arch.heads),
              T);
    r.attention.push_back({name, w});
  }
  std::vector<std::string> kept = record_chain_layers(r.arch);
  for (const std::string& name : record_snapshot_arrays(r.arch)) kept.push_back(name);
  for (const auto& [k, t] : all)
    if (std::find(kept.begin(), kept.end(), k) != kept.end()) r.layers.push_back({k, t});
  r.attn_heads = attention_evidence_per_head(r.corpus, r.arch, r.attention);
  return r;
}

}  // namespace toy
