// `toyformer inspect`: the layer list, labelled tables, heatmaps, the vocabulary entry, --chain, --epoch, --position,
// and refusals (exit code 2), damaged dumps included.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps/lib/visual/report.h"
#include "core/npz.h"
#include "tests/cli_util.h"
#include "tests/text_util.h"

namespace fs = std::filesystem;
using namespace toy;

namespace {

using Run = testing::CliRun;
fs::path scratch() { return testing::scratch_dir("inspect"); }
Run run(const std::string& args) { return testing::run_cli(args, "inspect"); }
using testing::slurp;

// An activation dump (and the weights) of a short run.
fs::path dump() {
  fs::path d = scratch();
  if (!fs::exists(d / "a.npz"))
    REQUIRE(run("train --epochs 20 --quiet --dump-activations " + (d / "a.npz").string() + " --save-weights " +
                (d / "w.npz").string())
                .code == 0);
  return d;
}

}  // namespace

TEST_CASE("inspect/vocab: code points round-trip, UTF-8 included") {
  std::vector<std::string> v{"<ST>", "caf\u00e9", "\u65e5\u672c", "x"};
  Tensor t = vocab_tensor(v);
  CHECK(t.shape() == Shape{4, 4});
  CHECK(t[0] == static_cast<float>('<'));
  CHECK(t[1 * 4 + 3] == 233.0f);  // é
  CHECK(t[3 * 4 + 1] == 0.0f);    // padding
  CHECK(vocab_from_tensor(t) == v);
  CHECK_THROWS_WITH(vocab_from_tensor(Tensor::full(Shape{2, 2}, 0.5f)), doctest::Contains("not a code point"));
}

TEST_CASE("inspect/list: every layer with its shape and axes") {
  fs::path d = dump();
  Run r = run("inspect " + (d / "a.npz").string());
  CAPTURE(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("B=2 sequences, T=5 positions, V=7 words; vocabulary from the dump") != std::string::npos);
  CHECK(r.out.find("sequence 1: <ST> woman ordrd the beef") != std::string::npos);
  CHECK(r.out.find("AttnWts           2x5x5        sequence x position x position (attended to)") != std::string::npos);
  CHECK(r.out.find("Qmat              2x5x20       sequence x position x head dim") != std::string::npos);
  CHECK(r.out.find("loss              20           epoch") != std::string::npos);
  CHECK(r.out.find("vocab             7x5") != std::string::npos);
}

TEST_CASE("inspect/layer: labelled tables, positions and words") {
  fs::path d = dump();
  Run a = run("inspect " + (d / "a.npz").string() + " --layer AttnWts --seq 1");
  REQUIRE(a.code == 0);
  CHECK(a.out.find("sequence 1: AttnWts") != std::string::npos);
  CHECK(a.out.find("sequence 0") == std::string::npos);
  CHECK(a.out.find("0 <ST> 1 woman 2 ordrd   3 the  4 beef") != std::string::npos);  // the column header
  CHECK(a.out.find("\n3 the ") != std::string::npos);
  Run p = run("inspect " + (d / "a.npz").string() + " --layer activation");
  REQUIRE(p.code == 0);
  CHECK(p.out.find("<ST>    the    man   chkn  ordrd  woman   beef") != std::string::npos);
  CHECK(p.out.find("sequence 0: activation") != std::string::npos);
  CHECK(p.out.find("sequence 1: activation") != std::string::npos);
  Run q = run("inspect " + (d / "a.npz").string() + " --layer Kmat --seq 0");
  REQUIRE(q.code == 0);
  CHECK(q.out.find("h19") != std::string::npos);
  Run l = run("inspect " + (d / "a.npz").string() + " --layer loss");
  REQUIRE(l.code == 0);
  CHECK(l.out.find("loss per epoch (20 epochs)") != std::string::npos);
  Run x = run("inspect " + (d / "a.npz").string() + " --layer Xseqids --seq 0");
  REQUIRE(x.code == 0);
  CHECK(x.out.find("1 man") != std::string::npos);
}

