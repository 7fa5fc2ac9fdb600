// EarlyStopping(monitor='loss', mode='min', baseline=None, restore_best_weights=False) with Keras' exact rule
// (keras/callbacks.py, K2.10 EarlyStopping.on_epoch_end and _is_improvement; docs/keras_semantics.md):
//   wait += 1
//   improvement: loss - (-min_delta) < best, i.e. loss + min_delta < best (float64, rounded as Keras rounds it;
//                best starts at +inf)
//                -> best = loss, wait = 0
//   stop after this epoch when wait >= patience and epoch > 0 (Keras checks from the second epoch on).
// Its whole state is a function of the loss history, so a resumed run rebuilds it by replaying the history.
#pragma once
#include <cstdint>
#include <limits>
#include <vector>

namespace toy {

struct EarlyStopOptions {
  int64_t patience = -1;  // < 0: no early stopping (0 is Keras' default: stop after the second epoch, in K2.10)
  double min_delta = 0;   // Keras' default
  bool enabled() const { return patience >= 0; }
};

class EarlyStopping {
 public:
  explicit EarlyStopping(EarlyStopOptions o = {}) : o_(o) {}
  // Call once per epoch (0-based) with that epoch's loss; returns true when training should stop after it.
  bool on_epoch_end(int64_t epoch, double loss) {
    ++wait_;
    if (loss + o_.min_delta < best_) {
      best_ = loss;
      wait_ = 0;
    }
    stopped_ = stopped_ || (wait_ >= o_.patience && epoch > 0);
    return stopped_;
  }
  // Rebuild the state from a loss history (epochs 0 .. n-1); returns whether it had stopped.
  bool replay(const std::vector<float>& loss) {
    for (size_t e = 0; e < loss.size(); ++e) on_epoch_end(static_cast<int64_t>(e), static_cast<double>(loss[e]));
    return stopped_;
  }
  bool stopped() const { return stopped_; }

 private:
  EarlyStopOptions o_;
  double best_ = std::numeric_limits<double>::infinity();
  int64_t wait_ = 0;
  bool stopped_ = false;
};

}  // namespace toy
