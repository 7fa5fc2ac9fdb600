// The verdict: judged positions, decision shares (both losses), the three outcomes and their rules, the corpus'
// loss levels, and early stopping (Keras' EarlyStopping, alone and in a stack). Expected values are computed by
// hand (in the comments) or by the independent tests/reference/verdict_reference.py.
#include <doctest/doctest.h>

#include <cmath>

#include "apps/lib/training/train.h"
#include "apps/lib/training/verdict.h"
#include "optim/early_stopping.h"
#include "tests/fixture_util.h"

using namespace toy;
using toy::testing::load_fixture;
using toy::testing::tensor_from_json;

namespace {

const ToyCorpus kThreeNouns =
    parse_corpus("man ordered the chicken\nwoman ordered the beef\nchild ordered the fish\n", "three nouns");

// skipadd / activation tensors for the notebook corpus that are zero except at `the` (position 3) of both
// sequences, where the target gets logit z_t and the competitor z_r (activation = sigmoid of the logits).
struct Outputs {
  Tensor skipadd, activation;
};
Outputs at_the(const ToyCorpus& c, double z_target, double z_rival) {
  const int64_t N = c.size(), T = c.seq_len(), V = c.vocab_size();
  std::vector<float> z(static_cast<size_t>(N * T * V), 0.0f), a(z.size());
  for (const JudgedPosition& j : judged_positions(c)) {
    const size_t row = static_cast<size_t>((j.seq * T + j.pos) * V);
    z[row + static_cast<size_t>(j.target)] = static_cast<float>(z_target);
    for (int64_t k : j.competitors) z[row + static_cast<size_t>(k)] = static_cast<float>(z_rival);
  }
  for (size_t i = 0; i < z.size(); ++i) a[i] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(z[i]))));
  return {Tensor::from(Shape{N, T, V}, z), Tensor::from(Shape{N, T, V}, a)};
}

// A training trace still moving (lr well above min_lr, loss falling 1e-2 over the last 10% of 100 epochs).
TrainingTrace falling() {
  TrainingTrace t;
  for (int i = 0; i < 100; ++i) t.loss.push_back(0.4f - 0.001f * static_cast<float>(i));
  t.final_lr = 0.01f;
  return t;
}

}  // namespace

TEST_CASE("verdict/judged: the notebook's 'the' after man and woman, evidence at position 1") {
  const ToyCorpus c = notebook_corpus();  // <ST> the man chkn ordrd woman beef
  const std::vector<JudgedPosition> j = judged_positions(c);
  REQUIRE(j.size() == 2);
  CHECK(j[0].seq == 0);
  CHECK(j[0].pos == 3);
  CHECK(c.vocab[static_cast<size_t>(j[0].token)] == "the");
  CHECK(c.vocab[static_cast<size_t>(j[0].target)] == "chkn");
  REQUIRE(j[0].competitors.size() == 1);
  CHECK(c.vocab[static_cast<size_t>(j[0].competitors[0])] == "beef");
  CHECK(j[0].evidence == 1);
  CHECK(c.vocab[static_cast<size_t>(j[1].target)] == "beef");
  CHECK(j[1].evidence == 1);
  // A corpus whose sentences first differ at position 2: the evidence moves there.
  const std::vector<JudgedPosition> k = judged_positions(parse_corpus("a x b c d\na y b c e\n", "test"));
  REQUIRE(k.size() == 2);
  CHECK(k[0].pos == 4);
  CHECK(k[0].evidence == 2);
}

TEST_CASE("verdict/judged: three competitors, against the independent reference") {
  const nlohmann::json ref = load_fixture("verdict_reference.json")["judged"]["three_nouns"];
  const std::vector<JudgedPosition> j = judged_positions(kThreeNouns);
  REQUIRE(j.size() == ref.size());
  for (size_t i = 0; i < j.size(); ++i) {
    CHECK(j[i].seq == ref[i]["seq"].get<int64_t>());
    CHECK(j[i].pos == ref[i]["pos"].get<int64_t>());
    CHECK(j[i].target == ref[i]["target"].get<int64_t>());
    CHECK(j[i].competitors == ref[i]["competitors"].get<std::vector<int64_t>>());
  }
}

