// The verdict: judged positions from the corpus' prefix maps, decision shares, outcomes, loss levels.
#include "apps/lib/training/verdict.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"

namespace toy {
namespace {

using Prefix = std::vector<int64_t>;

// Counts of the next token after each prefix and after each token, over all N*T positions.
struct NextCounts {
  std::map<Prefix, std::map<int64_t, int64_t>> by_prefix;
  std::map<int64_t, std::map<int64_t, int64_t>> by_token;
};

Prefix prefix_of(const ToyCorpus& c, int64_t s, int64_t t) {
  const auto& seq = c.seqs[static_cast<size_t>(s)];
  return Prefix(seq.begin(), seq.begin() + t + 1);
}

int64_t token_at(const ToyCorpus& c, int64_t s, int64_t t) {
  return c.seqs[static_cast<size_t>(s)][static_cast<size_t>(t)];
}

NextCounts next_counts(const ToyCorpus& c) {
  NextCounts n;
  for (int64_t s = 0; s < c.size(); ++s)
    for (int64_t t = 0; t < c.seq_len(); ++t) {
      ++n.by_prefix[prefix_of(c, s, t)][c.target(s, t)];
      ++n.by_token[token_at(c, s, t)][c.target(s, t)];
    }
  return n;
}

// Entropy (nats) of the empirical distribution given by counts.
double entropy(const std::map<int64_t, int64_t>& counts) {
  double total = 0, h = 0;
  for (const auto& [tok, k] : counts) total += static_cast<double>(k);
  for (const auto& [tok, k] : counts) {
    const double p = static_cast<double>(k) / total;
    h -= p * std::log(p);
  }
  return h;
}

}  // namespace

std::vector<JudgedPosition> judged_positions(const ToyCorpus& c) {
  const NextCounts n = next_counts(c);
  const int64_t N = c.size(), T = c.seq_len();
  std::vector<JudgedPosition> out;
  for (int64_t s = 0; s < N; ++s)
    for (int64_t t = 0; t < T; ++t) {
      const int64_t tok = token_at(c, s, t), want = c.target(s, t);
      if (n.by_prefix.at(prefix_of(c, s, t)).size() != 1) continue;  // the prefix does not fix the next token
      const auto& after_tok = n.by_token.at(tok);
      if (after_tok.size() <= 1) continue;                              // the token alone fixes it
      JudgedPosition j{s, t, tok, want, -1, {}};
      for (const auto& [next, k] : after_tok)
        if (next != want) j.competitors.push_back(next);
      for (int64_t o = 0; o < N; ++o) {
        if (token_at(c, o, t) != tok || c.target(o, t) == want) continue;
        for (int64_t p = 0; p < t; ++p)
          if (token_at(c, o, p) != token_at(c, s, p)) {
            if (j.evidence < 0 || p < j.evidence) j.evidence = p;
            break;
          }
      }
      if (j.evidence < 0) j.evidence = std::min<int64_t>(1, t);
      out.push_back(std::move(j));
    }
  return out;
}

LossLevels loss_levels(const ToyCorpus& c) {
  const NextCounts n = next_counts(c);
  const double positions = static_cast<double>(c.size() * c.seq_len());
  double floor = 0;
  for (int64_t s = 0; s < c.size(); ++s)
    for (int64_t t = 0; t < c.seq_len(); ++t) floor += entropy(n.by_prefix.at(prefix_of(c, s, t)));
  double undecided = floor;
  // A judged position's prefix fixes its next token (entropy 0): undecided, it costs the token's entropy instead.
  for (const JudgedPosition& j : judged_positions(c)) undecided += entropy(n.by_token.at(j.token));
  return {floor / positions, undecided / positions};
}

std::string judged_label(const ToyCorpus& c, const JudgedPosition& j) {
  const auto word = [&](int64_t id) { return c.vocab[static_cast<size_t>(id)]; };
  return fmt::format("{} -> {} after {}", word(j.token), word(j.target),
                     word(c.seqs[static_cast<size_t>(j.seq)][static_cast<size_t>(j.evidence)]));
}

std::string judged_words(const ToyCorpus& c) {
  std::vector<std::string> words;
  for (const JudgedPosition& j : judged_positions(c)) {
    const std::string w = "'" + c.vocab[static_cast<size_t>(j.token)] + "'";
    if (std::find(words.begin(), words.end(), w) == words.end()) words.push_back(w);
  }
  std::string joined;
  for (const auto& w : words) joined += (joined.empty() ? "" : ", ") + w;
  return joined;
}

std::string loss_levels_text(const ToyCorpus& c, const LossLevels& l) {
  std::string s = fmt::format("floor {:.3f} (all that the prefixes leave open)", l.floor);
  if (const std::string words = judged_words(c); !words.empty())
    s += fmt::format("; {} undecided {:.3f}", words, l.undecided);
  return s;
}

std::vector<PositionShare> decision_shares(const ToyCorpus& c, LossKind loss, const Tensor& skipadd,
                                           const Tensor& activation) {
  const int64_t N = c.size(), T = c.seq_len(), V = c.vocab_size();
  TOY_CHECK(skipadd.shape() == (Shape{N, T, V}) && activation.shape() == (Shape{N, T, V}),
            "verdict: skipadd ({}) and activation ({}) must both be ({})", skipadd.shape().str(),
            activation.shape().str(), Shape{N, T, V}.str());
  const std::vector<float> z = skipadd.to_vector(), a = activation.to_vector();
  // Keras' clip of the sigmoid outputs before the log (epsilon 1e-7), as --loss normalized trains on.
  auto clipped = [](float p) { return std::clamp(static_cast<double>(p), 1e-7, 1.0 - 1e-7); };
  std::vector<PositionShare> out;
  for (const JudgedPosition& j : judged_positions(c)) {
    const size_t row = static_cast<size_t>((j.seq * T + j.pos) * V);
    PositionShare p{j};
    for (int64_t k : j.competitors)
      if (p.rival < 0 || z[row + static_cast<size_t>(k)] > z[row + static_cast<size_t>(p.rival)]) p.rival = k;
    const size_t it = row + static_cast<size_t>(j.target), ir = row + static_cast<size_t>(p.rival);
    p.a_target = a[it];
    p.a_rival = a[ir];
    if (loss == LossKind::Keras) {
      // softmax ratio: p_t / (p_t + p_r) = 1 / (1 + exp(z_r - z_t))
      p.share = 1.0 / (1.0 + std::exp(static_cast<double>(z[ir]) - static_cast<double>(z[it])));
    } else {
      const double pt = clipped(a[it]), pr = clipped(a[ir]);
      p.share = pt / (pt + pr);
    }
    out.push_back(std::move(p));
  }
  return out;
}

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::Solved: return "solved";
    case Outcome::Stuck: return "stuck";
    case Outcome::Unfinished: return "unfinished";
    case Outcome::None: return "none";
  }
  return "none";
}