TEST_CASE("inspect/heatmap: an SVG panel per sequence, grey for weights, diverging for activations") {
  fs::path d = dump();
  Run a = run("inspect " + (d / "a.npz").string() + " --layer AttnWts --heatmap " + (d / "attn.svg").string());
  REQUIRE(a.code == 0);
  CHECK(a.out.find("2 panels, grey scale") != std::string::npos);
  const std::string s = slurp(d / "attn.svg");
  CHECK(toy::testing::xml_problem(s) == "");
  CHECK(s.find("0 &lt;ST&gt;") != std::string::npos);
  CHECK(s.find("AttnWts, sequence 1") != std::string::npos);
  Run x = run("inspect " + (d / "a.npz").string() + " --layer XwithPos --seq 0 --heatmap " + (d / "x.svg").string());
  REQUIRE(x.code == 0);
  CHECK(x.out.find("1 panel, diverging scale") != std::string::npos);
  CHECK(toy::testing::xml_problem(slurp(d / "x.svg")) == "");
}

TEST_CASE("inspect/old dumps: without a vocab entry the notebook's words label V=7") {
  fs::path d = dump();
  NpzArrays a = load_npz((d / "a.npz").string());
  a.pop_back();  // vocab
  save_npz((d / "old.npz").string(), a);
  Run r = run("inspect " + (d / "old.npz").string() + " --layer activation --seq 0");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("chkn") != std::string::npos);
  CHECK(run("inspect " + (d / "old.npz").string()).out.find("the notebook's") != std::string::npos);
}

TEST_CASE("inspect/errors: unknown layer, not a dump, bad --seq -> one line, exit code 2") {
  fs::path d = dump();
  std::ofstream(d / "garbage.npz") << "not a zip";
  const std::string a = (d / "a.npz").string();
  struct Bad {
    std::string args, says;
  };
  for (const Bad& b : {Bad{"inspect " + a + " --layer Attn", "no layer 'Attn'"},
                       Bad{"inspect " + a + " --layer Attn", "known: Xseqids, PosInput, XEmbed"},
                       Bad{"inspect " + (d / "w.npz").string(), "is not an activation dump"},
                       Bad{"inspect " + (d / "garbage.npz").string(), "garbage.npz"},
                       Bad{"inspect /nonexistent/a.npz", "/nonexistent/a.npz"},
                       Bad{"inspect " + a + " --layer AttnWts --seq 2", "--seq 2 is out of range"},
                       Bad{"inspect " + a + " --layer loss --heatmap " + (d / "h.svg").string(), "--heatmap needs"},
                       Bad{"inspect " + a + " --heatmap " + (d / "h.svg").string(), "--heatmap needs --layer"},
                       Bad{"inspect " + a + " --seq -1", "--seq"}}) {
    CAPTURE(b.args);
    testing::check_refused(run(b.args), {b.says});
  }
  CHECK(!fs::exists(d / "h.svg"));
}

namespace {

// The arrays of the short run's dump, to be edited into the dumps below.
NpzArrays base_arrays() { return load_npz((dump() / "a.npz").string()); }

using testing::drop;
using testing::put;

std::string save(const NpzArrays& a, const std::string& name) {
  const std::string path = (scratch() / name).string();
  save_npz(path, a);
  return path;
}

// Snapshots of activation at `epochs`, value (k, s, t, j) = k + s/10 + t/100 + j/1000, so a printed row names
// its snapshot, sequence, position and word.
NpzArrays with_activation_snapshots(const std::vector<float>& epochs) {
  NpzArrays a = base_arrays();
  const int64_t S = static_cast<int64_t>(epochs.size());
  std::vector<float> v;
  for (int64_t k = 0; k < S; ++k)
    for (int s = 0; s < 2; ++s)
      for (int t = 0; t < 5; ++t)
        for (int j = 0; j < 7; ++j) v.push_back(static_cast<float>(k) + s / 10.0f + t / 100.0f + j / 1000.0f);
  put(a, "epochs", Tensor::from(Shape{S}, epochs));
  put(a, "activation@epochs", Tensor::from(Shape{S, 2, 5, 7}, v));
  return a;
}

}  // namespace

