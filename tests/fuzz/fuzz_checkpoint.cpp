// libFuzzer target: load_checkpoint (apps/lib/training/checkpoint.h) on the input written as an .npz file; a checkpoint
// it accepts is resumed for one epoch of the notebook's model, as `train --resume` would (train_models checks the
// shapes against the model).
#include "apps/lib/training/checkpoint.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = (toy::fuzz::scratch() / "checkpoint.npz").string();
  toy::fuzz::write_file(path, toy::fuzz::as_text(data, size));
  toy::fuzz::expect_only_toy_errors([&] {
    const toy::TrainCheckpoint ck = toy::load_checkpoint(path);
    if (ck.epoch >= 1000) return;  // the history alone would make one resume slow; its checks ran above
    const toy::ToyCorpus c = toy::notebook_corpus();
    toy::ToyModel m(c, toy::ToyConfig{}, 2);
    toy::TrainOptions o;
    o.epochs = ck.epoch + 1;
    o.momentum = 0.9f;  // the seed checkpoints: SGD with momentum (other slot layouts are refused by load_state)
    o.resume = &ck;
    (void)toy::train_models(m, c, o);
  });
  return 0;
}
