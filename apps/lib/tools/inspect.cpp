// The activation dump's loader and its checks (apps/lib/tools/inspect.h); the printing is apps/cmd_inspect.cpp.
#include "apps/lib/tools/inspect.h"

#include <fmt/ranges.h>

#include <cmath>
#include <map>

#include "apps/lib/training/run_record.h"
#include "core/error.h"
#include "layers/toy_model.h"

namespace toy::app {

std::string base_layer(std::string name) {
  if (name.rfind("grad/", 0) == 0) name = name.substr(5);
  if (const size_t at = name.find('@'); at != std::string::npos) name = name.substr(0, at);
  return name;
}

Axis last_axis(std::string layer) {
  layer = base_layer(std::move(layer));
  static const std::map<std::string, Axis> kAxes{
      {"XEmbed", Axis::Vocab},   {"PosEmbed", Axis::Vocab}, {"XwithPos", Axis::Vocab}, {"Qmat", Axis::Head},
      {"Kmat", Axis::Head},      {"dot", Axis::Position},   {"lambda", Axis::Position}, {"AttnWts", Axis::Position},
      {"Vmat", Axis::Vocab},     {"Voutput", Axis::Vocab},  {"skipadd", Axis::Vocab},   {"activation", Axis::Vocab}};
  auto it = kAxes.find(layer);
  return it == kAxes.end() ? Axis::None : it->second;
}

const char* axis_text(Axis a) {
  switch (a) {
    case Axis::Position: return "sequence x position x position (attended to)";
    case Axis::Vocab: return "sequence x position x vocabulary (embedding dim = output word)";
    case Axis::Head: return "sequence x position x head dim";
    case Axis::None: break;
  }
  return "";
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

// The named layers are [B, T] (the two inputs) or [B, T, X]; the ones whose last axis is a position (dot, lambda,
// AttnWts) have X = T, since tables and the chain's mask label it with the sequence's tokens. A gradient has the
// shape of its layer; the per-epoch histories (loss, lr) are vectors.
void check_layers(const Dump& d) {
  for (const auto& name : toy_layer_names()) {
    const Tensor& t = *d.find(name);
    const bool input = name == "Xseqids" || name == "PosInput";
    const bool square = last_axis(name) == Axis::Position;
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

}  // namespace

Dump load_dump(const std::string& path) {
  Dump d;
  d.path = path;
  d.arrays = load_npz(path);
  std::vector<std::string> missing;
  for (const auto& name : toy_layer_names())
    if (!d.find(name)) missing.push_back(name);
  if (!missing.empty()) {
    std::vector<std::string> have;
    for (const auto& [k, t] : d.arrays) have.push_back(k);
    fail("inspect: '{}' is not an activation dump: it lacks {} (it holds: {}); write one with toyformer train "
         "--dump-activations A.npz or --out DIR",
         path, fmt::join(missing, ", "), have.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(have, ", ")));
  }
  // The checks below run once, in this order, so that everything shown later can index without checking again.
  read_sizes_and_ids(d);
  read_vocab(d);
  check_layers(d);
  read_snapshots(d);
  return d;
}

}  // namespace toy::app
