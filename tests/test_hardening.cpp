// Hostile and edge input, one case per class of the hardening review: flags that lied, resource limits, non-finite
// numbers, text that is not UTF-8, outputs checked before any work. Each gives one error line naming what was wrong
// and a distinct exit code (2 bad input, 1 numerical failure), and leaves no partial output.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/npz.h"
#include "core/shape.h"
#include "layers/toy_model.h"
#include "optim/optimizer.h"
#include "tests/cli_util.h"

namespace fs = std::filesystem;
using namespace toy;

namespace {

using Run = testing::CliRun;
fs::path scratch() { return testing::scratch_dir("hard"); }
Run run(const std::string& args) { return testing::run_cli(args, "hard"); }

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

struct Case {
  std::string args, says;
};

void expect_refused(const std::vector<Case>& cases, int code = 2) {
  for (const Case& c : cases) {
    CAPTURE(c.args);
    const Run r = run(c.args);
    CAPTURE(r.err);
    CHECK(r.code == code);
    CHECK(r.err.find(c.says) != std::string::npos);
    CHECK(lines(r.err) == 1);
    CHECK(r.out.empty());
  }
}

}  // namespace

TEST_CASE("hardening/flags: every numeric flag has a range, checked on the text before any work") {
  expect_refused({
      {"train --lr -0.5", "--lr: -0.5 is outside the valid range (0, "},  // was: trained with 0.01
      {"train --lr 0", "--lr: 0 is outside the valid range (0, "},
      {"train --seed -1", "--seed: '-1' is not a seed"},                    // was: 2^64 - 1
      {"train --seed 18446744073709551616", "--seed: '18446744073709551616' is not a seed"},
      {"train --min-delta nan", "--min-delta: 'nan' is not a finite number"},
      {"train --momentum 1", "--momentum: 1 is outside the valid range [0, 1)"},
      {"train --plateau-factor 0", "--plateau-factor: 0 is outside the valid range (0, 1)"},
      {"train --plateau-patience -1", "--plateau-patience: -1 is outside the valid range [0, "},
      {"train --early-stop-min-delta inf", "--early-stop-min-delta: 'inf' is not a finite number"},
      {"train --solved-share 0.4", "--solved-share: 0.4 is outside the valid range [0.5, 1]"},
      {"train --epochs 9223372036854775807", "--epochs: 9223372036854775807 is outside the valid range [0, 16777216]"},
      {"train --batch 0", "--batch: 0 is outside the valid range [1, "},
      {"sweep --seed-start -3 --out x", "--seed-start: '-3' is not a seed"},
      {"sweep --seed-start 18446744073709551615 --seeds 2 --out x", "the last seed would pass 2^64 - 1"},
      {"sweep --jobs -1 --out x", "--jobs: -1 is outside the valid range [0, 4096]"},
  });
}

TEST_CASE("hardening/commands: a bare toyformer prints the usage, a mistyped command gets a suggestion") {
  const Run bare = run("");
  CHECK(bare.code == 2);
  CHECK(bare.err.find("Usage: toyformer") != std::string::npos);
  CHECK(bare.err.find("a command is required (one of: train, bench") != std::string::npos);
  const Run typo = run("trian --H 10");
  CHECK(typo.code == 2);
  CHECK(typo.err.find("unknown command 'trian' (did you mean 'train'?)") != std::string::npos);
  CHECK(lines(typo.err) == 1);
  const Run far = run("xyzzyplugh");
  CHECK(far.code == 2);
  CHECK(far.err.find("did you mean") == std::string::npos);
}

TEST_CASE("hardening/limits: sizes that cannot fit are refused up front with the estimate") {
  expect_refused({
      {"train --H 1000000000", "toy model: H=1000000000, a vocabulary of 7, 5 positions, batch 2 need about"},
      {"sweep --seeds 100000000 --out x", "sweep: 300000000 runs of 5020 epochs need about"},
      {"gradcheck --op softmax --shape 100000x100000", "10000000000 elements; gradcheck takes at most 100000"},
      {"gradcheck --op softmax --shape 4294967296x4294967296", "has more elements than can be addressed"},
  });
  // A shape whose element count overflows int64 is refused where it is made (it used to look empty).
  CHECK_THROWS_WITH(Shape({int64_t{1} << 32, int64_t{1} << 32}), doctest::Contains("more elements than can be"));
  // One sentence of 20000 distinct words: the vocabulary builds at once (it was quadratic), the model is refused.
  fs::path d = scratch();
  {
    std::ofstream f(d / "long.txt");
    for (int i = 0; i < 20000; ++i) f << "w" << i << ' ';
    f << '\n';
  }
  const ToyCorpus c = load_corpus((d / "long.txt").string());
  CHECK(c.vocab_size() == 20001);
  expect_refused({{"train --batch 1 --corpus " + (d / "long.txt").string(), "20001, 20001 positions, batch 1 need"}});
}

