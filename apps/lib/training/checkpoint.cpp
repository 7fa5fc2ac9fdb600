// Checkpoint <-> npz, and the checks that make a resume refuse an incomplete or inconsistent checkpoint.
#include "apps/lib/training/checkpoint.h"

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include <fmt/ranges.h>

#include "core/error.h"
#include "core/npz.h"
#include "layers/toy_model.h"

namespace toy {

namespace {
constexpr int64_t kVersion = 2;

template <class T>
Tensor vec(const std::vector<T>& v) {
  std::vector<float> f(v.begin(), v.end());
  return Tensor::from(Shape{static_cast<int64_t>(f.size())}, f);
}

NpzInt64 ivec(std::vector<int64_t> v) { return NpzInt64{{static_cast<int64_t>(v.size())}, std::move(v)}; }

// The optimizers' slot layouts (optim/optimizer.cpp): SGD without and with momentum, RMSprop without and with
// momentum, Adam. Every parameter has the same slots.
const std::vector<std::set<std::string>>& slot_layouts() {
  static const std::vector<std::set<std::string>> k{{}, {"momentum"}, {"rms"}, {"momentum", "rms"}, {"m", "v"}};
  return k;
}

// The arrays of one checkpoint file, each taken at most once; whatever is left over at the end is refused.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {
    NpzInt64Arrays ints;
    for (auto& [k, t] : load_npz(path_, &ints)) floats_.emplace(k, std::move(t));
    for (auto& [k, a] : ints) ints_.emplace(k, std::move(a));
  }

  template <class... Args>
  [[noreturn]] void bad(fmt::format_string<Args...> f, Args&&... args) const {
    fail("checkpoint {}: {}", path_, fmt::format(f, std::forward<Args>(args)...));
  }

  bool has(const std::string& k) const { return floats_.count(k) || ints_.count(k); }
  bool is_float(const std::string& k) const { return floats_.count(k) > 0; }

  // A float32 array (version 1 stored every array as float32; version 2 stores the counters as int64).
  Tensor floats(const std::string& k) {
    auto it = floats_.find(k);
    if (it == floats_.end()) {
      if (ints_.count(k)) bad("'{}' is int64, expected float32", k);
      missing(k);
    }
    Tensor t = std::move(it->second);
    floats_.erase(it);
    return t;
  }

  // Whole numbers: int64 in version 2; float32 holding whole numbers in version 1.
  std::vector<int64_t> ints(const std::string& k, bool v1, std::vector<int64_t>* dims = nullptr) {
    if (v1) {
      Tensor t = floats(k);
      std::vector<int64_t> out;
      for (int64_t i = 0; i < t.numel(); ++i) {
        const float x = t[i];
        if (!(std::isfinite(x) && x == std::floor(x) && std::fabs(x) <= 9.0e15f))
          bad("'{}'[{}] = {} is not a whole number", k, i, x);
        out.push_back(static_cast<int64_t>(x));
      }
      if (dims) *dims = t.shape().dims();
      return out;
    }
    auto it = ints_.find(k);
    if (it == ints_.end()) {
      if (floats_.count(k)) bad("'{}' is float32, expected int64", k);
      missing(k);
    }
    NpzInt64 a = std::move(it->second);
    ints_.erase(it);
    if (dims) *dims = a.dims;
    return std::move(a.values);
  }

  int64_t one_int(const std::string& k, bool v1) {
    std::vector<int64_t> v = ints(k, v1);
    if (v.size() != 1) bad("'{}' holds {} values, expected 1", k, v.size());
    return v[0];
  }

  std::vector<std::string> float_names_with(const std::string& prefix) const {
    std::vector<std::string> out;
    for (const auto& [k, t] : floats_)
      if (k.rfind(prefix, 0) == 0) out.push_back(k);
    return out;
  }

  // Anything not taken is an array this format does not have.
  void refuse_leftovers(int64_t version) const {
    std::vector<std::string> left;
    for (const auto& [k, t] : floats_) left.push_back(k);
    for (const auto& [k, a] : ints_) left.push_back(k);
    if (!left.empty())
      bad("unexpected array{} '{}' (not part of a version-{} checkpoint of {} model{})", left.size() == 1 ? "" : "s",
          fmt::join(left, "', '"), version, models_, models_ == 1 ? "" : "s");
  }

  [[noreturn]] void missing(const std::string& k) const {
    bad("missing '{}' (not a toyformer checkpoint, or an incomplete one)", k);
  }

  void set_models(int64_t m) { models_ = m; }

