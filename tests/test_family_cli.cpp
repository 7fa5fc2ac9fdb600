// The model variants as a user runs them: `train` with the variant flags (run.json, dumps with the variant's names,
// every head's table), the refusals with the flag named, weights saved and loaded back, and a checkpointed variant
// resumed bit for bit.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/npz.h"
#include "layers/toy_model.h"
#include "tests/cli_util.h"

namespace fs = std::filesystem;
using namespace toy;

namespace {

fs::path scratch() { return testing::scratch_dir("famcli"); }
testing::CliRun run(const std::string& args) { return testing::run_cli(args, "famcli"); }

bool same_arrays(const NpzArrays& a, const NpzArrays& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].first != b[i].first || a[i].second.to_vector() != b[i].second.to_vector()) return false;
  return true;
}

}  // namespace

TEST_CASE("family/cli: train a variant, run.json records its options, the dump holds its layers") {
  const fs::path out = scratch() / "heads2";
  const auto r = run("train --heads 2 --H 10 --layers 2 --epochs 60 --out " + out.string());
  REQUIRE(r.code == 0);
  CHECK(r.out.find("L1/AttnWts head 1") != std::string::npos);
  CHECK(r.out.find("Total params: 1,204") != std::string::npos);  // 49 + 35 + 2 x (4 x 7 x 20)
  const nlohmann::json run_json = nlohmann::json::parse(testing::slurp(out / "run.json"));
  CHECK(run_json["config"]["heads"] == 2);
  CHECK(run_json["config"]["layers"] == 2);
  CHECK(run_json["config"]["norm"] == "none");
  const NpzArrays dump = load_npz((out / "activations.npz").string());
  ToyArch a;
  a.heads = 2;
  a.layers = 2;
  for (const auto& name : toy_layer_names(a)) {
    CAPTURE(name);
    CHECK(std::any_of(dump.begin(), dump.end(), [&](const auto& kv) { return kv.first == name; }));
  }
  const NpzArrays w = load_npz((out / "weights.npz").string());
  REQUIRE(w.size() == toy_weight_names(a).size());
  CHECK(w[4].first == "L0/Vmat");
  CHECK(w[4].second.shape() == Shape{7, 2, 10});
}

TEST_CASE("family/cli: the notebook's run.json gains no variant key") {
  const fs::path out = scratch() / "plain";
  REQUIRE(run("train --epochs 20 --quiet --out " + out.string()).code == 0);
  const nlohmann::json j = nlohmann::json::parse(testing::slurp(out / "run.json"));
  for (const char* k : {"heads", "wo", "layers", "ffn", "norm", "pos", "residual", "mask"}) CHECK_FALSE(j["config"].contains(k));
}

TEST_CASE("family/cli: bad variant flags are refused with the flag named, exit 2") {
  auto r = run("train --heads 2 --step fused --epochs 5");
  CHECK(r.code == 2);
  CHECK(r.err.find("--step fused") != std::string::npos);
  r = run("train --heads 0");
  CHECK(r.code == 2);
  CHECK(r.err.find("--heads") != std::string::npos);
  r = run("train --norm batch");
  CHECK(r.code == 2);
  CHECK(r.err.find("--norm") != std::string::npos);
  r = run("train --layers 17");
  CHECK(r.code == 2);
  CHECK(r.err.find("--layers") != std::string::npos);
  // Weights of another variant: the missing array is named with the list the model needs.
  const fs::path w = scratch() / "nb_weights.npz";
  REQUIRE(run("train --epochs 5 --quiet --save-weights " + w.string()).code == 0);
  r = run("train --ffn 4 --epochs 5 --quiet --init-weights " + w.string());
  CHECK(r.code == 2);
  CHECK(r.err.find("no array 'L0/Qmat'") != std::string::npos);
}

TEST_CASE("family/cli: a variant's saved weights reproduce its run, a checkpointed variant resumes bit for bit") {
  const std::string flags = " --heads 2 --H 6 --ffn 8 --norm layer --no-pos --quiet ";
  const fs::path w = scratch() / "v_init.npz", full = scratch() / "v_full.npz", a = scratch() / "v_a.npz",
                 b = scratch() / "v_b.npz", ck = scratch() / "v_ck";
  REQUIRE(run("train" + flags + "--epochs 0 --save-weights " + w.string()).code == 0);
  REQUIRE(run("train" + flags + "--epochs 80 --dump-activations " + a.string()).code == 0);
  REQUIRE(run("train" + flags + "--epochs 80 --init-weights " + w.string() + " --dump-activations " + b.string())
              .code == 0);
  CHECK(same_arrays(load_npz(a.string()), load_npz(b.string())));

  REQUIRE(run("train" + flags + "--epochs 40 --checkpoint-every 20 --checkpoint-dir " + ck.string()).code == 0);
  auto r = run("train --quiet --epochs 80 --resume " + ck.string());  // the variant flags dropped: refused
  CHECK(r.code == 2);
  CHECK(r.err.find("heads was 2, now the default") != std::string::npos);
  r = run("train" + flags + "--epochs 80 --resume " + ck.string() + " --dump-activations " + full.string());
  REQUIRE(r.code == 0);
  CHECK(same_arrays(load_npz(a.string()), load_npz(full.string())));
}