TEST_CASE("hardening/numbers: a non-finite loss stops training at its epoch, exit 1, nothing written") {
  fs::path d = scratch();
  const std::string out = (d / "nan_run").string(), w = (d / "nan_w.npz").string();
  const Run r = run("train --lr 1e6 --quiet --out " + out + " --save-weights " + w);
  CHECK(r.code == 1);
  CHECK(r.err.find("numerical failure: epoch 5 of 5020: the training loss is NaN (seed 1, lr 1e+06)") !=
        std::string::npos);
  CHECK(r.err.find("try a smaller --lr") != std::string::npos);
  CHECK(lines(r.err) == 1);
  CHECK(!fs::exists(w));
  CHECK(!fs::exists(fs::path(out) / "run.json"));
  // A sweep with such a learning rate fails the same way, before writing anything.
  const Run s = run("sweep --H 10 --seeds 2 --lr 1e6 --quiet --out " + (d / "nan_sweep").string());
  CHECK(s.code == 1);
  CHECK(!fs::exists(d / "nan_sweep" / "sweep.json"));
  // Non-finite weights are refused at load, naming the array.
  NpzArrays bad{{"XEmbed", Tensor::zeros(Shape{7, 7})}, {"PosEmbed", Tensor::zeros(Shape{5, 7})},
                {"Qmat", Tensor::zeros(Shape{7, 20})},  {"Kmat", Tensor::zeros(Shape{7, 20})},
                {"Vmat", Tensor::zeros(Shape{7, 7})}};
  bad[2].second[3] = std::numeric_limits<float>::quiet_NaN();
  save_npz((d / "nanw.npz").string(), bad);
  expect_refused({{"train --init-weights " + (d / "nanw.npz").string(), "array 'Qmat' holds a non-finite value"}});
}

TEST_CASE("hardening/text: a corpus must be UTF-8 (refused with its line), a byte-order mark is skipped") {
  fs::path d = scratch();
  std::ofstream(d / "latin1.txt") << "man ordered the chicken\nwoman ordered the caf\xe9\n";
  expect_refused({{"train --corpus " + (d / "latin1.txt").string(), "latin1.txt:2: not valid UTF-8 at byte 22"}});
  std::ofstream(d / "bom.txt") << "\xEF\xBB\xBF" << "# a comment line\nman ordered the chicken\nwoman ordered the beef\n";
  const ToyCorpus c = load_corpus((d / "bom.txt").string());
  CHECK(c.vocab[1] == "man");  // not "\xEF\xBB\xBFman"
  CHECK(c.size() == 2);        // the # line is a comment (README says so)
  // UTF-8 words are carried through to every text we write: run.json parses, the report is written.
  std::ofstream(d / "utf8.txt") << "homme a commandé le poulet\nfemme a commandé le bœuf\n";
  const std::string out = (d / "utf8_run").string();
  REQUIRE(run("train --epochs 5 --quiet --corpus " + (d / "utf8.txt").string() + " --out " + out).code == 0);
  const auto j = nlohmann::json::parse(testing::slurp(fs::path(out) / "run.json"));
  const auto vocab = j["corpus"]["vocab"].get<std::vector<std::string>>();
  CHECK(std::find(vocab.begin(), vocab.end(), "bœuf") != vocab.end());
  CHECK(testing::slurp(fs::path(out) / "report.html").find("bœuf") != std::string::npos);
}

TEST_CASE("hardening/outputs: every output path is checked before training, an earlier run is not overwritten") {
  fs::path d = scratch();
  const std::string good = (d / "good_w.npz").string();
  // A good --save-weights and a bad --dump-activations: nothing is written (it used to write the first, then fail).
  expect_refused({{"train --save-weights " + good + " --dump-activations " + (d / "no/such/dir/a.npz").string(),
                   "--dump-activations " + (d / "no/such/dir/a.npz").string() + ": the directory"}});
  CHECK(!fs::exists(good));
  expect_refused({{"train --report " + d.string(), "is a directory"},
                  {"sweep --seeds 1 --out /proc/toyformer_out", "--out: cannot create the directory '/proc/toyformer_out'"}});
  // --out into a directory that holds an earlier run: refused, unless --force.
  const std::string out = (d / "twice").string();
  REQUIRE(run("train --epochs 3 --quiet --out " + out).code == 0);
  expect_refused({{"train --epochs 3 --quiet --out " + out, "already holds files (an earlier run?)"},
                  {"sweep --H 10 --seeds 1 --epochs 3 --quiet --out " + out, "already holds files"}});
  CHECK(run("train --epochs 4 --quiet --force --out " + out).code == 0);
  CHECK(nlohmann::json::parse(testing::slurp(fs::path(out) / "run.json"))["metrics"]["epochs"] == 4);
  // A killed write's temporary file is cleaned up by the next write there (pid 999999999 runs no process).
  std::ofstream(fs::path(out) / "run.json.tmp.999999999.0") << "half";
  std::ofstream(d / "good_w.npz.tmp.999999999") << "half";
  REQUIRE(run("train --epochs 3 --quiet --force --out " + out + " --save-weights " + good).code == 0);
  CHECK(!fs::exists(fs::path(out) / "run.json.tmp.999999999.0"));
  CHECK(!fs::exists(d / "good_w.npz.tmp.999999999"));
  CHECK(fs::exists(good));
}

TEST_CASE("hardening/optimizer state: a state without one of the optimizer's own entries is refused") {
  // A checkpoint whose momenta were all stripped looks like one of plain SGD; the SGD-with-momentum optimizer that
  // resumes it must not keep zero momenta silently.
  Var w = Var::param(Tensor::zeros(Shape{3}), "w");
  SGD with_momentum({w}, SGDOptions{.lr = 0.01f, .momentum = 0.9f});
  std::vector<std::pair<std::string, Tensor>> plain;
  for (const auto& [k, t] : with_momentum.state())
    if (k == "lr" || k == "step") plain.push_back({k, t});
  CHECK_THROWS_WITH(with_momentum.load_state(plain), doctest::Contains("SGD: the saved state lacks 'w/momentum'"));
  CHECK_NOTHROW(with_momentum.load_state(with_momentum.state()));
}