 private:
  std::string path_;
  std::map<std::string, Tensor> floats_;
  std::map<std::string, NpzInt64> ints_;
  int64_t models_ = 0;
};

// Every value finite ("weights/Qmat[3] = nan").
void check_finite(Reader& r, const std::string& name, const Tensor& t) {
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(t[i])) r.bad("'{}'[{}] = {} is not finite", name, i, t[i]);
}

void check_vector(Reader& r, const std::string& name, const Tensor& t) {
  if (t.rank() != 1) r.bad("'{}' has shape ({}), expected a vector", name, t.shape().str());
}

// std::mt19937_64's state: 312 words and the position in them (its text form, as Rng::state() writes it, is these
// 313 numbers separated by spaces).
constexpr size_t kRngWords = 312;

// Version 2: the 313 numbers as int64 (the words' bits).
NpzInt64 rng_to_ints(const std::string& state, size_t m) {
  std::istringstream is(state);
  std::vector<int64_t> v;
  uint64_t x = 0;
  while (is >> x) v.push_back(static_cast<int64_t>(x));
  TOY_CHECK(is.eof() && v.size() == kRngWords + 1, "save_checkpoint: the RNG state of model {} is not 313 numbers", m);
  return NpzInt64{{static_cast<int64_t>(v.size())}, std::move(v)};
}

std::string check_engine(Reader& r, const std::string& name, const std::string& s) {
  std::istringstream is(s);
  std::mt19937_64 engine;
  is >> engine;
  if (is.fail()) r.bad("'{}' is not a valid RNG state (std::mt19937_64's 313 numbers)", name);
  is >> std::ws;
  if (!is.eof()) r.bad("'{}' is not a valid RNG state: text follows the 313 numbers", name);
  return s;
}

std::string rng_from_ints(Reader& r, const std::string& name, const std::vector<int64_t>& v,
                          const std::vector<int64_t>& dims) {
  if (dims.size() != 1 || v.size() != kRngWords + 1)
    r.bad("'{}' holds {} values, expected the 313 of a std::mt19937_64 state", name, v.size());
  if (v.back() < 0 || v.back() > static_cast<int64_t>(kRngWords))
    r.bad("'{}'[312] = {} is not a position in the state (0..312)", name, v.back());
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += fmt::format("{}{}", i ? " " : "", static_cast<uint64_t>(v[i]));
  return check_engine(r, name, s);
}

// Version 1: the character codes of the text form.
std::string read_rng(Reader& r, const std::string& name, const Tensor& t) {
  check_vector(r, name, t);
  std::string s;
  for (int64_t i = 0; i < t.numel(); ++i) {
    const float c = t[i];
    if (!(c == std::floor(c) && ((c >= '0' && c <= '9') || c == ' ')))
      r.bad("'{}'[{}] = {} is not a character of an RNG state (digits and spaces)", name, i, c);
    s.push_back(static_cast<char>(c));
  }
  return check_engine(r, name, s);
}

}  // namespace

void save_checkpoint(const std::string& path, const TrainCheckpoint& ck) {
  NpzArrays a;
  NpzInt64Arrays n;
  n.push_back({"checkpoint/version", ivec({kVersion})});
  n.push_back({"epoch", ivec({ck.epoch})});
  for (const auto& [k, t] : ck.weights) a.push_back({"weights/" + k, t});
  for (const auto& [k, t] : ck.optimizer) {
    if (k == "step")  // a float32 scalar on the device, exact up to 2^24 (train.cpp refuses longer runs)
      n.push_back({"optimizer/step", NpzInt64{{}, {static_cast<int64_t>(t.to(Device::CPU).item())}}});
    else
      a.push_back({"optimizer/" + k, t});
  }
  std::vector<float> best;
  std::vector<int64_t> wait, cool;
  for (const auto& p : ck.plateau) {
    best.push_back(static_cast<float>(p.best));  // a float32 loss (or +inf): exact in float
    wait.push_back(p.wait);
    cool.push_back(p.cooldown_counter);
  }
  a.push_back({"plateau/best", vec(best)});
  n.push_back({"plateau/wait", ivec(wait)});
  n.push_back({"plateau/cooldown", ivec(cool)});
  for (size_t m = 0; m < ck.rng.size(); ++m) n.push_back({"rng/" + std::to_string(m), rng_to_ints(ck.rng[m], m)});
  for (size_t m = 0; m < ck.loss.size(); ++m) {
    a.push_back({"history/loss/" + std::to_string(m), vec(ck.loss[m])});
    a.push_back({"history/lr/" + std::to_string(m), vec(ck.lr[m])});
    n.push_back({"history/reductions/" + std::to_string(m), ivec(ck.reductions[m])});
  }
  save_npz(path, a, n);
}

