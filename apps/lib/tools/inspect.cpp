// The activation dump's loader and its checks (apps/lib/tools/inspect.h); the printing is apps/cmd_inspect.cpp.
#include "apps/lib/tools/inspect.h"

#include <fmt/ranges.h>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>

#include "apps/lib/formats/json_limits.h"
#include "apps/lib/training/run_record.h"
#include "core/error.h"
#include "layers/toy_model.h"

namespace toy::app {

namespace fs = std::filesystem;

std::string base_layer(std::string name) {
  if (name.rfind("grad/", 0) == 0) name = name.substr(5);
  if (const size_t at = name.find('@'); at != std::string::npos) name = name.substr(0, at);
  return name;
}

namespace {

// The block of a variant's layer name "L<b>/...", -1 for any other name (a model has at most 16 blocks).
int64_t block_of(const std::string& name) {
  size_t i = 1;
  while (i < name.size() && i <= 3 && std::isdigit(static_cast<unsigned char>(name[i]))) ++i;
  if (name.empty() || name[0] != 'L' || i == 1 || i >= name.size() || name[i] != '/') return -1;
  return std::stoll(name.substr(1, i - 1));
}

}  // namespace

std::string own_layer(const std::string& layer) {
  return block_of(layer) >= 0 ? layer.substr(layer.find('/') + 1) : layer;
}

Axis last_axis(std::string layer) {
  layer = own_layer(base_layer(std::move(layer)));
  static const std::map<std::string, Axis> kAxes{
      {"XEmbed", Axis::Vocab},   {"PosEmbed", Axis::Vocab}, {"XwithPos", Axis::Vocab}, {"Qmat", Axis::Head},
      {"Kmat", Axis::Head},      {"dot", Axis::Position},   {"lambda", Axis::Position}, {"AttnWts", Axis::Position},
      {"Vmat", Axis::Vocab},     {"Voutput", Axis::Vocab},  {"skipadd", Axis::Vocab},   {"activation", Axis::Vocab},
      {"Omat", Axis::Vocab},     {"norm1", Axis::Vocab},    {"ffn1", Axis::Unit},       {"ffn2", Axis::Vocab},
      {"ffnadd", Axis::Vocab},   {"norm2", Axis::Vocab}};
  auto it = kAxes.find(layer);
  return it == kAxes.end() ? Axis::None : it->second;
}

const char* axis_text(Axis a) {
  switch (a) {
    case Axis::Position: return "sequence x position x position (attended to)";
    case Axis::Vocab: return "sequence x position x vocabulary (embedding dim = output word)";
    case Axis::Head: return "sequence x position x head dim";
    case Axis::Unit: return "sequence x position x feed-forward unit";
    case Axis::None: break;
  }
  return "";
}

Axis Dump::axis(const std::string& layer) const {
  const std::string own = own_layer(base_layer(layer));
  if (variant() && arch.has_wo() && (own == "Vmat" || own == "Voutput")) return Axis::Head;
  return last_axis(layer);
}

namespace {

// "AttnWts (2x5x5)", for error messages.
std::string named(const std::string& name, const Tensor& t) { return fmt::format("{} ({})", name, t.shape().str()); }

// Xseqids [B, T] and activation [B, T, V] fix B, T and V; the token ids must be whole numbers that index the
// vocabulary (they label every row), and there must be at least one sequence of at least one position.
void read_sizes_and_ids(Dump& d) {
  const Tensor& x = *d.find("Xseqids");
  const Tensor& act = *d.find("activation");
  TOY_CHECK(x.rank() == 2 && act.rank() == 3 && act.dim(0) == x.dim(0) && act.dim(1) == x.dim(1),
            "inspect: '{}': Xseqids ({}) and activation ({}) are not [B, T] and [B, T, V]", d.path, x.shape().str(),
            act.shape().str());
  d.B = x.dim(0);
  d.T = x.dim(1);
  d.V = act.dim(2);
  TOY_CHECK(d.B > 0 && d.T > 0 && d.V > 0,
            "inspect: '{}': the dump holds no values: Xseqids is ({}) and activation ({}), B, T and V must be "
            "positive",
            d.path, x.shape().str(), act.shape().str());
  const std::vector<float> xv = x.to_vector();
  for (int64_t s = 0; s < d.B; ++s) {
    d.ids.emplace_back();
    for (int64_t t = 0; t < d.T; ++t) {
      const float id = xv[static_cast<size_t>(s * d.T + t)];
      TOY_CHECK(std::isfinite(id) && id >= 0 && id < static_cast<float>(d.V) && id == std::floor(id),
                "inspect: '{}': Xseqids[{},{}] = {} is not a token id (a whole number in 0..{}, V = {} from "
                "activation)",
                d.path, s, t, id, d.V - 1, d.V);
      d.ids.back().push_back(static_cast<int64_t>(id));
    }
  }
}

void read_vocab(Dump& d) {
  if (const Tensor* v = d.find(kDumpVocab)) {
    try {
      d.vocab = vocab_from_tensor(*v);
    } catch (const Error& e) {
      fail("inspect: '{}': {}", d.path, e.what());
    }
    TOY_CHECK(static_cast<int64_t>(d.vocab.size()) == d.V,
              "inspect: '{}': {} holds {} words but activation ({}) has V = {}", d.path, named(kDumpVocab, *v),
              d.vocab.size(), d.find("activation")->shape().str(), d.V);
    d.vocab_source = "from the dump";
  } else if (d.V == 7) {
    d.vocab = notebook_corpus().vocab;
    d.vocab_source = "the notebook's (the dump has none)";
  } else {
    for (int64_t i = 0; i < d.V; ++i) d.vocab.push_back(fmt::format("w{}", i));
    d.vocab_source = "unknown (the dump has none): w0..";
  }
}

// A variant's dot, lambda and AttnWts are [B, heads, T, T], heads as in L0/AttnWts (infer_arch) or run.json.
void check_head_layer(const Dump& d, const std::string& name, const Tensor& t) {
  TOY_CHECK(t.shape() == (Shape{d.B, d.arch.heads, d.T, d.T}),
            "inspect: '{}': {} does not match Xseqids ({}x{}) and the model's {} head{}: expected [B={}, heads={}, "
            "T={}, T={}]", d.path, named(name, t), d.B, d.T, d.arch.heads, d.arch.heads == 1 ? "" : "s", d.B,
            d.arch.heads, d.T, d.T);
}

// The named layers are [B, T] (the two inputs) or [B, T, X]; the ones whose last axis is a position (dot, lambda,
// AttnWts) have X = T, since tables and the chain's mask label it with the sequence's tokens (a variant's are
// [B, heads, T, T]). A gradient has the shape of its layer; the per-epoch histories (loss, lr) are vectors.
void check_layers(const Dump& d) {
  for (const auto& name : d.layers) {
    const Tensor& t = *d.find(name);
    const bool input = name == "Xseqids" || name == "PosInput";
    const bool square = last_axis(name) == Axis::Position;
    if (square && d.variant()) {
      check_head_layer(d, name, t);
      continue;
    }
    TOY_CHECK(t.rank() == (input ? 2 : 3) && t.dim(0) == d.B && t.dim(1) == d.T && (!square || t.dim(2) == d.T),
              "inspect: '{}': {} does not match Xseqids ({}x{}): expected [B={}, T={}{}]", d.path, named(name, t),
              d.B, d.T, d.B, d.T, input ? "" : square ? fmt::format(", T={}", d.T) : ", X");
  }
  for (const auto& [name, t] : d.arrays) {
    if (name.rfind("grad/", 0) == 0 && name.rfind("grad/param/", 0) != 0) {
      const Tensor* of = d.find(base_layer(name));
      TOY_CHECK(!of || t.shape() == of->shape(), "inspect: '{}': {} does not match {} (a gradient has the shape "
                "of its layer)", d.path, named(name, t), named(base_layer(name), *of));
    }
    if (name == "loss" || name == "lr")
      TOY_CHECK(t.rank() == 1, "inspect: '{}': {} must be a vector (one value per epoch)", d.path, named(name, t));
  }
}

// `epochs` [S]: the 1-based epoch of each snapshot, increasing; every `<layer>@epochs` is [S, <layer's shape>].
void read_snapshots(Dump& d) {
  std::vector<std::string> snapshot_arrays;
  for (const auto& [name, t] : d.arrays)
    if (name.size() > 7 && name.compare(name.size() - 7, 7, "@epochs") == 0) snapshot_arrays.push_back(name);
  const Tensor* ep = d.find("epochs");
  if (!ep) {
    TOY_CHECK(snapshot_arrays.empty(), "inspect: '{}': {} has no 'epochs' array to say which epochs it holds", d.path,
              snapshot_arrays.empty() ? "" : snapshot_arrays.front());
    return;
  }
  TOY_CHECK(ep->rank() == 1 && ep->dim(0) > 0, "inspect: '{}': {} must be a non-empty vector (the epoch of each "
            "snapshot)", d.path, named("epochs", *ep));
  const std::vector<float> ev = ep->to_vector();
  for (size_t k = 0; k < ev.size(); ++k) {
    TOY_CHECK(std::isfinite(ev[k]) && ev[k] >= 1 && ev[k] == std::floor(ev[k]) && ev[k] < 9.0e15f,
              "inspect: '{}': epochs[{}] = {} is not an epoch number (a whole number >= 1)", d.path, k, ev[k]);
    d.epochs.push_back(static_cast<int64_t>(ev[k]));
    TOY_CHECK(k == 0 || d.epochs[k] > d.epochs[k - 1], "inspect: '{}': epochs[{}] = {} does not follow epochs[{}] = "
              "{} (the snapshot epochs must increase)", d.path, k, d.epochs[k], k - 1, d.epochs[k - 1]);
  }
  const int64_t S = ep->dim(0);
  for (const std::string& name : snapshot_arrays) {
    const Tensor& all = *d.find(name);
    TOY_CHECK(all.rank() >= 1 && all.dim(0) == S, "inspect: '{}': {} does not match {}: its first axis is the "
              "snapshot, one per recorded epoch", d.path, named(name, all), named("epochs", *ep));
    std::vector<int64_t> each = all.shape().dims();
    each.erase(each.begin());
    if (name == "share@epochs")  // the verdict's share of each judged position (train --snapshot-every)
      TOY_CHECK(each.size() == 1 && each[0] >= 1 && each[0] <= d.B * d.T, "inspect: '{}': {} is not [S, J] with J "
                "judged positions (at most B*T = {})", d.path, named(name, all), d.B * d.T);
    else if (const Tensor* layer = d.find(base_layer(name)))
      TOY_CHECK(each == layer->shape().dims(), "inspect: '{}': {} does not match {}: each snapshot has the layer's "
                "shape", d.path, named(name, all), named(base_layer(name), *layer));
    else
      TOY_CHECK(each.size() >= 2 && each[0] == d.B && each[1] == d.T, "inspect: '{}': {} is not [S, B={}, T={}, ...]",
                d.path, named(name, all), d.B, d.T);
  }
}

// The blocks of a dump's layer names: 1 + the largest b of a layer "L<b>/..." (0: the notebook's model).
int64_t block_count(const NpzArrays& arrays) {
  int64_t blocks = 0;
  for (const auto& [name, t] : arrays)
    if (name.rfind("grad/", 0) != 0 && name.find('@') == std::string::npos)
      blocks = std::max(blocks, block_of(name) + 1);
  return blocks;
}

// The model variant a bare dump's layer names describe (a dump records no settings): the blocks L0.. present, the
// heads of L0/AttnWts [B, heads, T, T], W_O from L0/Omat, the feed-forward width of L0/ffn1 [B, T, ffn], LayerNorm
// from L0/norm1, the positional embedding from PosEmbed, the residual from L0/skipadd; the notebook's model when no
// layer belongs to a block. The mask is not in the names: infer_mask.
ToyArch infer_arch(const Dump& d) {
  ToyArch a;
  const int64_t blocks = block_count(d.arrays);
  if (blocks == 0) return a;
  a.layers = blocks;
  if (const Tensor* w = d.find("L0/AttnWts"); w && w->rank() == 4) a.heads = w->dim(1);
  a.wo = d.find("L0/Omat") != nullptr;
  if (const Tensor* f = d.find("L0/ffn1")) a.ffn = f->rank() == 3 ? f->dim(2) : 1;
  a.norm = d.find("L0/norm1") != nullptr;
  a.pos = d.find("PosEmbed") != nullptr;
  a.residual = d.find("L0/skipadd") != nullptr;
  if (a.notebook()) a.mask = false;  // block layers and every other option the notebook's: only the mask differs
  try {
    a.validate();
  } catch (const Error& e) {
    fail("inspect: '{}': its layers describe no model of the family ({})", d.path, e.what());
  }
  return a;
}

// A bare dump's causal mask, from the weights: no weight above the diagonal in any head of any block (the variant
// that differs from the notebook's model in the mask alone is known from its names).
void infer_mask(Dump& d) {
  ToyArch masked = d.arch;
  masked.mask = true;
  if (masked.notebook()) return;
  for (const std::string& name : d.layers) {
    if (own_layer(name) != "AttnWts") continue;
    const std::vector<float> v = d.find(name)->to_vector();  // [B, heads, T, T] (check_layers)
    for (size_t k = 0; k < v.size(); ++k) {
      const int64_t j = static_cast<int64_t>(k) % d.T, i = static_cast<int64_t>(k) / d.T % d.T;  // row i, column j
      if (j > i && v[k] != 0) {
        d.arch.mask = false;
        return;
      }
    }
  }
  d.arch.mask = true;
}

// The model of a run directory: its run.json's config.
ToyArch run_dir_arch(const std::string& json_path) {
  try {
    return run_arch(read_json_record(json_path).at("config"));
  } catch (const nlohmann::json::exception& e) {
    fail("inspect: '{}': {}", json_path, e.what());
  } catch (const Error& e) {
    fail("inspect: '{}': {}", json_path, e.what());
  }
}

// Every layer of the model in the dump; the error names what is missing and what the dump holds.
void check_present(const Dump& d, const std::string& source) {
  std::vector<std::string> missing;
  for (const auto& name : d.layers)
    if (!d.find(name)) missing.push_back(name);
  if (missing.empty()) return;
  std::vector<std::string> have;
  for (const auto& [k, t] : d.arrays) have.push_back(k);
  fail("inspect: '{}' is not an activation dump{}: it lacks {} (it holds: {}); write one with toyformer train "
       "--dump-activations A.npz or --out DIR",
       d.path, d.variant() ? fmt::format(" of the model variant {} ({})", d.arch.describe(), source) : "",
       fmt::join(missing, ", "), have.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(have, ", ")));
}

}  // namespace

Dump load_dump(const std::string& path) {
  Dump d;
  const bool dir = fs::is_directory(path);
  const fs::path run_json = fs::path(path) / "run.json";
  d.path = dir ? (fs::path(path) / "activations.npz").string() : path;
  TOY_CHECK(!dir || fs::exists(d.path), "inspect: '{}' is a directory without activations.npz (a run directory of "
            "toyformer train --out DIR holds one)", path);
  d.arrays = load_npz(d.path);
  const bool from_run = dir && fs::exists(run_json);
  d.arch = from_run ? run_dir_arch(run_json.string()) : infer_arch(d);
  d.arch_source = from_run ? "from its run.json" : "from its layer names";
  d.layers = toy_layer_names(d.arch);
  check_present(d, d.arch_source);
  // The checks below run once, in this order, so that everything shown later can index without checking again.
  read_sizes_and_ids(d);
  read_vocab(d);
  check_layers(d);
  if (!from_run) infer_mask(d);
  read_snapshots(d);
  return d;
}

}  // namespace toy::app