TEST_CASE("inspect/chain: without --seq every sequence is shown, each labelled") {
  const std::string a = (dump() / "a.npz").string();
  Run all = run("inspect " + a + " --chain");
  REQUIRE_MESSAGE(all.code == 0, all.err);
  CHECK(all.out.find("all 2 sequences (--seq i for one)") != std::string::npos);
  const size_t s0 = all.out.find("sequence 0 of 2: <ST> man ordrd the chkn"),
               s1 = all.out.find("sequence 1 of 2: <ST> woman ordrd the beef");
  REQUIRE(s0 != std::string::npos);
  REQUIRE(s1 != std::string::npos);
  CHECK(s0 < s1);
  // Each sequence has its whole chain, labelled with its own tokens.
  for (const std::string part : {all.out.substr(s0, s1 - s0), all.out.substr(s1)})
    for (const char* want : {"dot (raw scores)", "mask adder", "AttnWts (softmax", "activation (prediction)", "3 the"})
      CHECK_MESSAGE(part.find(want) != std::string::npos, want);
  CHECK(all.out.substr(s1).find("1 woman") != std::string::npos);
  CHECK(all.out.substr(s0, s1 - s0).find("1 woman") == std::string::npos);

  Run one = run("inspect " + a + " --chain --seq 1");
  REQUIRE(one.code == 0);
  CHECK(one.out.find("sequence 1 of 2: <ST> woman") != std::string::npos);
  CHECK(one.out.find("sequence 0 of 2") == std::string::npos);
  CHECK(one.out.find("all 2 sequences") == std::string::npos);
}

TEST_CASE("inspect/epoch: an epoch that was not recorded names the nearest ones, not all of them") {
  std::vector<float> epochs{1};
  for (int e = 50; e <= 5000; e += 50) epochs.push_back(static_cast<float>(e));
  epochs.push_back(5020);  // 102 snapshots, as a 5020-epoch run at --snapshot-every 50
  const std::string f = save(with_activation_snapshots(epochs), "many.npz");
  struct Case {
    int64_t epoch;
    std::string says;
  };
  for (const Case& c : {Case{1001, "epoch 1001 was not recorded in " + f + " (102 snapshots, epochs 1..5020); "
                                   "nearest: 1000, 1050"},
                        Case{9000, "epoch 9000 was not recorded in " + f + " (102 snapshots, epochs 1..5020); "
                                   "nearest: 5020"},
                        Case{0, "nearest: 1\n"}, Case{2, "nearest: 1, 50\n"}}) {
    Run r = run(fmt::format("inspect {} --layer activation --epoch {}", f, c.epoch));
    CAPTURE(r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find(c.says) != std::string::npos);
    CHECK(r.err.find("recorded epochs") == std::string::npos);  // not the 102 of them
    CHECK(r.err.size() < 200);
  }
  Run ok = run("inspect " + f + " --layer activation --epoch 1000 --seq 0");
  REQUIRE_MESSAGE(ok.code == 0, ok.err);
  CHECK(ok.out.find("activation at epoch 1000") != std::string::npos);
  CHECK(ok.out.find("20.034") != std::string::npos);  // snapshot 20, sequence 0, position 3, word 4
}

