// The issue-7 features as a user runs them: checkpoints killed with SIGKILL and resumed (bit-identical),
// --dump-grads against finite differences, attention snapshots (dump layout, inspect --epoch, the report's slider)
// and inspect --chain.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <filesystem>
#include <map>
#include <thread>

#include "apps/lib/training/checkpoint.h"
#include "autograd/ops.h"
#include "core/npz.h"
#include "layers/toy_model.h"
#include "tests/cli_util.h"

namespace fs = std::filesystem;
using namespace toy;

namespace {

fs::path scratch() { return testing::scratch_dir("ckcli"); }
testing::CliRun run(const std::string& args) { return testing::run_cli(args, "ckcli"); }
using testing::get;

// `toyformer args...` in the background, output discarded.
pid_t spawn(const std::vector<std::string>& args) {
  pid_t pid = fork();
  if (pid == 0) {
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    std::vector<char*> argv{const_cast<char*>(TOY_TOYFORMER_BIN)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(TOY_TOYFORMER_BIN, argv.data());
    _exit(127);
  }
  return pid;
}

std::map<std::string, std::vector<float>> arrays(const fs::path& p) {
  std::map<std::string, std::vector<float>> out;
  for (auto& [k, t] : load_npz(p.string())) out[k] = t.to_vector();
  return out;
}

// Same keys, same bits.
void check_identical(const fs::path& a, const fs::path& b) {
  auto x = arrays(a), y = arrays(b);
  REQUIRE(x.size() == y.size());
  for (const auto& kv : x) {
    const std::string& k = kv.first;  // not a structured binding: clang 14 cannot capture one in INFO's lambda
    const std::vector<float>& v = kv.second;
    INFO("array ", k);
    REQUIRE(y.count(k));
    REQUIRE(v.size() == y[k].size());
    CHECK(std::memcmp(v.data(), y[k].data(), v.size() * sizeof(float)) == 0);
  }
}

}  // namespace

TEST_CASE("checkpoint/cli: SIGKILL mid-training then --resume is bit-identical to an uninterrupted run") {
  const fs::path d = scratch();
  int64_t epochs = 100000;
  bool killed = false;
  fs::path dir;
  pid_t pid = 0;
  for (int attempt = 0; attempt < 4 && !killed; ++attempt, epochs *= 4) {
    dir = d / fmt::format("kill{}", attempt);
    const int64_t every = epochs / 50;
    pid = spawn({"train", "--quiet", "--seed", "3", "--epochs", std::to_string(epochs), "--checkpoint-every",
                 std::to_string(every), "--checkpoint-dir", dir.string()});
    REQUIRE(pid > 0);
    int64_t first = -1;
    int status = 0;
    for (;;) {
      if (waitpid(pid, &status, WNOHANG) == pid) break;  // finished before the kill: retry, longer
      const fs::path ck = dir / "checkpoint.npz";
      if (fs::exists(ck)) {
        int64_t e = load_checkpoint(ck.string()).epoch;  // a rename is atomic: always a whole file
        if (first < 0) first = e;
        if (e > first) {
          kill(pid, SIGKILL);
          waitpid(pid, &status, 0);
          killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
          break;
        }
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  }
  REQUIRE(killed);
  epochs /= 4;  // the loop multiplied once more on the way out
  // Only the checkpoint, run.json, and at most the killed process's own temporary file (a write it was in).
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    INFO(name);
    CHECK((name == "checkpoint.npz" || name == "run.json" ||
           name.find(".tmp." + std::to_string(pid)) != std::string::npos));
  }
  TrainCheckpoint ck = load_checkpoint((dir / "checkpoint.npz").string());
  CHECK(ck.epoch > 0);
  CHECK(ck.epoch < epochs);
  CHECK(ck.epoch % (epochs / 50) == 0);

  const std::string common = fmt::format("train --quiet --seed 3 --epochs {} ", epochs);
  testing::CliRun r = run(common + "--resume " + dir.string() + " --save-weights " + (d / "rw.npz").string() +
                          " --dump-activations " + (d / "ra.npz").string());
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find(fmt::format("resumed from epoch {} of", ck.epoch)) != std::string::npos);
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    CHECK((name == "checkpoint.npz" || name == "run.json"));
  }
  CHECK(load_checkpoint((dir / "checkpoint.npz").string()).epoch == epochs);

  r = run(common + "--save-weights " + (d / "uw.npz").string() + " --dump-activations " + (d / "ua.npz").string());
  REQUIRE_MESSAGE(r.code == 0, r.err);
  check_identical(d / "uw.npz", d / "rw.npz");
  check_identical(d / "ua.npz", d / "ra.npz");  // every layer, loss and lr of every epoch
}

