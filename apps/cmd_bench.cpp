// `toyformer bench`: microseconds per training step of the toy model (forward + backward + optimizer update), heap
// allocations per step after warm-up, and peak memory; any model variant (train's model flags), and --models M: a
// stack of M models trained together (as sweep trains seeds), per step and per model-step. `--large`: one causal
// attention layer's training step at B=32, T=256, E=512, H=512 (tests/reference/bench_attention.py runs the same step
// in PyTorch for the ratio).
#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/alloc_counter.h"
#include "apps/commands.h"
#include "apps/flag_checks.h"
#include "apps/lib/training/train.h"
#include "apps/training_flags.h"
#include "core/backend.h"
#include "core/error.h"
#include "core/memory.h"
#include "core/rng.h"
#include "cuda/cuda_info.h"
#include "layers/attention.h"
#include "optim/optimizer.h"

namespace toy::app {
namespace {

struct BenchCli {
  std::string hs = "10,20,40";
  int64_t steps = 200000, warmup = 1000;
  std::string device = "cpu";
  bool json = false;
  bool large = false;
  std::string step = "auto";
  bool no_cuda_graph = false;
  int64_t B = 32, T = 256, E = 512, H = 512, heads = 0;
  int64_t models = 1;
  bool step_activations = false;  // a stack writes every activation each step (sweep does not)
  ToyArch arch;  // the toy model's variant (--heads is shared with --large: 0 = one head)
};

// One attention layer's training step: x [B,T,E] -> Q, K, V = x·W [B,T,H] -> causal softmax(Q·Kᵀ/√H)·V [B,T,H]
// (heads > 0: the MultiHeadAttention layer with d_model = H, no bias, with its output projection) -> softmax
// cross-entropy against random targets in [0, H) -> backward -> SGD.
int run_large(const BenchCli& c, Device dev) {
  TOY_CHECK(c.B > 0 && c.T > 0 && c.E > 0 && c.H > 0 && c.heads >= 0, "--large: sizes must be positive");
  {
    // Inputs, Q/K/V and their gradients [B,T,E|H], scores/weights and their gradients [B,T,T] (x a few), weights.
    const double b = static_cast<double>(c.B), t = static_cast<double>(c.T), e = static_cast<double>(c.E),
                 h = static_cast<double>(c.H);
    const double need = 4.0 * (4 * b * t * (e + 4 * h) + 8 * b * t * t + 8 * e * h);
    TOY_CHECK(need <= memory_budget_bytes(), "--large: B={} T={} E={} H={} need about {} of memory; this machine "
              "allows {}", c.B, c.T, c.E, c.H, human_bytes(need), human_bytes(memory_budget_bytes()));
  }
  const int64_t steps = c.steps == 200000 ? 20 : c.steps, warmup = c.warmup == 1000 ? 2 : c.warmup;
  Rng rng(1);
  Var x = Var::constant(init::uniform(Shape{c.B, c.T, c.E}, rng, -1.0f, 1.0f).to(dev), "x");
  Tensor tg = Tensor::empty(Shape{c.B, c.T});
  for (int64_t i = 0; i < tg.numel(); ++i) tg[i] = static_cast<float>(rng.below(static_cast<uint64_t>(c.H)));
  Var targets = Var::constant(tg.to(dev), "targets");
  std::vector<Var> params;
  Var out;
  std::unique_ptr<MultiHeadAttention> mha;
  if (c.heads == 0) {
    auto w = [&](const char* name) {
      params.push_back(Var::param(init::glorot_uniform(Shape{c.E, c.H}, rng).to(dev), name));
      return params.back();
    };
    Var q = matmul(x, w("Wq")), k = matmul(x, w("Wk")), v = matmul(x, w("Wv"));
    Var a = softmax(scale(matmul(q, k, false, true), 1.0f / std::sqrt(static_cast<float>(c.H))), causal_mask(c.T, dev));
    out = matmul(a, v);
  } else {
    MultiHeadAttentionOptions o;
    o.d_model = c.H, o.num_heads = c.heads, o.bias = false, o.causal = true, o.d_in = c.E;
    mha = std::make_unique<MultiHeadAttention>("mha", o, rng);
    mha->to(dev);
    out = (*mha)(x).output;
    params = mha->params();
  }
  Var loss = sparse_ce_logits(out, targets);
  Graph g(loss);
  SGD opt(params, SGDOptions{0.01f});
  auto step = [&] {
    g.forward();
    g.zero_grad();
    g.backward();
    opt.step();
  };
  for (int64_t i = 0; i < warmup; ++i) step();
  backend(dev).synchronize();
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) step();
  const float l = loss.value().item();
  const double ms = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e3 / steps;
  // Multiply-adds of the forward pass (projections, scores, mix); backward ~2x.
  const double fwd = 2.0 * c.B * c.T * (3.0 * c.E * c.H + 2.0 * c.T * c.H + (c.heads ? c.H * c.H : 0.0));
  const double gflops = 3.0 * fwd / (ms * 1e-3) / 1e9;
  if (c.json)
    fmt::print("{}\n", nlohmann::json{{"device", c.device}, {"B", c.B}, {"T", c.T}, {"E", c.E}, {"H", c.H},
                                      {"heads", c.heads}, {"ms_per_step", ms}, {"gflops", gflops}, {"loss", l}}
                           .dump());
  else
    fmt::print("attention layer training step, B={} T={} E={} H={} {}, device {}: {:.3f} ms/step (~{:.1f} GFLOP/s)\n",
               c.B, c.T, c.E, c.H, c.heads ? fmt::format("{} heads", c.heads) : "single head", c.device, ms, gflops);
  return 0;
}

int run_bench(const BenchCli& c) {
  std::vector<int64_t> hs;
  std::stringstream ss(c.hs);
  for (std::string tok; std::getline(ss, tok, ',');) {
    try {
      size_t used = 0;
      hs.push_back(std::stoll(tok, &used));
      TOY_CHECK(used == tok.size() && hs.back() > 0, "--H: '{}' is not a positive integer", tok);
    } catch (const std::logic_error&) {
      fail("--H: '{}' is not a positive integer", tok);
    }
  }
  TOY_CHECK(c.steps > 0 && c.warmup >= 0, "--steps must be positive and --warmup >= 0");
  const Device dev = parse_device(c.device.c_str());
  if (c.large) return run_large(c, dev);
  ToyCorpus corpus = notebook_corpus();
  nlohmann::json results = nlohmann::json::array();
  ToyArch arch = c.arch;
  TOY_CHECK(c.heads >= 0 && c.heads <= 64, "--heads must be in [0, 64] (0 or 1: one head), got {}", c.heads);
  arch.heads = std::max<int64_t>(1, c.heads);
  arch.validate();
  const bool fused = step_is_fused(parse_step_path(c.step), dev, arch);
  const char* path = fused ? "fused step kernel" : "op-by-op graph";
  const bool graphs = dev == Device::CUDA && !c.no_cuda_graph;
  std::vector<uint64_t> seeds;
  for (int64_t i = 1; i <= c.models; ++i) seeds.push_back(static_cast<uint64_t>(i));
  // A stack steps as sweep steps it: the activations are not written mid-run (ToyStepArgs::activations) and the
  // weights stay in the CPU step's SIMD lanes (TrainOptions::weights_in_lanes).
  const bool activations = c.models == 1 || c.step_activations;
  if (!c.json)
    fmt::print("toy model training step (forward + backward + SGD), B=2 T=5 V=E=7, model {}{}, device {}, {}{}\n",
               arch.describe(),
               c.models > 1 ? fmt::format(", {} models trained together{}", c.models,
                                          activations ? ", every activation written each step"
                                                      : " as sweep trains them (activations not written, weights "
                                                        "kept in SIMD lanes mid-run)")
                            : "",
               c.device, path, graphs ? ", replayed as a CUDA graph" : "");
  for (int64_t H : hs) {
    ToyConfig cfg;
    cfg.H = H;
    cfg.device = dev;
    cfg.arch = arch;
    ToyModel m(corpus, cfg, corpus.size(), seeds);
    m.set_step_activations(activations);
    TrainOptions o;
    auto opt = make_toy_optimizer(m, o);
    TrainStep step(m, *opt, fused, !c.no_cuda_graph, !activations);  // a stack's weights in lanes, as sweep's
    const Tensor& loss = m.loss().value();
    std::vector<float> losses(static_cast<size_t>(c.models));
    Backend& bk = backend(dev);
    float l = 0.0f;
    for (int64_t i = 0; i < c.warmup; ++i) step();
    bk.synchronize();
    const int64_t allocs0 = heap_allocations();
    // Steps back to back (the device may queue ahead), then as `train` runs them: each step's loss read back.
    auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < c.steps; ++i) step();
    bk.synchronize();
    auto t1 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < c.steps; ++i) {
      step();
      bk.copy_to_host(losses.data(), loss.data(), losses.size());  // every model's loss, as train_models reads them
    }
    l = losses[0];
    auto t2 = std::chrono::steady_clock::now();
    const int64_t allocs = heap_allocations() - allocs0;
    const double us = std::chrono::duration<double>(t1 - t0).count() * 1e6 / static_cast<double>(c.steps);
    const double us_read = std::chrono::duration<double>(t2 - t1).count() * 1e6 / static_cast<double>(c.steps);
    const double per_model = us_read / static_cast<double>(c.models);
    const int64_t params = m.model().param_count() / c.models;
    if (c.json)
      results.push_back({{"H", H}, {"us_per_step", us}, {"us_per_step_with_loss_read", us_read},
                         {"us_per_model_step", per_model},
                         {"allocs_per_step", static_cast<double>(allocs) / static_cast<double>(2 * c.steps)},
                         {"params", params}, {"loss", l}});
    else if (c.models > 1)
      fmt::print("  H={:<3} params {:<4} {:8.3f} us/step for {} models, {:.3f} us per model-step (loss read back)   "
                 "heap allocations after warm-up: {} in {} steps\n",
                 H, params, us_read, c.models, per_model, allocs, 2 * c.steps);
    else
      fmt::print("  H={:<3} params {:<4} {:8.3f} us/step  {:8.3f} us/step with the loss read back   heap allocations "
                 "after warm-up: {} in {} steps\n",
                 H, params, us, us_read, allocs, 2 * c.steps);
  }
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  const double peak_mb = static_cast<double>(ru.ru_maxrss) / 1024.0;
  const double gpu_peak_mb =
      dev == Device::CUDA ? static_cast<double>(cuda::memory_stats().peak_bytes_in_use) / (1024.0 * 1024.0) : 0.0;
  if (c.json) {
    nlohmann::json j{{"device", c.device}, {"path", path}, {"cuda_graph", graphs}, {"model", arch.describe()},
                     {"models", c.models}, {"step_activations", activations}, {"results", results},
                     {"peak_rss_mb", peak_mb}};
    if (dev == Device::CUDA) j["gpu_peak_mb"] = gpu_peak_mb;
    fmt::print("{}\n", j.dump());
  } else if (dev == Device::CUDA) {
    fmt::print("peak RSS {:.1f} MB, GPU memory in use at peak {:.2f} MB\n", peak_mb, gpu_peak_mb);
  } else {
    fmt::print("peak RSS {:.1f} MB\n", peak_mb);
  }
  return 0;
}

}  // namespace

