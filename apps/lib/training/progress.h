// `train`'s progress output, as a TrainOptions::on_epoch callback: the plateau rule's and early stopping's messages
// (Keras' wording, 1-based epochs) and a progress line (epoch, loss, lr, steps/s). The progress line is throttled:
// looked at every 256 epochs, printed when 0.1 s (a terminal, where it is rewritten in place) or 2 s (a log file
// or pipe) have passed since the last one, and always at the last epoch.
#pragma once
#include <chrono>
#include <cstdio>
#include <functional>

#include "apps/lib/training/train.h"

namespace toy {

class TrainProgress {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // f: where the lines go; tty: rewrite the progress line in place (ANSI "\r\033[K"); quiet: print nothing.
  // o: the run's options (plateau factor, min lr, early stopping); clock: injectable for tests.
  TrainProgress(std::FILE* f, bool tty, bool quiet, const TrainOptions& o, Clock clock = std::chrono::steady_clock::now);
  void operator()(const EpochInfo& e);

 private:
  std::FILE* f_;
  bool tty_, quiet_;
  double plateau_factor_, min_lr_, early_stop_min_delta_;
  int64_t early_stop_;
  Clock clock_;
  std::chrono::steady_clock::time_point last_;
  int64_t last_epoch_ = 0;
};

}  // namespace toy