TEST_CASE("checkpoint/cli: --resume refuses other settings, --checkpoint-dir refuses a used directory") {
  const fs::path d = scratch(), dir = d / "settings";
  testing::CliRun r = run("train --quiet --epochs 30 --checkpoint-every 10 --checkpoint-dir " + dir.string());
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(fs::exists(dir / "run.json"));
  r = run("train --quiet --epochs 40 --H 10 --resume " + dir.string());
  CHECK(r.code == 2);
  CHECK(r.err.find("H was 20, now 10") != std::string::npos);
  r = run("train --quiet --epochs 40 --checkpoint-every 10 --checkpoint-dir " + dir.string());
  CHECK(r.code == 2);
  CHECK(r.err.find("already holds a checkpoint") != std::string::npos);
  r = run("train --quiet --epochs 20 --resume " + dir.string());
  CHECK(r.code == 2);
  r = run("train --quiet --epochs 40 --resume " + dir.string());
  CHECK_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("resumed from epoch 30 of") != std::string::npos);
  r = run("train --quiet --checkpoint-every 10");
  CHECK(r.code == 2);
}

TEST_CASE("grads/dump: grad/param and grad/<layer> agree with finite differences") {
  const fs::path d = scratch();
  testing::CliRun r = run("train --quiet --seed 2 --epochs 40 --save-weights " + (d / "gw.npz").string() +
                          " --dump-grads --dump-activations " + (d / "ga.npz").string());
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const NpzArrays dump = load_npz((d / "ga.npz").string());
  for (const auto& [k, t] : dump) CHECK(k.find("grad/Xseqids") == std::string::npos);
  for (float x : get(dump, "grad/activation").to_vector()) CHECK(x == 0.0f);  // the keras loss reads skipadd

  // Parameters: perturb one weight entry, recompute the loss of the whole corpus.
  const ToyCorpus corpus = notebook_corpus();
  ToyConfig cfg;
  cfg.seed = 2;
  ToyModel m(corpus, cfg, corpus.size());
  NpzArrays w = load_npz((d / "gw.npz").string());
  m.set_weights(w);
  CHECK(m.loss().value().item() == doctest::Approx(get(dump, "loss").to_vector().back()).epsilon(0.05));
  const double eps = 1e-2;
  auto loss_at = [&](const std::string& name, int64_t i, double delta) {
    NpzArrays p;
    for (const auto& [k, t] : w) {
      Tensor c = t.to(Device::CPU);
      Tensor copy = Tensor::from(c.shape(), c.to_vector());
      if (k == name) copy[i] = static_cast<float>(static_cast<double>(copy[i]) + delta);
      p.push_back({k, copy});
    }
    m.set_weights(p);  // runs the forward pass
    return static_cast<double>(m.loss().value().item());
  };
  for (const std::string name : {"XEmbed", "PosEmbed", "Qmat", "Kmat", "Vmat"}) {
    std::vector<float> g = get(dump, "grad/param/" + name).to_vector();
    const int64_t n = static_cast<int64_t>(g.size());
    for (int64_t i : {int64_t{0}, n / 3, (2 * n) / 3 + 1, n - 1}) {
      const double fd = (loss_at(name, i, eps) - loss_at(name, i, -eps)) / (2 * eps);
      INFO(name, "[", i, "] fd ", fd, " dumped ", g[static_cast<size_t>(i)]);
      CHECK(std::fabs(fd - g[static_cast<size_t>(i)]) <= 1e-3 + 5e-2 * std::fabs(fd));
    }
  }

  // Layers: the computation downstream of AttnWts / skipadd, rebuilt with ops from the dumped values.
  const Tensor A = get(dump, "AttnWts"), Vm = get(dump, "Vmat"), X = get(dump, "XwithPos"), Z = get(dump, "skipadd");
  Tensor tg = Tensor::zeros(Shape{corpus.size(), corpus.seq_len()});
  for (int64_t s = 0; s < corpus.size(); ++s)
    for (int64_t t = 0; t < corpus.seq_len(); ++t) tg[s * corpus.seq_len() + t] = static_cast<float>(corpus.target(s, t));
  const Var targets = Var::constant(tg);
  auto perturbed = [](const Tensor& t, int64_t i, double delta) {
    Tensor c = Tensor::from(t.shape(), t.to_vector());
    c[i] = static_cast<float>(static_cast<double>(c[i]) + delta);
    return Var::constant(c);
  };
  auto from_attn = [&](int64_t i, double delta) {
    return static_cast<double>(
        sparse_ce_logits(add(matmul(perturbed(A, i, delta), Var::constant(Vm)), Var::constant(X)), targets).value().item());
  };
  auto from_skipadd = [&](int64_t i, double delta) {
    return static_cast<double>(sparse_ce_logits(perturbed(Z, i, delta), targets).value().item());
  };
  CHECK(from_attn(0, 0) == doctest::Approx(from_skipadd(0, 0)).epsilon(1e-5));
  struct LayerCase {
    std::string name;
    std::function<double(int64_t, double)> f;
  };
  for (const LayerCase& lc : {LayerCase{"AttnWts", from_attn}, LayerCase{"skipadd", from_skipadd}}) {
    std::vector<float> g = get(dump, "grad/" + lc.name).to_vector();
    const int64_t n = static_cast<int64_t>(g.size());
    for (int64_t i : {int64_t{0}, int64_t{6}, n / 2, n - 2}) {
      const double fd = (lc.f(i, eps) - lc.f(i, -eps)) / (2 * eps);
      INFO(lc.name, "[", i, "] fd ", fd, " dumped ", g[static_cast<size_t>(i)]);
      CHECK(std::fabs(fd - g[static_cast<size_t>(i)]) <= 1e-4 + 2e-2 * std::fabs(fd));
    }
  }
}