TrainCheckpoint load_checkpoint(const std::string& path, const std::vector<std::string>& weight_names) {
  Reader r(path);
  // The version: int64 from version 2 on, float32 1.0 in version 1.
  int64_t version = 0;
  if (!r.has("checkpoint/version")) r.missing("checkpoint/version");
  {
    const bool as_float = r.is_float("checkpoint/version");
    const std::vector<int64_t> v = r.ints("checkpoint/version", as_float);
    if (v.size() != 1 || (as_float ? v[0] != 1 : v[0] != kVersion))
      r.bad("unsupported version {} ({}; this toyformer reads version 1, float32, and version {}, int64)",
            v.size() == 1 ? std::to_string(v[0]) : fmt::format("({})", fmt::join(v, ", ")),
            as_float ? "float32" : "int64", kVersion);
    version = v[0];
  }
  const bool v1 = version == 1;

  TrainCheckpoint ck;
  ck.epoch = r.one_int("epoch", v1);
  if (ck.epoch < 0 || ck.epoch > kMaxSteps) r.bad("'epoch' = {} is out of range [0, 2^24]", ck.epoch);

  // Models: rng/0 .. rng/{M-1}; each has its history.
  int64_t M = 0;
  while (r.has("rng/" + std::to_string(M))) ++M;
  if (M == 0) r.missing("rng/0");
  r.set_models(M);
  for (int64_t m = 0; m < M; ++m) {
    const std::string sm = std::to_string(m);
    if (v1) {
      ck.rng.push_back(read_rng(r, "rng/" + sm, r.floats("rng/" + sm)));
    } else {
      std::vector<int64_t> dims;
      const std::vector<int64_t> v = r.ints("rng/" + sm, false, &dims);
      ck.rng.push_back(rng_from_ints(r, "rng/" + sm, v, dims));
    }
    const std::string lk = "history/loss/" + sm, rk = "history/lr/" + sm, dk = "history/reductions/" + sm;
    Tensor loss = r.floats(lk), lr = r.floats(rk);
    check_vector(r, lk, loss);
    check_vector(r, rk, lr);
    if (loss.numel() != ck.epoch)
      r.bad("'{}' has {} epochs, the checkpoint says {} ('epoch')", lk, loss.numel(), ck.epoch);
    if (lr.numel() != loss.numel())
      r.bad("'{}' has {} values but '{}' has {}: one learning rate per epoch", rk, lr.numel(), lk, loss.numel());
    check_finite(r, lk, loss);
    for (int64_t e = 0; e < lr.numel(); ++e)
      if (!(std::isfinite(lr[e]) && lr[e] > 0)) r.bad("'{}'[{}] = {} is not a positive learning rate", rk, e, lr[e]);
    std::vector<int64_t> dims;
    std::vector<int64_t> red = r.ints(dk, v1, &dims);
    if (dims.size() != 1) r.bad("'{}' has {} axes, expected a vector", dk, dims.size());
    for (size_t k = 0; k < red.size(); ++k) {
      if (red[k] < 0 || red[k] >= ck.epoch)
        r.bad("'{}'[{}] = {} is not an epoch of the history (0..{})", dk, k, red[k], ck.epoch - 1);
      if (k > 0 && red[k] <= red[k - 1])
        r.bad("'{}'[{}] = {} does not follow {} (the reductions must increase)", dk, k, red[k], red[k - 1]);
    }
    ck.loss.push_back(loss.to_vector());
    ck.lr.push_back(lr.to_vector());
    ck.reductions.push_back(std::move(red));
  }

  // Plateau state: none (trained without the rule) or one per model.
  {
    Tensor best = r.floats("plateau/best");
    check_vector(r, "plateau/best", best);
    std::vector<int64_t> wd, cd;
    std::vector<int64_t> wait = r.ints("plateau/wait", v1, &wd), cool = r.ints("plateau/cooldown", v1, &cd);
    if (wd.size() != 1 || cd.size() != 1) r.bad("'plateau/wait' and 'plateau/cooldown' must be vectors");
    const int64_t P = best.numel();
    if (static_cast<int64_t>(wait.size()) != P || static_cast<int64_t>(cool.size()) != P)
      r.bad("inconsistent plateau state: 'plateau/best' has {} values, 'plateau/wait' {}, 'plateau/cooldown' {}", P,
            wait.size(), cool.size());
    if (P != 0 && P != M)
      r.bad("'plateau/best' has {} values for {} model{} (expected one per model, or none without the plateau rule)",
            P, M, M == 1 ? "" : "s");
    for (int64_t g = 0; g < P; ++g) {
      const float b = best[g];
      if (std::isnan(b) || b == -std::numeric_limits<float>::infinity())
        r.bad("'plateau/best'[{}] = {} is not a loss (finite, or inf before the first epoch)", g, b);
      if (wait[static_cast<size_t>(g)] < 0) r.bad("'plateau/wait'[{}] = {} is negative", g, wait[static_cast<size_t>(g)]);
      if (cool[static_cast<size_t>(g)] < 0)
        r.bad("'plateau/cooldown'[{}] = {} is negative", g, cool[static_cast<size_t>(g)]);
      ck.plateau.push_back(PlateauState{b, wait[static_cast<size_t>(g)], cool[static_cast<size_t>(g)]});
    }
    if (P == 0)
      for (int64_t m = 0; m < M; ++m)
        if (!ck.reductions[static_cast<size_t>(m)].empty())
          r.bad("'history/reductions/{}' holds {} reductions but there is no plateau state (the plateau rule makes "
                "them)", m, ck.reductions[static_cast<size_t>(m)].size());
  }

  // Weights: every one of the model's, finite.
  std::map<std::string, Shape> weight_shapes;
  for (const auto& name : weight_names) {
    const std::string k = "weights/" + name;
    Tensor t = r.floats(k);
    check_finite(r, k, t);
    weight_shapes.emplace(name, t.shape());
    ck.weights.push_back({name, std::move(t)});
  }

  // Optimizer: lr (one per model), step (an integer; the stack's updates so far), the slots of every weight.
  {
    Tensor lr = r.floats("optimizer/lr");
    if (lr.numel() != M) r.bad("'optimizer/lr' has {} values for {} model{}", lr.numel(), M, M == 1 ? "" : "s");
    for (int64_t g = 0; g < M; ++g)
      if (!(std::isfinite(lr[g]) && lr[g] > 0))
        r.bad("'optimizer/lr'[{}] = {} is not a positive learning rate", g, lr[g]);
    ck.optimizer.push_back({"lr", std::move(lr)});
    const int64_t step = r.one_int("optimizer/step", v1);
    if (step < 0 || step > kMaxSteps) r.bad("'optimizer/step' = {} is out of range [0, 2^24]", step);
    // Every epoch runs the same number of steps (at least one), so the step count is a multiple of the epochs.
    if (ck.epoch == 0 ? step != 0 : (step < ck.epoch || step % ck.epoch != 0))
      r.bad("'optimizer/step' = {} does not fit 'epoch' = {} (every epoch runs the same number of steps, at least "
            "one)", step, ck.epoch);
    ck.optimizer.push_back({"step", Tensor::scalar(static_cast<float>(step))});
    std::map<std::string, std::set<std::string>> slots;  // weight -> its slots
    for (const std::string& k : r.float_names_with("optimizer/")) {
      const std::string rest = k.substr(10);
      const size_t slash = rest.rfind('/');  // weight names may hold '/' (L0/Qmat); slot names do not
      const std::string w = slash == std::string::npos ? rest : rest.substr(0, slash);
      if (slash == std::string::npos || !weight_shapes.count(w))
        continue;  // not a slot of a weight: refused with the leftovers
      Tensor t = r.floats(k);
      if (t.shape() != weight_shapes.at(w))
        r.bad("'{}' has shape ({}) but 'weights/{}' is ({}): a slot has its weight's shape", k, t.shape().str(), w,
              weight_shapes.at(w).str());
      check_finite(r, k, t);
      slots[w].insert(rest.substr(slash + 1));
      ck.optimizer.push_back({rest, std::move(t)});
    }
    const std::set<std::string>& first = slots[weight_names.front()];
    for (const auto& name : weight_names)
      if (slots[name] != first)
        r.bad("the optimizer slots of '{}' ({}) differ from those of '{}' ({}): every weight has the same slots",
              name, slots[name].empty() ? std::string("none") : fmt::format("{}", fmt::join(slots[name], ", ")),
              weight_names.front(), first.empty() ? std::string("none") : fmt::format("{}", fmt::join(first, ", ")));
    bool known = false;
    for (const auto& l : slot_layouts()) known = known || l == first;
    if (!known)
      r.bad("the optimizer slots ({}) are not those of SGD, RMSprop or Adam", fmt::join(first, ", "));
  }
  r.refuse_leftovers(version);
  return ck;
}

}  // namespace toy