Outcome parse_outcome(const std::string& s) {
  for (Outcome o : {Outcome::Solved, Outcome::Stuck, Outcome::Unfinished, Outcome::None})
    if (s == outcome_name(o)) return o;
  fail("outcome: unknown '{}' (expected solved, stuck, unfinished or none)", s);
}

Outcome classify(double share, bool has_judged, const TrainingTrace& tr, const VerdictRules& rules,
                 std::string* because) {
  auto say = [&](std::string s) {
    if (because) *because = std::move(s);
  };
  if (!has_judged) {
    say("no position's next token depends on earlier context: nothing to tell apart");
    return Outcome::None;
  }
  if (share >= rules.solved_share) {
    say(fmt::format("the smallest share, {:.2f}, is at least {:.2f}: the model tells the targets apart at every "
                    "judged position",
                    share, rules.solved_share));
    return Outcome::Solved;
  }
  const std::string low = std::isnan(share) ? std::string("share is not a number")
                                            : fmt::format("share {:.2f} < {:.2f}", share, rules.solved_share);
  const int64_t n = static_cast<int64_t>(tr.loss.size());
  if (tr.plateau && n > 0 && tr.final_lr <= static_cast<float>(tr.min_lr)) {
    say(fmt::format("{}, and training has stopped moving: the plateau rule drove the learning rate down to min_lr "
                    "{:.4g}",
                    low, tr.min_lr));
    return Outcome::Stuck;
  }
  if (n >= 2) {
    const int64_t window = std::clamp<int64_t>(
        static_cast<int64_t>(std::ceil(rules.stall_fraction * static_cast<double>(n))), 1, n - 1);
    const double fell = static_cast<double>(tr.loss[static_cast<size_t>(n - 1 - window)]) -
                        static_cast<double>(tr.loss[static_cast<size_t>(n - 1)]);
    if (!(fell >= rules.stall_delta)) {
      say(fmt::format("{}, and training has stopped moving: the loss fell by {:.2g} over the last {} epochs (less than "
                      "{:.2g})",
                      low, fell, window, rules.stall_delta));
      return Outcome::Stuck;
    }
    say(fmt::format("{}, but the loss is still falling ({:.2g} over the last {} epochs): more epochs would likely help "
                    "(--epochs, or --early-stop to train until it stops improving)",
                    low, fell, window));
    return Outcome::Unfinished;
  }
  say(fmt::format("{} after {} epoch{}: more epochs would likely help", low, n, n == 1 ? "" : "s"));
  return Outcome::Unfinished;
}

Verdict judge(const std::vector<PositionShare>& shares, const TrainingTrace& trace,
              const VerdictRules& rules) {
  Verdict v;
  v.positions = shares;
  // The minimum over judged positions; NaN when there are none, or when any share is NaN.
  v.share = shares.empty() ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  for (const PositionShare& p : shares) v.share = std::isnan(p.share) ? p.share : std::min(v.share, p.share);
  v.outcome = classify(v.share, !shares.empty(), trace, rules, &v.because);
  return v;
}