TEST_CASE("verdict/loss levels: notebook and a three-noun corpus, by hand and by the reference") {
  // Notebook: 10 positions; only <ST> -> man/woman is open (ln 2, twice): floor 2 ln2 / 10. Undecided adds
  // ln 2 at each of the two `the` positions: 4 ln2 / 10.
  const LossLevels nb = loss_levels(notebook_corpus());
  CHECK(nb.floor == doctest::Approx(2 * std::log(2.0) / 10).epsilon(1e-12));
  CHECK(nb.undecided == doctest::Approx(4 * std::log(2.0) / 10).epsilon(1e-12));
  // Three nouns: 15 positions; <ST> -> man/woman/child (ln 3, three times); `the` -> 3 nouns (ln 3, three times).
  const LossLevels three = loss_levels(kThreeNouns);
  CHECK(three.floor == doctest::Approx(std::log(3.0) / 5).epsilon(1e-12));
  CHECK(three.undecided == doctest::Approx(2 * std::log(3.0) / 5).epsilon(1e-12));
  const nlohmann::json ref = load_fixture("verdict_reference.json")["loss_levels"];
  CHECK(nb.floor == doctest::Approx(ref["notebook"]["floor"].get<double>()).epsilon(1e-12));
  CHECK(three.undecided == doctest::Approx(ref["three_nouns"]["undecided"].get<double>()).epsilon(1e-12));
  // Nothing open, nothing judged: both levels 0.
  const LossLevels none = loss_levels(parse_corpus("a b\nc d\n", "plain"));
  CHECK(none.floor == doctest::Approx(std::log(2.0) * 2 / 6).epsilon(1e-12));  // <ST> -> a/c, twice in 6
  CHECK(none.undecided == none.floor);
  CHECK(loss_levels_text(notebook_corpus(), nb) == "floor 0.139 (all that the prefixes leave open); 'the' undecided 0.277");
}

TEST_CASE("verdict/share: crafted shares 0.54, 0.89 and 0.91 under both losses") {
  const ToyCorpus c = notebook_corpus();
  for (double want : {0.54, 0.89, 0.91}) {
    CAPTURE(want);
    // keras: share = sigmoid(z_t - z_r), so a logit gap of ln(want / (1 - want)).
    Outputs o = at_the(c, std::log(want / (1 - want)), 0.0);
    std::vector<PositionShare> k = decision_shares(c, LossKind::Keras, o.skipadd, o.activation);
    REQUIRE(k.size() == 2);
    CHECK(k[0].share == doctest::Approx(want).epsilon(1e-6));
    CHECK(c.vocab[static_cast<size_t>(k[0].rival)] == "beef");
    const Verdict v = judge(k, falling());
    CHECK(v.share == doctest::Approx(want).epsilon(1e-6));
    CHECK(v.outcome == (want >= 0.9 ? Outcome::Solved : Outcome::Unfinished));
    // normalized: share = a_t / (a_t + a_r) on the sigmoid outputs.
    const double a_r = 0.05, a_t = want * a_r / (1 - want);  // want = a_t / (a_t + a_r)
    Outputs p = at_the(c, std::log(a_t / (1 - a_t)), std::log(a_r / (1 - a_r)));
    std::vector<PositionShare> n = decision_shares(c, LossKind::Normalized, p.skipadd, p.activation);
    CHECK(n[1].share == doctest::Approx(want).epsilon(1e-6));
    CHECK(judge(n, falling()).solved() == (want >= 0.9));
  }
  // The threshold is a rule parameter.
  Outputs o = at_the(c, std::log(0.89 / 0.11), 0.0);
  CHECK(judge(decision_shares(c, LossKind::Keras, o.skipadd, o.activation), falling(), {.solved_share = 0.85})
            .solved());
}