TEST_CASE("snapshots/cli: layout, the epochs they show, inspect --epoch and the report's slider") {
  const fs::path d = scratch();
  const std::string base = "train --quiet --seed 4 ";
  testing::CliRun r = run(base + "--epochs 120 --snapshot-every 50 --snapshot-layers AttnWts,activation "
                                 "--dump-activations " + (d / "s.npz").string() + " --report " + (d / "s.html").string());
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const NpzArrays s = load_npz((d / "s.npz").string());
  CHECK(get(s, "epochs").to_vector() == std::vector<float>{1, 50, 100, 120});
  CHECK(get(s, "AttnWts@epochs").shape() == (Shape{4, 2, 5, 5}));
  CHECK(get(s, "activation@epochs").shape() == (Shape{4, 2, 5, 7}));
  // Snapshot k = the forward pass of epoch k = the weights after k - 1 updates.
  for (int64_t k : {1, 120}) {
    const fs::path p = d / fmt::format("e{}.npz", k - 1);
    r = run(base + fmt::format("--epochs {} --dump-activations {}", k - 1, p.string()));
    REQUIRE(r.code == 0);
    std::vector<float> want = load_npz_array(p.string(), "AttnWts").to_vector(),
                       all = get(s, "AttnWts@epochs").to_vector();
    const size_t off = (k == 1 ? 0 : 3) * want.size();
    CHECK(std::vector<float>(all.begin() + static_cast<std::ptrdiff_t>(off),
                             all.begin() + static_cast<std::ptrdiff_t>(off + want.size())) == want);
  }
  r = run(base + "--epochs 10 --snapshot-every 5 --snapshot-layers AttnWts,Bogus --dump-activations " +
          (d / "x.npz").string());
  CHECK(r.code == 2);
  CHECK(r.err.find("unknown layer 'Bogus'") != std::string::npos);

  r = run("inspect " + (d / "s.npz").string() + " --layer AttnWts --epoch 50 --seq 1");
  CHECK_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("AttnWts at epoch 50") != std::string::npos);
  CHECK(r.out.find("1 woman") != std::string::npos);
  r = run("inspect " + (d / "s.npz").string() + " --layer AttnWts --epoch 51");
  CHECK(r.code == 2);
  CHECK(r.err.find("recorded epochs: 1, 50, 100, 120") != std::string::npos);

  const std::string html = testing::slurp(d / "s.html");
  CHECK(html.find("id=\"snap-slider\"") != std::string::npos);
  CHECK(html.find("type=\"range\"") != std::string::npos);
  CHECK(html.find("<script>") != std::string::npos);
  CHECK(html.find("sequence 1, epoch 120") != std::string::npos);  // the small multiples
  CHECK(html.find("http") == std::string::npos);
  CHECK(html.find("src=") == std::string::npos);
  CHECK(html.find("The attention chain") != std::string::npos);
}

TEST_CASE("inspect/chain: every stage with token labels") {
  const fs::path d = scratch();
  testing::CliRun r = run("train --quiet --epochs 20 --dump-activations " + (d / "c.npz").string());
  REQUIRE(r.code == 0);
  r = run("inspect " + (d / "c.npz").string() + " --chain --seq 1");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  for (const char* want : {"dot (raw scores)", "lambda (scaled scores)", "mask adder", "-1e9", "AttnWts (softmax",
                           "Voutput (value mix)", "skipadd (residual sum)", "activation (prediction)", "1 woman",
                           "3 the", "beef", "chkn"})
    CHECK_MESSAGE(r.out.find(want) != std::string::npos, want);
  r = run("inspect " + (d / "c.npz").string() + " --chain --seq 5");
  CHECK(r.code == 2);
}

TEST_CASE("checkpoint/cli: --resume refuses an incomplete checkpoint with one line and exit code 2") {
  const fs::path d = scratch(), dir = d / "damaged";
  testing::CliRun r = run("train --quiet --epochs 30 --checkpoint-every 10 --checkpoint-dir " + dir.string());
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const std::string ck = (dir / "checkpoint.npz").string();
  NpzInt64Arrays ints;
  NpzArrays floats = load_npz(ck, &ints);
  std::erase_if(floats, [](const auto& p) { return p.first == "weights/Qmat"; });
  save_npz(ck, floats, ints);
  r = run("train --quiet --epochs 40 --resume " + dir.string());
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(r.err == "toyformer: error: checkpoint " + ck +
                     ": missing 'weights/Qmat' (not a toyformer checkpoint, or an incomplete one)\n");
}