std::string Verdict::positions_text(const ToyCorpus& c) const {
  if (positions.empty()) return "no judged position (no next token depends on earlier context)";
  std::string s;
  for (const PositionShare& p : positions) {
    if (!s.empty()) s += "; ";
    s += fmt::format("{}: {:.3f} vs {} {:.3f} (share {:.2f})", judged_label(c, p.at), p.a_target,
                     c.vocab[static_cast<size_t>(p.rival)], p.a_rival, p.share);
  }
  return s;
}

std::string Verdict::line(const ToyCorpus& c) const {
  std::string name = outcome_name(outcome);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::toupper(ch); });
  return fmt::format("verdict: {} \u2014 {}\n  {}\n", name, positions_text(c), because);
}

nlohmann::json Verdict::json(const ToyCorpus& c) const {
  nlohmann::json pos = nlohmann::json::array();
  for (const PositionShare& p : positions)
    pos.push_back({{"seq", p.at.seq},
                   {"pos", p.at.pos},
                   {"token", c.vocab[static_cast<size_t>(p.at.token)]},
                   {"target", c.vocab[static_cast<size_t>(p.at.target)]},
                   {"rival", c.vocab[static_cast<size_t>(p.rival)]},
                   {"evidence_pos", p.at.evidence},
                   {"activation_target", p.a_target},
                   {"activation_rival", p.a_rival},
                   {"share", std::isnan(p.share) ? nlohmann::json(nullptr) : nlohmann::json(p.share)}});
  return {{"outcome", outcome_name(outcome)},
          {"share", std::isnan(share) ? nlohmann::json(nullptr) : nlohmann::json(share)},
          {"because", because},
          {"positions", pos}};
}

Verdict verdict_from_json(const nlohmann::json& j, const ToyCorpus& c) {
  Verdict v;
  v.outcome = parse_outcome(j.at("outcome").get<std::string>());
  v.share = j.at("share").is_null() ? std::numeric_limits<double>::quiet_NaN() : j.at("share").get<double>();
  v.because = j.at("because").get<std::string>();
  const std::vector<JudgedPosition> judged = judged_positions(c);
  auto id_of = [&](const std::string& w) {
    const auto it = std::find(c.vocab.begin(), c.vocab.end(), w);
    TOY_CHECK(it != c.vocab.end(), "verdict: '{}' is not in the corpus' vocabulary", w);
    return static_cast<int64_t>(it - c.vocab.begin());
  };
  for (const auto& p : j.at("positions")) {
    PositionShare ps;
    const int64_t seq = p.at("seq").get<int64_t>(), pos = p.at("pos").get<int64_t>();
    const auto it = std::find_if(judged.begin(), judged.end(),
                                 [&](const JudgedPosition& x) { return x.seq == seq && x.pos == pos; });
    TOY_CHECK(it != judged.end(), "verdict: position ({}, {}) is not a judged position of the corpus", seq, pos);
    ps.at = *it;
    ps.rival = id_of(p.at("rival").get<std::string>());
    ps.a_target = p.at("activation_target").get<float>();
    ps.a_rival = p.at("activation_rival").get<float>();
    ps.share = p.at("share").is_null() ? std::numeric_limits<double>::quiet_NaN() : p.at("share").get<double>();
    v.positions.push_back(std::move(ps));
  }
  return v;
}

float attention_to_evidence(const ToyCorpus& corpus, const Tensor& attn) {
  const int64_t N = corpus.size(), T = corpus.seq_len();
  TOY_CHECK(attn.shape() == (Shape{N, T, T}), "attention_to_evidence: AttnWts ({}) must be ({})", attn.shape().str(),
            Shape{N, T, T}.str());
  const std::vector<JudgedPosition> pairs = judged_positions(corpus);
  if (pairs.empty()) return std::numeric_limits<float>::quiet_NaN();
  std::vector<float> a = attn.to_vector();
  double sum = 0;
  for (const JudgedPosition& p : pairs) sum += a[static_cast<size_t>((p.seq * T + p.pos) * T + p.evidence)];
  return static_cast<float>(sum / static_cast<double>(pairs.size()));
}

std::vector<float> attention_to_evidence_per_head(const ToyCorpus& corpus, const Tensor& attn) {
  std::vector<float> out;
  for (int64_t h = 0; h < attention_heads(attn); ++h)
    out.push_back(attention_to_evidence(corpus, attention_head(attn, h)));
  return out;
}

Tensor attention_head(const Tensor& attn, int64_t head) {
  TOY_CHECK(head >= 0 && head < attention_heads(attn), "attention: head {} out of range [0, {})", head,
            attention_heads(attn));
  if (attn.shape().rank() == 3) return attn.to(Device::CPU);
  TOY_CHECK(attn.shape().rank() == 4, "attention: weights ({}) are neither [N, T, T] nor [N, heads, T, T]",
            attn.shape().str());
  const Tensor host = attn.to(Device::CPU);
  const int64_t N = host.shape()[0], NH = host.shape()[1], T = host.shape()[2], S = host.shape()[3];
  Tensor out = Tensor::empty(Shape{N, T, S});
  for (int64_t n = 0; n < N; ++n)
    std::copy(host.data() + (n * NH + head) * T * S, host.data() + (n * NH + head + 1) * T * S,
              out.data() + n * T * S);
  return out;
}

}  // namespace toy