TEST_CASE("verdict/share: the argmax says yes, the share says undecided (the old verdict's mistake)") {
  // The default seed's final numbers: the -> chkn 0.964, beef 0.958 are both "high", and chkn is the argmax.
  const ToyCorpus c = notebook_corpus();
  auto logit = [](double p) { return std::log(p / (1 - p)); };
  Outputs o = at_the(c, logit(0.964), logit(0.958));
  const Verdict v = judge(decision_shares(c, LossKind::Keras, o.skipadd, o.activation), falling());
  CHECK(v.share == doctest::Approx(1 / (1 + std::exp(logit(0.958) - logit(0.964)))).epsilon(1e-6));
  CHECK(v.share < 0.6);
  CHECK_FALSE(v.solved());
  CHECK(v.positions_text(c).find("the -> chkn after man: 0.964 vs beef 0.958 (share 0.54)") != std::string::npos);
  CHECK(v.line(c).rfind("verdict: UNFINISHED \u2014 the -> chkn after man", 0) == 0);
}

TEST_CASE("verdict/share: the fixtures' final activations agree with the independent reference") {
  const nlohmann::json ref = load_fixture("verdict_reference.json")["fixtures"];
  const ToyCorpus c = notebook_corpus();
  REQUIRE(ref.size() >= 5);
  for (const auto& item : ref.items()) {
    const std::string name = item.key();  // not a structured binding: clang 14 cannot capture one
    const nlohmann::json& per_loss = item.value();
    CAPTURE(name);
    const nlohmann::json fx = load_fixture(name)["final_activations"];
    const Tensor z = tensor_from_json(fx["skipadd"]), a = tensor_from_json(fx["activation"]);
    for (const auto& loss_want : per_loss.items()) {
      const std::string loss = loss_want.key();
      const nlohmann::json& want = loss_want.value();
      CAPTURE(loss);
      std::vector<PositionShare> got = decision_shares(c, parse_loss(loss), z, a);
      REQUIRE(got.size() == want.size());
      for (size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].rival == want[i]["rival"].get<int64_t>());
        // The fixture's doubles pass through float32 here: agreement to float precision of the logits.
        CHECK(got[i].share == doctest::Approx(want[i]["share"].get<double>()).epsilon(1e-5));
      }
    }
  }
}

TEST_CASE("verdict/share: three competitors, the strongest one is the rival") {
  const ToyCorpus& c = kThreeNouns;
  const int64_t T = c.seq_len(), V = c.vocab_size();
  std::vector<float> z(static_cast<size_t>(c.size() * T * V), 0.0f), a(z.size(), 0.5f);
  // Sequence 0 at `the`: chicken 2, beef 1, fish 3 -> rival fish, share = sigmoid(2 - 3).
  const size_t row = static_cast<size_t>(3 * V);
  auto id = [&](const char* w) { return static_cast<size_t>(std::find(c.vocab.begin(), c.vocab.end(), w) - c.vocab.begin()); };
  z[row + id("chicken")] = 2;
  z[row + id("beef")] = 1;
  z[row + id("fish")] = 3;
  std::vector<PositionShare> s =
      decision_shares(c, LossKind::Keras, Tensor::from(Shape{3, T, V}, z), Tensor::from(Shape{3, T, V}, a));
  REQUIRE(s.size() == 3);
  CHECK(static_cast<size_t>(s[0].rival) == id("fish"));
  CHECK(s[0].share == doctest::Approx(1 / (1 + std::exp(1.0))).epsilon(1e-9));
  // The run's share is the minimum over judged positions (the others are 0.5: all logits equal).
  CHECK(judge(s, falling()).share == doctest::Approx(1 / (1 + std::exp(1.0))).epsilon(1e-9));
}