TEST_CASE("inspect/position: one position's row at every snapshot epoch, one table per sequence") {
  const std::string f = save(with_activation_snapshots({1, 50, 100}), "pos.npz");
  Run r = run("inspect " + f + " --layer activation --position 3");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const size_t s0 = r.out.find("sequence 0, position 3 (the): activation over 3 snapshot epochs (rows: epoch; "
                               "columns: vocabulary)"),
               s1 = r.out.find("sequence 1, position 3 (the): activation over 3 snapshot epochs");
  REQUIRE(s0 != std::string::npos);
  REQUIRE(s1 != std::string::npos);
  CHECK(r.out.find("<ST>    the    man   chkn  ordrd  woman   beef") != std::string::npos);  // the words as columns
  // Row "epoch 100" = snapshot 2: sequence 0 reads 2.03x, sequence 1 reads 2.13x (x = the word).
  const std::string seq0 = r.out.substr(s0, s1 - s0), seq1 = r.out.substr(s1);
  for (const auto& text_want : {std::pair{seq0, "\nepoch 100  2.030  2.031"}, {seq0, "\nepoch 1    0.030"},
                                 {seq1, "\nepoch 50   1.130"}, {seq1, "2.136\n"}}) {
    const std::string& text = text_want.first;  // not a structured binding: clang 14 cannot capture one
    const char* want = text_want.second;
    CHECK_MESSAGE(text.find(want) != std::string::npos, std::string(want), " in\n", text);
  }
  Run one = run("inspect " + f + " --layer activation --position 0 --seq 1");
  REQUIRE(one.code == 0);
  CHECK(one.out.find("sequence 1, position 0 (<ST>)") != std::string::npos);
  CHECK(one.out.find("sequence 0") == std::string::npos);

  struct Bad {
    std::string args, says;
  };
  for (const Bad& b : {Bad{"--layer activation --position 5", "--position 5 is out of range: the sequences have 5 "
                                                               "positions (0..4)"},
                       Bad{"--layer AttnWts --position 1", "holds no snapshots of 'AttnWts'"},
                       Bad{"--position 1", "--position needs --layer"},
                       Bad{"--layer activation --position 1 --seq 2", "--seq 2 is out of range"},
                       Bad{"--layer activation --position 1 --epoch 50", "drop --epoch"},
                       Bad{"--chain --position 1", "drop --layer, --heatmap, --epoch and --position"}}) {
    Run e = run("inspect " + f + " " + b.args);
    CAPTURE(b.args);
    CAPTURE(e.err);
    CHECK(e.code == 2);
    CHECK(e.err.find(b.says) != std::string::npos);
    CHECK(std::count(e.err.begin(), e.err.end(), '\n') == 1);
  }
  Run none = run("inspect " + (dump() / "a.npz").string() + " --layer activation --position 1");
  CHECK(none.code == 2);
  CHECK(none.err.find("no 'activation@epochs' array, no snapshots at all; record them with toyformer train "
                      "--snapshot-every N") != std::string::npos);
  Run help = run("inspect --help");
  CHECK(help.out.find("--position") != std::string::npos);
}

TEST_CASE("inspect/position: from a real run's snapshots") {
  const std::string f = (scratch() / "snap.npz").string();
  REQUIRE(run("train --quiet --epochs 60 --snapshot-every 20 --dump-activations " + f).code == 0);
  Run r = run("inspect " + f + " --layer activation --position 3 --seq 1");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("sequence 1, position 3 (the): activation over 4 snapshot epochs") != std::string::npos);
  for (const char* want : {"\nepoch 1 ", "\nepoch 20 ", "\nepoch 40 ", "\nepoch 60 ", "beef"})
    CHECK_MESSAGE(r.out.find(want) != std::string::npos, want);
  Run a = run("inspect " + f + " --layer AttnWts --position 4 --seq 0");
  REQUIRE(a.code == 0);
  CHECK(a.out.find("columns: position (attended to)") != std::string::npos);
  CHECK(a.out.find("4 chkn") != std::string::npos);
}

