// Checkpoints trusted too much (issue 12, class 4): one crafted checkpoint per defect, each refused by
// load_checkpoint with the file and the array named; the int64 counters of version 2; version 1 still read.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "apps/lib/training/checkpoint.h"
#include "core/error.h"
#include "core/npz.h"

using namespace toy;
namespace fs = std::filesystem;

namespace {

// A checkpoint as its raw arrays, to be damaged one array at a time.
struct Raw {
  NpzArrays f;
  NpzInt64Arrays i;

  Tensor* ft(const std::string& k) {
    for (auto& [n, t] : f)
      if (n == k) return &t;
    FAIL("no float array " << k);
    return nullptr;
  }
  NpzInt64* it(const std::string& k) {
    for (auto& [n, a] : i)
      if (n == k) return &a;
    FAIL("no int64 array " << k);
    return nullptr;
  }
  void drop(const std::string& k) {
    std::erase_if(f, [&](const auto& p) { return p.first == k; });
    std::erase_if(i, [&](const auto& p) { return p.first == k; });
  }
  // Replace an int64 array by float32 values (as version 1 wrote every array).
  void to_float(const std::string& k) {
    NpzInt64 a = *it(k);
    drop(k);
    std::vector<float> v(a.values.begin(), a.values.end());
    f.push_back({k, Tensor::from(Shape(a.dims), v)});
  }
};

fs::path scratch() {
  static const fs::path d = [] {
    fs::path p = fs::temp_directory_path() / ("toy_ckval_" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
  }();
  return d;
}

// A real checkpoint of a 30-epoch run of one model: SGD with momentum and the plateau rule (patience 2, so its
// history holds reductions), saved once.
const std::string& good_path() {
  static const std::string path = [] {
    ToyCorpus c = notebook_corpus();
    ToyModel m(c, ToyConfig{}, 2);
    TrainOptions o;
    o.epochs = 30;
    o.momentum = 0.9f;
    o.plateau_patience = 2;
    o.min_delta = 0.5;
    o.checkpoint_every = 30;
    TrainCheckpoint ck;
    o.on_checkpoint = [&](const TrainCheckpoint& c2) { ck = c2; };
    train_models(m, c, o);
    const std::string p = (scratch() / "good.npz").string();
    save_checkpoint(p, ck);
    return p;
  }();
  return path;
}

Raw good() {
  Raw r;
  r.f = load_npz(good_path(), &r.i);
  return r;
}

// What load_checkpoint says about r: the message of its toy::Error, or "accepted".
std::string refusal(const Raw& r) {
  const std::string p = (scratch() / "bad.npz").string();
  save_npz(p, r.f, r.i);
  try {
    load_checkpoint(p);
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

// The same checkpoint as version 1 wrote it: every array float32, the RNG state as the character codes of its text.
Raw version1() {
  Raw r = good();
  for (const char* k : {"checkpoint/version", "epoch", "optimizer/step", "plateau/wait", "plateau/cooldown",
                        "history/reductions/0"})
    r.to_float(k);
  *r.ft("checkpoint/version") = Tensor::from(Shape{1}, {1.0f});
  const std::string text = load_checkpoint(good_path()).rng[0];
  r.drop("rng/0");
  r.f.push_back({"rng/0", Tensor::from(Shape{static_cast<int64_t>(text.size())}, std::vector<float>(text.begin(), text.end()))});
  return r;
}

std::string says(const std::string& what) { return "checkpoint " + (scratch() / "bad.npz").string() + ": " + what; }

}  // namespace

TEST_CASE("checkpoint/format: version 2 stores the epoch, the step and the counters as int64") {
  Raw r = good();
  CHECK(r.it("checkpoint/version")->values == std::vector<int64_t>{2});
  CHECK(r.it("epoch")->values == std::vector<int64_t>{30});
  CHECK(r.it("optimizer/step")->dims.empty());
  CHECK(r.it("optimizer/step")->values == std::vector<int64_t>{30});  // batch 2 = the corpus: one step per epoch
  CHECK(r.it("plateau/wait")->dims == std::vector<int64_t>{1});
  CHECK_FALSE(r.it("history/reductions/0")->values.empty());
  CHECK(refusal(r) == "accepted");
  TrainCheckpoint ck = load_checkpoint(good_path());
  CHECK(ck.epoch == 30);
  CHECK(ck.loss[0].size() == 30);
  CHECK(ck.optimizer.size() == 2 + 5);  // lr, step, a momentum per weight
}

TEST_CASE("checkpoint/format: a version-1 checkpoint (every array float32) is still read, with the same values") {
  Raw r = version1();
  CHECK(refusal(r) == "accepted");
  const std::string p = (scratch() / "bad.npz").string();
  TrainCheckpoint v1 = load_checkpoint(p), v2 = load_checkpoint(good_path());
  CHECK(v1.epoch == v2.epoch);
  CHECK(v1.reductions == v2.reductions);
  CHECK(v1.loss == v2.loss);
  CHECK(v1.plateau[0].wait == v2.plateau[0].wait);
  CHECK(v1.rng == v2.rng);
  REQUIRE(v1.optimizer.size() == v2.optimizer.size());
  for (size_t k = 0; k < v1.optimizer.size(); ++k) {
    CHECK(v1.optimizer[k].first == v2.optimizer[k].first);
    CHECK(v1.optimizer[k].second.to_vector() == v2.optimizer[k].second.to_vector());
  }
  // A version-1 counter must hold a whole number.
  *r.ft("epoch") = Tensor::from(Shape{1}, {29.5f});
  CHECK(refusal(r) == says("'epoch'[0] = 29.5 is not a whole number"));
}

TEST_CASE("checkpoint/refused: a missing array, named") {
  for (const char* k : {"weights/Qmat", "optimizer/lr", "optimizer/step", "epoch", "history/lr/0",
                        "history/reductions/0", "plateau/wait", "rng/0"}) {
    INFO(k);
    Raw r = good();
    r.drop(k);
    CHECK(refusal(r) == says(fmt::format("missing '{}' (not a toyformer checkpoint, or an incomplete one)", k)));
  }
  Raw r = good();
  r.drop("optimizer/Qmat/momentum");
  CHECK(refusal(r) == says("the optimizer slots of 'Qmat' (none) differ from those of 'XEmbed' (momentum): every "
                           "weight has the same slots"));
  r = good();
  for (const char* w : {"XEmbed", "PosEmbed", "Qmat", "Kmat", "Vmat"})
    *r.ft(std::string("optimizer/") + w + "/momentum") = Tensor::zeros(r.ft(std::string("weights/") + w)->shape());
  r.f.push_back({"optimizer/XEmbed/v", *r.ft("optimizer/XEmbed/momentum")});
  CHECK(refusal(r).find("the optimizer slots of 'PosEmbed' (momentum) differ from those of 'XEmbed' (momentum, v)") !=
        std::string::npos);
}

TEST_CASE("checkpoint/refused: histories that disagree with each other or with the epoch") {
  Raw r = good();
  *r.ft("history/lr/0") = Tensor::from(Shape{23}, std::vector<float>(23, 0.01f));
  CHECK(refusal(r) == says("'history/lr/0' has 23 values but 'history/loss/0' has 30: one learning rate per epoch"));
  r = good();
  *r.ft("history/loss/0") = Tensor::from(Shape{29}, std::vector<float>(29, 0.5f));
  CHECK(refusal(r) == says("'history/loss/0' has 29 epochs, the checkpoint says 30 ('epoch')"));
  r = good();
  r.it("history/reductions/0")->values.back() = 30;
  CHECK(refusal(r).find("is not an epoch of the history (0..29)") != std::string::npos);
  r = good();
  r.it("history/reductions/0")->values.front() = -1;
  CHECK(refusal(r) == says("'history/reductions/0'[0] = -1 is not an epoch of the history (0..29)"));
  r = good();
  *r.it("history/reductions/0") = NpzInt64{{2}, {7, 7}};
  CHECK(refusal(r) == says("'history/reductions/0'[1] = 7 does not follow 7 (the reductions must increase)"));
  r = good();
  r.ft("history/lr/0")->data()[4] = 0.0f;
  CHECK(refusal(r) == says("'history/lr/0'[4] = 0 is not a positive learning rate"));
  r = good();
  r.ft("history/loss/0")->data()[3] = std::numeric_limits<float>::quiet_NaN();
  CHECK(refusal(r) == says("'history/loss/0'[3] = nan is not finite"));
}

TEST_CASE("checkpoint/refused: non-finite weights and optimizer state") {
  Raw r = good();
  r.ft("weights/Kmat")->data()[5] = std::numeric_limits<float>::quiet_NaN();
  CHECK(refusal(r) == says("'weights/Kmat'[5] = nan is not finite"));
  r = good();
  r.ft("optimizer/Vmat/momentum")->data()[0] = -std::numeric_limits<float>::infinity();
  CHECK(refusal(r) == says("'optimizer/Vmat/momentum'[0] = -inf is not finite"));
  r = good();
  *r.ft("optimizer/lr") = Tensor::scalar(std::numeric_limits<float>::infinity());
  CHECK(refusal(r) == says("'optimizer/lr'[0] = inf is not a positive learning rate"));
  r = good();
  *r.ft("optimizer/Vmat/momentum") = Tensor::zeros(Shape{2, 2});
  CHECK(refusal(r).find("'optimizer/Vmat/momentum' has shape (2x2) but 'weights/Vmat' is") != std::string::npos);
}

TEST_CASE("checkpoint/refused: counters stored as float32, out of range or inconsistent") {
  Raw r = good();
  r.to_float("epoch");
  CHECK(refusal(r) == says("'epoch' is float32, expected int64"));
  r = good();
  r.to_float("optimizer/step");
  CHECK(refusal(r) == says("'optimizer/step' is float32, expected int64"));
  r = good();
  r.it("optimizer/step")->values[0] = 45;
  CHECK(refusal(r) == says("'optimizer/step' = 45 does not fit 'epoch' = 30 (every epoch runs the same number of "
                           "steps, at least one)"));
  r = good();
  r.it("optimizer/step")->values[0] = (int64_t{1} << 24) + 30;
  CHECK(refusal(r) == says("'optimizer/step' = 16777246 is out of range [0, 2^24]"));
  r = good();
  r.it("epoch")->values[0] = -1;
  CHECK(refusal(r) == says("'epoch' = -1 is out of range [0, 2^24]"));
  r = good();
  r.it("plateau/wait")->values[0] = -3;
  CHECK(refusal(r) == says("'plateau/wait'[0] = -3 is negative"));
  r = good();
  *r.it("checkpoint/version") = NpzInt64{{1}, {3}};
  CHECK(refusal(r) == says("unsupported version 3 (int64; this toyformer reads version 1, float32, and version 2, "
                           "int64)"));
}

TEST_CASE("checkpoint/refused: a plateau state per model, or none") {
  Raw r = good();
  *r.ft("plateau/best") = Tensor::from(Shape{2}, {0.5f, 0.5f});
  *r.it("plateau/wait") = NpzInt64{{2}, {0, 0}};
  *r.it("plateau/cooldown") = NpzInt64{{2}, {0, 0}};
  CHECK(refusal(r) == says("'plateau/best' has 2 values for 1 model (expected one per model, or none without the "
                           "plateau rule)"));
  r = good();
  *r.it("plateau/cooldown") = NpzInt64{{0}, {}};
  CHECK(refusal(r) == says("inconsistent plateau state: 'plateau/best' has 1 values, 'plateau/wait' 1, "
                           "'plateau/cooldown' 0"));
  r = good();
  *r.ft("plateau/best") = Tensor::zeros(Shape{0});
  *r.it("plateau/wait") = NpzInt64{{0}, {}};
  *r.it("plateau/cooldown") = NpzInt64{{0}, {}};
  CHECK(refusal(r).find("'history/reductions/0' holds") != std::string::npos);
  r = good();
  r.ft("plateau/best")->data()[0] = std::numeric_limits<float>::quiet_NaN();
  CHECK(refusal(r) == says("'plateau/best'[0] = nan is not a loss (finite, or inf before the first epoch)"));
}

TEST_CASE("checkpoint/refused: an RNG state that does not parse, an unexpected array") {
  Raw r = good();
  CHECK(r.it("rng/0")->values.size() == 313);
  r.it("rng/0")->values.back() = 400;
  CHECK(refusal(r) == says("'rng/0'[312] = 400 is not a position in the state (0..312)"));
  r = good();
  r.it("rng/0")->values.pop_back();
  r.it("rng/0")->dims = {312};
  CHECK(refusal(r) == says("'rng/0' holds 312 values, expected the 313 of a std::mt19937_64 state"));
  r = good();
  r.to_float("rng/0");
  CHECK(refusal(r) == says("'rng/0' is float32, expected int64"));
  // Version 1's text form.
  r = version1();
  const std::vector<float> rng = r.ft("rng/0")->to_vector();  // a copy: tensors share their storage
  r.ft("rng/0")->data()[2] = 'x';
  CHECK(refusal(r) == says("'rng/0'[2] = 120 is not a character of an RNG state (digits and spaces)"));
  r = version1();
  const std::vector<float> half(rng.begin(), rng.begin() + static_cast<std::ptrdiff_t>(rng.size() / 2));
  *r.ft("rng/0") = Tensor::from(Shape{static_cast<int64_t>(half.size())}, half);
  CHECK(refusal(r) == says("'rng/0' is not a valid RNG state (std::mt19937_64's 313 numbers)"));
  r = version1();
  std::vector<float> longer = rng;
  longer.insert(longer.end(), {' ', '5'});
  *r.ft("rng/0") = Tensor::from(Shape{static_cast<int64_t>(longer.size())}, longer);
  CHECK(refusal(r) == says("'rng/0' is not a valid RNG state: text follows the 313 numbers"));
  r = good();
  r.f.push_back({"history/loss/1", Tensor::zeros(Shape{30})});
  CHECK(refusal(r) == says("unexpected array 'history/loss/1' (not part of a version-2 checkpoint of 1 model)"));
  r = good();
  r.f.push_back({"weights/Omat", Tensor::zeros(Shape{2})});
  CHECK(refusal(r) == says("unexpected array 'weights/Omat' (not part of a version-2 checkpoint of 1 model)"));
}