TEST_CASE("verdict/none: a corpus without judged positions has nothing to judge") {
  const ToyCorpus c = parse_corpus("a b\nc d\n", "plain");
  CHECK(judged_positions(c).empty());
  const Tensor z = Tensor::zeros(Shape{2, 3, c.vocab_size()});
  const Verdict v = judge(decision_shares(c, LossKind::Keras, z, z), falling());
  CHECK(v.outcome == Outcome::None);
  CHECK(std::isnan(v.share));
  CHECK(v.because.find("nothing to tell apart") != std::string::npos);
}

TEST_CASE("verdict/rules: stuck and unfinished on crafted loss and lr histories") {
  const VerdictRules rules;  // 0.9, last 10%, 1e-3
  TrainingTrace t = falling();
  std::string why;
  CHECK(classify(0.95, true, t, rules, &why) == Outcome::Solved);
  CHECK(classify(0.6, true, t, rules, &why) == Outcome::Unfinished);
  CHECK(why.find("more epochs would likely help") != std::string::npos);
  // The plateau rule drove the lr to min_lr: stuck, however the loss moves.
  t.final_lr = static_cast<float>(1e-4);
  CHECK(classify(0.6, true, t, rules, &why) == Outcome::Stuck);
  CHECK(why.find("min_lr") != std::string::npos);
  // ... but not without the plateau rule (an lr the user chose).
  t.plateau = false;
  CHECK(classify(0.6, true, t, rules) == Outcome::Unfinished);
  // A flat loss: stuck. 100 epochs: the window is the last 10, from loss[89] to loss[99].
  TrainingTrace flat = falling();
  for (size_t i = 89; i < 100; ++i) flat.loss[i] = 0.3f;
  CHECK(classify(0.6, true, flat, rules, &why) == Outcome::Stuck);
  CHECK(why.find("fell by 0 over the last 10 epochs") != std::string::npos);
  // Just over and just under 1e-3 over the window.
  flat.loss[99] = 0.3f - 0.0011f;
  CHECK(classify(0.6, true, flat, rules) == Outcome::Unfinished);
  flat.loss[99] = 0.3f - 0.0009f;
  CHECK(classify(0.6, true, flat, rules) == Outcome::Stuck);
  // A rising loss is not improving.
  flat.loss[99] = 0.35f;
  CHECK(classify(0.6, true, flat, rules) == Outcome::Stuck);
  // Too short to tell: unfinished.
  TrainingTrace one;
  one.loss = {0.5f};
  one.final_lr = 0.01f;
  CHECK(classify(0.6, true, one, rules) == Outcome::Unfinished);
  // A NaN share is never solved.
  CHECK(classify(std::nan(""), true, falling(), rules) != Outcome::Solved);
}

TEST_CASE("verdict/json: round trip through run.json's form") {
  const ToyCorpus c = notebook_corpus();
  Outputs o = at_the(c, 1.0, 0.2);
  const Verdict v = judge(decision_shares(c, LossKind::Keras, o.skipadd, o.activation), falling());
  const Verdict w = verdict_from_json(nlohmann::json::parse(v.json(c).dump()), c);
  CHECK(w.outcome == v.outcome);
  CHECK(w.share == v.share);
  CHECK(w.because == v.because);
  CHECK(w.positions_text(c) == v.positions_text(c));
  CHECK(outcome_name(parse_outcome("stuck")) == std::string("stuck"));
  CHECK_THROWS_WITH(parse_outcome("solvd"), doctest::Contains("unknown 'solvd'"));
}

