// The activation dump of `toyformer inspect` as a library: load_dump reads an .npz of train --dump-activations
// (or a run directory's activations.npz) and checks every array against the others, so that the command (and the
// fuzz target tests/fuzz/fuzz_dump.cpp) can index it without checking again.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/npz.h"
#include "layers/toy_model.h"

namespace toy::app {

// What the last axis of a [B, T, X] layer (or a variant's [B, heads, T, T] attention layer) means.
enum class Axis { Position, Vocab, Head, Unit, None };

// The layer a derived array describes: "grad/AttnWts" and "AttnWts@epochs" -> "AttnWts".
std::string base_layer(std::string name);
// A variant's block layer without its block: "L1/AttnWts" -> "AttnWts"; other names as they are.
std::string own_layer(const std::string& layer);
// By the layer's own name (the notebook's 14 and a variant's Omat, norm1, ffn1, ffn2, ffnadd, norm2).
Axis last_axis(std::string layer);
const char* axis_text(Axis a);

struct Dump {
  std::string path;  // the .npz (a run directory's activations.npz)
  NpzArrays arrays;
  // The model: a run directory's run.json says it; a bare dump's layer names do (apps/lib/tools/inspect.cpp:
  // infer_arch). layers = toy_layer_names(arch), every one in the dump.
  ToyArch arch;
  std::string arch_source;  // "from its run.json", "from its layer names"
  std::vector<std::string> layers;
  std::vector<std::string> vocab;
  std::string vocab_source;
  std::vector<std::vector<int64_t>> ids;  // [B][T]
  std::vector<int64_t> epochs;            // the snapshot epochs (`epochs`), empty without snapshots
  int64_t B = 0, T = 0, V = 0;

  const Tensor* find(const std::string& name) const {
    for (const auto& [k, t] : arrays)
      if (k == name) return &t;
    return nullptr;
  }
  std::string word(int64_t id) const {
    return id >= 0 && id < static_cast<int64_t>(vocab.size()) ? vocab[static_cast<size_t>(id)] : fmt::format("#{}", id);
  }
  std::string position(int64_t s, int64_t t) const {
    return fmt::format("{} {}", t, word(ids[static_cast<size_t>(s)][static_cast<size_t>(t)]));
  }
  bool variant() const { return !arch.notebook(); }
  // The last axis of a layer of this model: last_axis, except a variant's Vmat and Voutput with W_O (head dims).
  Axis axis(const std::string& layer) const;
};

// Reads and validates a dump (an .npz, or a run directory of train --out: its activations.npz, the model from its
// run.json): the model's layers present (the notebook's 14, or a variant's), Xseqids [B, T] of token ids in 0..V-1
// with B, T, V > 0, the vocabulary (from the dump, the notebook's for V = 7, else w0..), every layer [B, T(, X)] (X =
// T for dot, lambda, AttnWts; a variant's are [B, heads, T, T]), gradients shaped like their layers, loss and lr
// vectors, and the snapshots: `epochs` a non-empty increasing vector of whole epochs >= 1 and every
// `<layer>@epochs` [S, <layer's shape>]. Throws toy::Error "inspect: 'PATH': <array> ..." naming the array.
Dump load_dump(const std::string& path);

}  // namespace toy::app
