// train's progress lines (apps/lib/training/progress.h): messages, throttling, terminal rewriting, quiet.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "apps/lib/training/progress.h"

using namespace toy;

namespace {

// A fake clock the test advances, and the text a TrainProgress wrote into a temporary file.
struct Harness {
  std::chrono::steady_clock::time_point t{};
  std::FILE* f = std::tmpfile();
  ~Harness() { std::fclose(f); }
  TrainProgress make(bool tty, bool quiet = false) {
    TrainOptions o;
    o.plateau_factor = 0.2;
    o.min_lr = 1e-4;
    o.early_stop = 7;
    o.early_stop_min_delta = 0.001;
    return TrainProgress(f, tty, quiet, o, [this] { return t; });
  }
  std::string text() {
    std::fflush(f);
    std::rewind(f);
    std::string s;
    for (int ch; (ch = std::fgetc(f)) != EOF;) s += static_cast<char>(ch);
    return s;
  }
};

EpochInfo epoch(int64_t e, int64_t of, float loss = 0.5f, float lr = 0.01f) {
  return EpochInfo{0, e, of, loss, lr, false, lr, false};
}

}  // namespace

TEST_CASE("progress: a log file gets a line per 2 s at most (looked at every 256 epochs) and the last epoch") {
  Harness h;
  TrainProgress p = h.make(false);
  for (int64_t e = 0; e < 1024; ++e) {
    h.t += std::chrono::milliseconds(5);  // 256 epochs = 1.28 s: every second look prints
    p(epoch(e, 1024));
  }
  // Looks at epochs 256, 512, 768, 1024 (1-based); 256 is 1.28 s after the start (silent), 512 is 2.56 s (printed),
  // 768 is 1.28 s after that (silent), 1024 is the last (printed).
  CHECK(h.text() == "epoch 512/1024 loss 0.5000 lr 0.01 steps/s 200\n"
                    "epoch 1024/1024 loss 0.5000 lr 0.01 steps/s 200\n");
}

TEST_CASE("progress: a terminal line is rewritten in place, and a message clears it first") {
  Harness h;
  TrainProgress p = h.make(true);
  for (int64_t e = 0; e < 256; ++e) {
    h.t += std::chrono::milliseconds(1);
    p(epoch(e, 300));
  }
  EpochInfo r = epoch(256, 300);
  r.reduced = true;
  r.new_lr = 0.002f;
  h.t += std::chrono::milliseconds(1);
  p(r);  // the float lr 0.01 times 0.2 in double, printed in full as Keras does
  for (int64_t e = 257; e < 300; ++e) {
    h.t += std::chrono::milliseconds(1);
    p(epoch(e, 300, 0.25f, 0.002f));
  }
  CHECK(h.text() == "\r\033[Kepoch 256/300  loss 0.5000  lr 0.01  steps/s 1000"
                    "\r\033[KEpoch 257: ReduceLROnPlateau reducing learning rate to 0.0019999999552965165.\n"
                    "\r\033[Kepoch 300/300  loss 0.2500  lr 0.002  steps/s 1000\n");
}

TEST_CASE("progress: the plateau message never goes below min_lr, early stopping ends with a line, quiet is silent") {
  Harness h;
  TrainProgress p = h.make(false);
  EpochInfo r = epoch(9, 100, 0.5f, 2e-4f);
  r.reduced = true;
  p(r);
  EpochInfo s = epoch(19, 100);
  s.stopped = true;
  p(s);
  CHECK(h.text() == "Epoch 10: ReduceLROnPlateau reducing learning rate to 0.0001.\n"
                    "Epoch 20: early stopping (the loss has not improved by more than 0.001 for 7 epochs).\n"
                    "epoch 20/100 loss 0.5000 lr 0.01 steps/s 20000000000\n");
  Harness q;
  TrainProgress quiet = q.make(false, true);
  quiet(r);
  quiet(s);
  quiet(epoch(99, 100));
  CHECK(q.text().empty());
}
