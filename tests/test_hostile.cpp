// A hostile user's session: well over a hundred bad or edge inputs across every command (flags, corpora, npz
// weights and dumps, checkpoints, attend problems, word2vec files, run and sweep directories). Every one must end in
// exit code 2 (bad input) or 1 (numerical failure) with exactly one error line, nothing on stdout, no "unexpected
// error", no crash, and no output file or temporary file left behind.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/npz.h"
#include "tests/cli_util.h"

namespace fs = std::filesystem;
using namespace toy;

namespace {

testing::CliRun run(const std::string& args) { return testing::run_cli(args, "hostile"); }

void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

// Every file under `dir`, to see what a failed command left.
std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("hostile: bad input never crashes, never says 'unexpected error', never leaves a file") {
  const fs::path d = testing::scratch_dir("hostile") / "in";
  fs::create_directories(d);
  const fs::path out = testing::scratch_dir("hostile") / "outputs";  // every output path points in here
  fs::create_directories(out);
  const std::string D = d.string() + "/", O = out.string() + "/";

  // Damaged inputs.
  write(d / "empty.txt", "");
  write(d / "comments.txt", "# only\n\n# comments\n");
  write(d / "ragged.txt", "a b c\nd e\n");
  write(d / "st_inside.txt", "a <ST> b\nc d e\n");
  write(d / "binary.txt", std::string("\x00\x01\xff\xfe garbage\n", 14));
  write(d / "latin1.txt", "caf\xe9 au lait\nthe house wins\n");
  write(d / "garbage.npz", "PK\x03\x04 not really a zip");
  write(d / "empty.npz", "");
  write(d / "notjson.json", "{ queries: [1, 2 ");
  write(d / "deep.json", std::string(5000, '[') + std::string(5000, ']'));
  write(d / "w2v.txt", "3 2\na 1 2\nb 1\nc 1 2\n");
  write(d / "w2v_nan.txt", "a nan 1\n");
  fs::create_directories(d / "rundir");
  write(d / "rundir" / "run.json", "{\"kind\": \"toyformer-run\"}");
  fs::create_directories(d / "sweepdir");
  write(d / "sweepdir" / "sweep.json", "{\"kind\": \"toyformer-sweep\", \"config\": {}}");
  fs::create_directories(d / "ckdir");
  write(d / "ckdir" / "run.json", "{\"kind\": \"toyformer-checkpoint\", \"settings\": {}}");
  write(d / "ckdir" / "checkpoint.npz", "junk");
  NpzArrays wrong{{"XEmbed", Tensor::zeros(Shape{3, 3})}};
  save_npz(D + "wrong.npz", wrong);
  NpzArrays dump_only_loss{{"loss", Tensor::zeros(Shape{4})}};
  save_npz(D + "loss_only.npz", dump_only_loss);

  std::vector<std::string> bad = {
      // flags of train
      "train --H", "train --H -3", "train --H 1.5", "train --H 99999999999999999999", "train --epochs -1",
      "train --epochs abc", "train --batch 7", "train --batch -2", "train --lr nan", "train --lr inf", "train --lr -1e-3",
      "train --lr 1e999", "train --momentum -0.1", "train --momentum 2", "train --nesterov=maybe", "train --optimizer sgdx",
      "train --loss KERAS", "train --device gpu", "train --step fast", "train --seed 1.5", "train --seed 0x10",
      "train --seed ''", "train --min-lr -1", "train --min-delta -1", "train --cooldown -1", "train --plateau-factor 1",
      "train --plateau-factor nan", "train --early-stop -2", "train --early-stop x", "train --solved-share 1.5",
      "train --solved-share nan", "train --snapshot-every -5", "train --checkpoint-every -1", "train --snapshot-every 10",
      "train --snapshot-every 10 --out " + O + "s1 --snapshot-layers Nope", "train --dump-grads",
      "train --checkpoint-every 10", "train --checkpoint-dir " + O + "ck1", "train --resume " + O + "nothing",
      "train --resume " + D + "ckdir", "train --unknown-flag", "train extra positional",
      // corpora
      "train --corpus " + D + "empty.txt", "train --corpus " + D + "comments.txt", "train --corpus " + D + "ragged.txt",
      "train --corpus " + D + "st_inside.txt", "train --corpus " + D + "binary.txt", "train --corpus " + D + "latin1.txt",
      "train --corpus " + D + "nonexistent.txt", "train --corpus " + D, "sweep --corpus " + D + "ragged.txt --out " + O + "sw1",
      // weights
      "train --init-weights " + D + "garbage.npz", "train --init-weights " + D + "empty.npz",
      "train --init-weights " + D + "wrong.npz", "train --init-weights " + D + "nonexistent.npz",
      "train --init-weights " + D,
      // outputs
      "train --save-weights " + O + "no/dir/w.npz", "train --dump-activations " + O + "no/dir/a.npz",
      "train --report " + O + "no/dir/r.html", "train --out /proc/toyformer_x", "train --save-weights " + O,
      "train --out " + D + "empty.txt", "train --report ''", "train --out ''", "sweep --out ''", "train --resume ''", "train --corpus ''",
      // numbers
      "train --lr 1e6 --out " + O + "diverged", "train --lr 1e6 --batch 1 --epochs 50",
      "sweep --H 10 --seeds 2 --lr 1e6 --out " + O + "sw_div",
      // sizes
      "train --H 1000000000", "train --H 1073741824", "train --epochs 16777217",
      "train --batch 1 --epochs 16777216", "sweep --seeds 1000000000000 --out " + O + "sw2",
      // sweep flags
      "sweep", "sweep --out", "sweep --H 0 --out " + O + "sw3", "sweep --H 10,,20 --out " + O + "sw3",
      "sweep --H 10,10 --out " + O + "sw3", "sweep --H x --out " + O + "sw3", "sweep --seeds 0 --out " + O + "sw3",
      "sweep --seeds -1 --out " + O + "sw3", "sweep --shard 0/1 --out " + O + "sw3", "sweep --shard 2/1 --out " + O + "sw3",
      "sweep --shard a --out " + O + "sw3", "sweep --jobs -1 --out " + O + "sw3", "sweep --seed-start -1 --out " + O + "sw3",
      "sweep --batch 3 --out " + O + "sw3", "sweep --out /proc/toyformer_y", "sweep merge --out " + O + "m1",
      "sweep merge " + D + "nonexistent --out " + O + "m1", "sweep merge " + D + "sweepdir --out " + O + "m1",
      "sweep merge " + D + "empty.txt --out " + O + "m1",
      // inspect
      "inspect", "inspect " + D + "nonexistent.npz", "inspect " + D + "garbage.npz", "inspect " + D + "empty.npz",
      "inspect " + D + "wrong.npz", "inspect " + D + "loss_only.npz", "inspect " + D, "inspect " + D + "wrong.npz --layer X",
      "inspect " + D + "wrong.npz --seq -1", "inspect " + D + "wrong.npz --chain", "inspect " + D + "wrong.npz --epoch 3",
      "inspect " + D + "wrong.npz --position 99",
      // report
      "report", "report " + D + "nonexistent -o " + O + "r.html", "report " + D + "rundir -o " + O + "r.html",
      "report " + D + "sweepdir -o " + O + "r.html", "report " + D + " -o " + O + "r.html",
      "report " + D + "empty.txt -o " + O + "r.html", "report " + D + "rundir",
      // compare
      "compare", "compare " + D + "garbage.npz " + D + "wrong.npz", "compare " + D + "wrong.npz",
      "compare " + D + "wrong.npz " + D + "nonexistent.npz", "compare " + D + "wrong.npz " + D + "wrong.npz --atol -1",
      "compare " + D + "wrong.npz " + D + "wrong.npz --rtol nan", "compare " + D + " " + D,
      // gradcheck
      "gradcheck", "gradcheck --op nope", "gradcheck --op softmax --shape 0x3", "gradcheck --op softmax --shape 2xx3",
      "gradcheck --op softmax --shape -2x3", "gradcheck --op softmax --shape 1000000x1000000",
      "gradcheck --op matmul --shape 2x3", "gradcheck --op softmax --eps 0", "gradcheck --op softmax --eps nan",
      "gradcheck --op softmax --seed -1",
      // attend
      "attend", "attend " + D + "nonexistent.json", "attend " + D + "notjson.json", "attend " + D + "deep.json",
      "attend " + D + "empty.txt", "attend " + D, "attend --embeddings " + D + "w2v.txt --ids 0,1",
      "attend --embeddings " + D + "w2v_nan.txt --ids 0", "attend --embeddings " + D + "nonexistent.txt --ids 0",
      "attend --embeddings " + D + "binary.txt --ids 0", "attend --ids 1,2", "attend --heads 0 " + D + "notjson.json",
      "attend --heads -1 " + D + "notjson.json",
      // bench
      "bench --steps 0", "bench --steps -1", "bench --warmup -1", "bench --H 0", "bench --H x", "bench --large --B 0",
      "bench --large --T 1048576 --B 1048576", "bench --device gpu",
      // commands
      "trian", "sweeep", "--bogus", "help-me",
  };
  int crashes = 0, unexpected = 0, multi_line = 0, leftovers = 0;
  for (const std::string& args : bad) {
    CAPTURE(args);
    const auto before = files_under(out);
    const testing::CliRun r = run(args);
    CAPTURE(r.err);
    CAPTURE(r.out);
    const bool crashed = r.code != 1 && r.code != 2;
    crashes += crashed;
    CHECK_FALSE(crashed);
    const bool unexp = r.err.find("unexpected error") != std::string::npos;
    unexpected += unexp;
    CHECK_FALSE(unexp);
    // One error line (a bare command also prints its usage first).
    const std::string last = r.err.substr(r.err.rfind('\n', r.err.size() - 2) + 1);
    const bool one_line = last.rfind("toyformer: error: ", 0) == 0 || last.rfind("toyformer: numerical failure: ", 0) == 0;
    multi_line += !one_line;
    CHECK(one_line);
    // Bad input is refused before any work: one line, nothing on stdout. A numerical failure happens mid-run, after
    // the summary and progress lines: its error is the last line.
    if (r.code == 2 && r.err.find("Usage:") == std::string::npos)
      CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    if (r.code == 2) CHECK(r.out.empty());
    // Nothing new under the output directory, except empty directories an --out made before a numerical failure.
    std::vector<std::string> now = files_under(out), added;
    for (const auto& f : now)
      if (!std::binary_search(before.begin(), before.end(), f) && !fs::is_directory(f)) added.push_back(f);
    leftovers += !added.empty();
    CHECK(added.empty());
  }
  MESSAGE(bad.size() << " hostile inputs: " << crashes << " crashes, " << unexpected << " unexpected errors, "
                     << multi_line << " not one error line, " << leftovers << " left files behind");
}