TEST_CASE("inspect/damaged dumps: arrays that disagree give one error naming file and arrays, exit code 2") {
  struct Damage {
    std::string what, says;
    NpzArrays arrays;
  };
  std::vector<Damage> cases;
  auto add = [&](const std::string& what, const std::string& says, auto edit) {
    NpzArrays a = with_activation_snapshots({1, 50, 100, 120});
    edit(a);
    cases.push_back({what, says, a});
  };
  add("epochs shorter than the snapshots", "activation@epochs (4x2x5x7) does not match epochs (3)",
      [](NpzArrays& a) { put(a, "epochs", Tensor::from(Shape{3}, {1, 50, 100})); });
  add("epochs longer than the snapshots", "activation@epochs (4x2x5x7) does not match epochs (5)",
      [](NpzArrays& a) { put(a, "epochs", Tensor::from(Shape{5}, {1, 50, 100, 120, 130})); });
  add("empty epochs", "epochs (0) must be a non-empty vector",
      [](NpzArrays& a) { put(a, "epochs", Tensor::zeros(Shape{0})); });
  add("epochs not increasing", "epochs[2] = 50 does not follow epochs[1] = 50",
      [](NpzArrays& a) { put(a, "epochs", Tensor::from(Shape{4}, {1, 50, 50, 120})); });
  add("epochs not whole numbers", "epochs[1] = 1.5 is not an epoch number",
      [](NpzArrays& a) { put(a, "epochs", Tensor::from(Shape{4}, {1, 1.5f, 100, 120})); });
  add("snapshots without epochs", "activation@epochs has no 'epochs' array", [](NpzArrays& a) { drop(a, "epochs"); });
  add("snapshot of another shape", "activation@epochs (4x2x5x6) does not match activation (2x5x7)",
      [](NpzArrays& a) { put(a, "activation@epochs", Tensor::zeros(Shape{4, 2, 5, 6})); });
  add("zero sequences", "the dump holds no values: Xseqids is (0x5)", [](NpzArrays& a) {
    put(a, "Xseqids", Tensor::zeros(Shape{0, 5}));
    put(a, "activation", Tensor::zeros(Shape{0, 5, 7}));
  });
  add("AttnWts with another sequence count", "AttnWts (3x5x5) does not match Xseqids (2x5)",
      [](NpzArrays& a) { put(a, "AttnWts", Tensor::zeros(Shape{3, 5, 5})); });
  add("AttnWts not square", "AttnWts (2x5x4) does not match Xseqids (2x5): expected [B=2, T=5, T=5]",
      [](NpzArrays& a) { put(a, "AttnWts", Tensor::zeros(Shape{2, 5, 4})); });
  add("PosInput of another length", "PosInput (2x4) does not match Xseqids (2x5)",
      [](NpzArrays& a) { put(a, "PosInput", Tensor::zeros(Shape{2, 4})); });
  add("vocab rows vs V", "vocab (6x5) holds 6 words but activation (2x5x7) has V = 7", [](NpzArrays& a) {
    put(a, "vocab", vocab_tensor({"<ST>", "the", "man", "chkn", "ordrd", "woman"}));
  });
  add("a token id beyond V", "Xseqids[0,1] = 9 is not a token id (a whole number in 0..6, V = 7 from activation)",
      [](NpzArrays& a) { put(a, "Xseqids", Tensor::from(Shape{2, 5}, {0, 9, 4, 1, 3, 0, 5, 4, 1, 6})); });
  add("a token id that is NaN", "Xseqids[1,0] = nan is not a token id", [](NpzArrays& a) {
    put(a, "Xseqids", Tensor::from(Shape{2, 5}, {0, 2, 4, 1, 3, std::nanf(""), 5, 4, 1, 6}));
  });
  add("a gradient of another shape", "grad/AttnWts (2x5x7) does not match AttnWts (2x5x5)",
      [](NpzArrays& a) { put(a, "grad/AttnWts", Tensor::zeros(Shape{2, 5, 7})); });
  add("loss as a matrix", "loss (4x5) must be a vector", [](NpzArrays& a) { put(a, "loss", Tensor::zeros(Shape{4, 5})); });
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string f = save(cases[i].arrays, fmt::format("damaged{}.npz", i));
    for (const char* args : {"", " --chain", " --layer activation --epoch 50", " --layer activation --position 2",
                             " --layer AttnWts --seq 1"}) {
      CAPTURE(cases[i].what);
      CAPTURE(args);
      testing::check_refused(run("inspect " + f + args), {cases[i].says, f});
    }
  }
}
