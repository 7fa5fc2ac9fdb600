// Checkpoint directories as a library object (apps/lib/training/checkpoint_dir.h): create records the settings, a
// second create is refused, resume names every setting that differs, loads the state and keeps the recorded interval.
#include <doctest/doctest.h>

#include <filesystem>

#include "apps/lib/training/checkpoint_dir.h"
#include "tests/cli_util.h"

namespace fs = std::filesystem;
using namespace toy;

TEST_CASE("checkpoint_dir: create, refuse a second start, resume with the same settings only") {
  const fs::path d = testing::scratch_dir("ckdir") / "ck";
  const nlohmann::json settings{{"H", 20}, {"optimizer", "sgd"}};
  CheckpointDir ck = CheckpointDir::create(d.string(), 7, settings, "");
  CHECK(fs::exists(d / "run.json"));
  CHECK(ck.checkpoint_path() == (d / "checkpoint.npz").string());
  // Train a few epochs through it: the options checkpoint into the directory.
  ToyCorpus c = notebook_corpus();
  ToyModel m(c, ToyConfig{}, 2);
  TrainOptions o;
  o.epochs = 10;
  ck.attach(o);
  CHECK(o.checkpoint_every == 7);
  (void)train(m, c, o);
  REQUIRE(fs::exists(d / "checkpoint.npz"));
  CHECK_THROWS_WITH(CheckpointDir::create(d.string(), 7, settings, ""), doctest::Contains("already holds a checkpoint"));
  // Resume: another setting is refused and named; the same settings load epoch 10 and keep the interval of 7.
  TrainCheckpoint state;
  CHECK_THROWS_WITH(CheckpointDir::resume(d.string(), 0, {{"H", 10}, {"optimizer", "sgd"}}, state),
                    doctest::Contains("H was 20, now 10"));
  const CheckpointDir again = CheckpointDir::resume(d.string(), 0, settings, state);
  CHECK(state.epoch == 10);
  CHECK(again.every() == 7);
  CHECK(CheckpointDir::resume(d.string(), 3, settings, state).every() == 3);
  CHECK_THROWS_WITH(CheckpointDir::resume((d / "nope").string(), 0, settings, state), doctest::Contains("no run.json"));
}