Runner add_bench(CLI::App& app) {
  auto c = std::make_shared<BenchCli>();
  CLI::App* s = app.add_subcommand("bench", "time training steps of the toy model");
  s->add_option("--H", c->hs, "comma-separated head sizes")->capture_default_str();
  s->add_option("--steps", c->steps, "timed steps per H")->check(int_in(1, kMaxSteps))->capture_default_str();
  s->add_option("--warmup", c->warmup, "untimed steps first")->check(int_in(0, kMaxSteps))->capture_default_str();
  s->add_option("--device", c->device, "cpu | cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  s->add_flag("--json", c->json, "one JSON object on stdout");
  s->add_option("--step", c->step, "auto | fused | graph (see train --step; auto: fused)")
      ->check(CLI::IsMember({"auto", "fused", "graph"}))
      ->capture_default_str();
  s->add_flag("--no-cuda-graph", c->no_cuda_graph, "on CUDA, launch every kernel eagerly instead of replaying a graph");
  s->add_flag("--large", c->large, "time one attention layer at B=32 T=256 E=512 H=512 instead (20 steps)");
  s->add_option("--B", c->B, "--large: batch")->check(int_in(1, 1 << 20))->capture_default_str();
  s->add_option("--T", c->T, "--large: sequence length")->check(int_in(1, 1 << 20))->capture_default_str();
  s->add_option("--E", c->E, "--large: input features")->check(int_in(1, 1 << 20))->capture_default_str();
  s->add_option("--Hl", c->H, "--large: projected size")->check(int_in(1, 1 << 20))->capture_default_str();
  s->add_option("--heads", c->heads, "attention heads: the toy model's (0 or 1: one head; see train --heads); --large: "
                                     "0 = single-head composition, N = MultiHeadAttention with N heads")
      ->check(int_in(0, 64))
      ->capture_default_str();
  add_arch_flags(s, c->arch, /*heads=*/false);
  s->add_option("--models", c->models, "train M models together (seeds 1..M, as sweep stacks them) and report the "
                                       "time per model-step too")
      ->check(int_in(1, 100000))
      ->capture_default_str();
  s->add_flag("--step-activations", c->step_activations, "--models: write every named activation, and the weights, "
                                                         "at every step (as train does; sweep, and bench's default, "
                                                         "do not)");
  return [c] { return run_bench(*c); };
}

}  // namespace toy::app
