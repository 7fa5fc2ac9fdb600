// `train`'s progress lines (apps/lib/training/progress.h).
#include "apps/lib/training/progress.h"

#include <fmt/format.h>

#include <algorithm>

namespace toy {

TrainProgress::TrainProgress(std::FILE* f, bool tty, bool quiet, const TrainOptions& o, Clock clock)
    : f_(f),
      tty_(tty),
      quiet_(quiet),
      plateau_factor_(o.plateau_factor),
      min_lr_(o.min_lr),
      early_stop_min_delta_(o.early_stop_min_delta),
      early_stop_(o.early_stop),
      clock_(std::move(clock)),
      last_(clock_()) {}

void TrainProgress::operator()(const EpochInfo& e) {
  if (quiet_ || e.model != 0) return;
  const char* clear = tty_ ? "\r\033[K" : "";  // a message replaces a progress line left on a terminal
  if (e.stopped)
    fmt::print(f_, "{}Epoch {}: early stopping (the loss has not improved by more than {:g} for {} epochs).\n", clear,
               e.epoch + 1, early_stop_min_delta_, early_stop_);
  if (e.reduced)
    fmt::print(f_, "{}Epoch {}: ReduceLROnPlateau reducing learning rate to {}.\n", clear, e.epoch + 1,
               std::max(static_cast<double>(e.lr) * plateau_factor_, min_lr_));
  const bool final = e.epoch + 1 == e.epochs || e.stopped;
  if ((e.epoch & 255) != 255 && !final) return;
  const auto now = clock_();
  const double dt = std::chrono::duration<double>(now - last_).count();
  if (!final && dt < (tty_ ? 0.1 : 2.0)) return;
  const double rate = static_cast<double>(e.epoch + 1 - last_epoch_) / std::max(dt, 1e-9);
  if (tty_)
    fmt::print(f_, "\r\033[Kepoch {}/{}  loss {:.4f}  lr {:.4g}  steps/s {:.0f}{}", e.epoch + 1, e.epochs, e.loss,
               e.new_lr, rate, final ? "\n" : "");
  else
    fmt::print(f_, "epoch {}/{} loss {:.4f} lr {:.4g} steps/s {:.0f}\n", e.epoch + 1, e.epochs, e.loss, e.new_lr, rate);
  std::fflush(f_);
  last_ = now;
  last_epoch_ = e.epoch + 1;
}

}  // namespace toy
