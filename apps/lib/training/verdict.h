// The verdict on a trained toy model — "does it tell chicken from beef?" — measured on the distribution the model
// was trained to produce, with three outcomes (solved / stuck / unfinished), and the corpus' loss levels (the floor,
// and the level where every judged position is a coin flip) that make a final loss readable.
#pragma once
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "layers/toy_model.h"

namespace toy {

// A judged position: its next token is fixed by the prefix but not by the current token alone (the notebook: `the`
// at position 3, followed by chkn after man and by beef after woman). `competitors` are the other tokens that follow
// the same token somewhere in the corpus (chkn's competitor is beef); `evidence` is the position the model must
// look at: the first position where this sentence differs from another sentence that has the same token at `pos`
// but another target (the notebook: 1, man / woman; 1 when there is no such sentence).
struct JudgedPosition {
  int64_t seq = 0, pos = 0, token = 0, target = 0, evidence = 0;
  std::vector<int64_t> competitors;
};
// Every judged position of the corpus, sequence-major. Empty when no next token depends on earlier context.
std::vector<JudgedPosition> judged_positions(const ToyCorpus& corpus);
// "the -> chkn after man": the judged token, its target and the evidence token.
std::string judged_label(const ToyCorpus& corpus, const JudgedPosition& j);
// The distinct judged tokens, quoted and comma-separated ("'the'"); "" when there are none.
std::string judged_words(const ToyCorpus& corpus);

// Loss levels of the corpus under the mean next-token cross-entropy over all N*T positions:
//   floor:     the mean entropy of the next token given the whole prefix (what a perfect model reaches; the
//              notebook: <ST> -> man/woman is a coin flip at 2 of 10 positions, 2*ln2/10 = 0.139);
//   undecided: the floor plus, at every judged position, the entropy of the next token given the current token
//              alone (a model that predicts `the` -> chkn/beef as a coin flip: 4*ln2/10 = 0.277).
struct LossLevels {
  double floor = 0, undecided = 0;
};
LossLevels loss_levels(const ToyCorpus& corpus);
// "floor 0.139 (all that the prefixes leave open); 'the' undecided 0.277" (the judged tokens, quoted).
std::string loss_levels_text(const ToyCorpus& corpus, const LossLevels& l);

// The model's decision at one judged position, on the distribution it was trained to produce: softmax over the
// pre-sigmoid logits (skipadd) under --loss keras, the clipped-normalized sigmoid under --loss normalized.
//   share = p(target) / (p(target) + max over competitors p(competitor))
// (the normalizer cancels: under keras, share = sigmoid(z_target - z_rival)). `a_*` are the sigmoid outputs the
// prediction table shows.
struct PositionShare {
  JudgedPosition at;
  int64_t rival = -1;  // the strongest competitor
  float a_target = 0, a_rival = 0;
  double share = 0;
};
// skipadd and activation: [N, T, V] (any device).
std::vector<PositionShare> decision_shares(const ToyCorpus& corpus, LossKind loss, const Tensor& skipadd,
                                           const Tensor& activation);

enum class Outcome { Solved, Stuck, Unfinished, None };
const char* outcome_name(Outcome o);  // "solved" | "stuck" | "unfinished" | "none"
Outcome parse_outcome(const std::string& s);

// The rules, as README and --help state them.
//   solved:     share >= solved_share at every judged position (0.9: a logit gap of at least ln 9)
//   stuck:      not solved, and training has stopped moving: the plateau rule has driven the learning rate to
//               min_lr, or the loss fell by less than stall_delta over the last stall_fraction of the epochs
//   unfinished: not solved and still improving: more epochs would likely help
//   none:       the corpus has no judged position (nothing to tell apart)
struct VerdictRules {
  double solved_share = 0.9;
  double stall_fraction = 0.1;
  double stall_delta = 1e-3;
};

// How training went, for the stuck / unfinished rule.
struct TrainingTrace {
  std::vector<float> loss;  // per epoch
  float final_lr = 0;
  bool plateau = true;      // the plateau rule was active
  double min_lr = 1e-4;
};

struct Verdict {
  Outcome outcome = Outcome::None;
  double share = std::numeric_limits<double>::quiet_NaN();  // the minimum over judged positions
  std::vector<PositionShare> positions;
  std::string because;  // why this outcome, in words ("share 0.52 < 0.90; the learning rate reached min_lr ...")
  bool solved() const { return outcome == Outcome::Solved; }
  // "the -> chkn after man: 0.964 vs beef 0.958 (share 0.54); the -> beef after woman: ..."
  std::string positions_text(const ToyCorpus& corpus) const;
  // The line `train` prints: "verdict: STUCK — <positions_text>\n  <because>".
  std::string line(const ToyCorpus& corpus) const;
  nlohmann::json json(const ToyCorpus& corpus) const;
};

// Back from Verdict::json (run.json's metrics.verdict); errors name the field.
Verdict verdict_from_json(const nlohmann::json& j, const ToyCorpus& corpus);

Verdict judge(const std::vector<PositionShare>& shares, const TrainingTrace& trace,
              const VerdictRules& rules = {});
// The outcome rule alone (tests, and re-judging a stored run with another threshold).
Outcome classify(double share, bool has_judged, const TrainingTrace& trace, const VerdictRules& rules,
                 std::string* because = nullptr);

// Mean of AttnWts[s, pos, evidence] over the judged positions (judged_positions above), NaN when there are
// none. The notebook: AttnWts[s, 3 ('the'), 1 ('man'/'woman')] over both sentences. attn: [N, T, T].
float attention_to_evidence(const ToyCorpus& corpus, const Tensor& attn);
// attention_to_evidence of each head of an attention layer: [N, T, T] -> one value, [N, heads, T, T] -> one per head.
std::vector<float> attention_to_evidence_per_head(const ToyCorpus& corpus, const Tensor& attn);

// One head of a variant's attention weights: attn [N, heads, T, T] -> [N, T, T] (a host copy); [N, T, T] (the
// notebook's one head) is returned as is for head 0.
Tensor attention_head(const Tensor& attn, int64_t head);
// The heads of an attention layer's weights: 1 for [N, T, T], heads for [N, heads, T, T].
inline int64_t attention_heads(const Tensor& attn) { return attn.shape().rank() == 4 ? attn.shape()[1] : 1; }

}  // namespace toy