TEST_CASE("early stop: Keras' EarlyStopping rule (wait first, improvement = loss + min_delta < best)") {
  EarlyStopping e({.patience = 2, .min_delta = 0});
  // epoch: loss -> wait after the epoch
  CHECK_FALSE(e.on_epoch_end(0, 1.0));   // improvement: wait 0
  CHECK_FALSE(e.on_epoch_end(1, 0.9));   // improvement: wait 0
  CHECK_FALSE(e.on_epoch_end(2, 0.95));  // wait 1
  CHECK(e.on_epoch_end(3, 0.91));        // wait 2 >= patience: stop after epoch 3
  // min_delta: 0.9 -> 0.8999 is no improvement with min_delta 1e-3.
  EarlyStopping d({.patience = 1, .min_delta = 1e-3});
  CHECK_FALSE(d.on_epoch_end(0, 0.9));
  CHECK(d.on_epoch_end(1, 0.8999));
  // patience 0 (Keras 2.10): stops after the second epoch even while improving.
  EarlyStopping z({.patience = 0});
  CHECK_FALSE(z.on_epoch_end(0, 1.0));
  CHECK(z.on_epoch_end(1, 0.5));
  // Replaying a history gives the same state.
  EarlyStopping r({.patience = 2});
  CHECK(r.replay({1.0f, 0.9f, 0.95f, 0.91f}));
}

TEST_CASE("early stop: training stops, and a stacked model that stops ends as it does alone") {
  const ToyCorpus c = notebook_corpus();
  TrainOptions o;
  o.epochs = 3000;
  o.early_stop = 20;
  o.early_stop_min_delta = 1e-3;
  ToyConfig cfg;
  std::vector<uint64_t> seeds{1, 2, 3};
  ToyModel stack(c, cfg, 2, seeds);
  std::vector<TrainResult> rs = train_models(stack, c, o);
  bool some_stopped = false;
  for (size_t i = 0; i < seeds.size(); ++i) {
    CAPTURE(seeds[i]);
    ToyConfig one = cfg;
    one.seed = seeds[i];
    ToyModel single(c, one, 2);
    TrainResult r = train(single, c, o);
    some_stopped = some_stopped || r.stopped_early;
    CHECK(rs[i].stopped_early == r.stopped_early);
    CHECK(rs[i].loss == r.loss);
    CHECK(rs[i].lr == r.lr);
    CHECK(rs[i].final_lr == r.final_lr);
    if (r.stopped_early) CHECK(static_cast<int64_t>(r.loss.size()) < o.epochs);
    for (const auto& name : toy_weight_names())
      CHECK(stack.weight_of(name, static_cast<int64_t>(i)).to_vector() == single.weight(name).value().to_vector());
    CHECK(stack.activation_of("activation", static_cast<int64_t>(i)).to_vector() ==
          single.model().output("activation").value().to_vector());
  }
  CHECK(some_stopped);
}

TEST_CASE("early stop: a resumed run stops where the uninterrupted one does") {
  const ToyCorpus c = notebook_corpus();
  TrainOptions o;
  o.epochs = 3000;
  o.early_stop = 20;
  o.early_stop_min_delta = 1e-3;
  ToyConfig cfg;
  ToyModel whole(c, cfg, 2);
  const TrainResult full = train(whole, c, o);
  REQUIRE(full.stopped_early);
  // Checkpoint at every 100 epochs; resume from the last one before the stop.
  TrainCheckpoint last;
  TrainOptions first = o;
  first.checkpoint_every = 100;
  const int64_t cut = (static_cast<int64_t>(full.loss.size()) / 100) * 100;
  REQUIRE(cut > 0);
  first.on_checkpoint = [&](const TrainCheckpoint& ck) {
    if (ck.epoch == cut) last = ck;
  };
  ToyModel a(c, cfg, 2);
  (void)train(a, c, first);
  REQUIRE(last.epoch == cut);
  TrainOptions second = o;
  second.resume = &last;
  ToyModel b(c, cfg, 2);
  const TrainResult resumed = train(b, c, second);
  CHECK(resumed.stopped_early);
  CHECK(resumed.loss == full.loss);
  for (const auto& name : toy_weight_names())
    CHECK(b.weight(name).value().to_vector() == whole.weight(name).value().to_vector());
}
