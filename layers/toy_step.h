// The toy attention model's fused training step (forward, loss, backward) for M stacked models, written once for
// both devices: the CPU runs it on one thread (layers/toy_step.cpp), the CUDA kernel (layers/toy_step.cu) on one
// block per model. It belongs to the toy model, not to the engine: core/ and the Backend interface know no model.
// A step of the op-by-op graph is ~50 kernel launches of a few hundred flops each; on a GPU their launch latency,
// not their arithmetic, is the cost, so the fused step does all of them in one launch. It computes exactly what the
// graph computes (layers/toy_model.cpp), writing every named activation to the layer's own tensor, so inspection
// sees the same values whichever path ran.
//
// Summation orders mirror the CPU backend's kernels for products below its direct-loop limit (core/cpu: a sequential
// sum from 0, or four partial sums when the right operand is transposed), so on the CPU the fused step is
// bit-identical to the graph at the notebook's sizes (tests/test_toy_step.cpp); on a GPU nvcc contracts a*b+c to
// FMAs, which moves the last bits (within the parity tolerance).
//
// Parallel structure: the step is a sequence of phases separated by barriers. `run(f)` calls f(tid, threads) for
// every thread of the team and then waits for all of them (__syncthreads on the GPU). Inside a phase each output
// element belongs to exactly one thread and reads only what earlier phases wrote, so the result cannot depend on
// the number of threads or their order (a test runs the phases with 1..128 simulated threads in both orders).
// Plain C++17 (included from .cu files).
#pragma once
#include <cstdint>

#include "core/device.h"
#include "core/scalar_ops.h"

namespace toy {

// The arguments of the step for M stacked models. Shapes per model (activations of model m are rows
// [m*B, (m+1)*B)): ids, targets [B,T]; xembed [V,E] (E == V), posembed [T,E], wq, wk [E,H], wv [E,V]; every activation pointer is
// the named layer's output ([B,T,E|H|T|V]); grads are overwritten (not accumulated); loss [M]; scratch holds
// toystep::scratch_per_model(B,T,V,H) floats per model.
struct ToyStepArgs {
  int64_t models = 1, B = 0, T = 0, V = 0, H = 0;
  bool normalized_loss = false;  // false: Keras' softmax CE on skipadd; true: the clip-and-normalize path on p
  // false: the step need not write the named activations (xe .. p), only the loss and the gradients; the CPU's
  // stacked models (eight per SIMD lane group) then skip moving them out of their lanes, an eighth of that step, and
  // the CPU skips the sigmoid p (unless normalized_loss reads it), a tenth. A model stepped alone writes the others
  // regardless, the GPU all of them. Training loops that read no activation mid-run (sweep) set it; the activations
  // not written are left as the step found them.
  bool activations = true;
  float scale = 1.0f;            // 1/sqrt(H), as the model's Lambda layer
  // Plain SGD inside the step (the CPU only): with sgd_lr ([models] learning rates, read at every step) set, model m's
  // weights take w -= g * sgd_lr[m] once its gradients are done: Optimizer SGD's update without momentum, the same
  // operations, so the same bits as the step followed by SGD::step, without the separate pass over the weights.
  const float* sgd_lr = nullptr;
  // With sgd_lr, a stack's groups of eight models may keep their weights lane-major between steps in lane_weights
  // (toy_lane_weights_floats(a) floats, ToyModel's): reading them into the lanes and the gradients out was a sixth
  // of the stacked step. lane_weights_current: the buffer holds the weights (the caller sets it after a step). Those
  // models' weight tensors are then stale until toy_lane_weights_out, and their gradients are not written.
  float* lane_weights = nullptr;
  bool lane_weights_current = false;
  const float *ids = nullptr, *targets = nullptr;
  float *xembed = nullptr, *posembed = nullptr, *wq = nullptr, *wk = nullptr, *wv = nullptr;  // written by sgd_lr only
  float *xe = nullptr, *pe = nullptr, *x = nullptr, *q = nullptr, *k = nullptr, *dot = nullptr, *lam = nullptr,
        *attn = nullptr, *vm = nullptr, *vo = nullptr, *z = nullptr, *p = nullptr, *loss = nullptr;
  float *d_xembed = nullptr, *d_posembed = nullptr, *d_wq = nullptr, *d_wk = nullptr, *d_wv = nullptr;
  float* scratch = nullptr;
};

// Run the step for every model of `a` on `device`'s backend (the CUDA stream on a GPU; a build without CUDA
// throws for Device::CUDA).
void run_toy_step(Device device, const ToyStepArgs& a);
// The CUDA launcher (layers/toy_step.cu, in the CUDA module): one block per model on the CUDA backend's stream.
void run_toy_step_cuda(const ToyStepArgs& a);
// The CPU step (layers/toy_step_cpu.cpp): model_step's arithmetic with its loops turned to vectorize across
// outputs, bit-identical to run_toy_step_reference. It runs the copy for the CPU's best instruction set (AVX2 where
// the CPU has it), or with baseline = true the x86-64 baseline's (SSE2) copy, which the tests check on any CPU.
void run_toy_step_cpu(const ToyStepArgs& a, bool baseline = false);
// model_step below run on one thread, phase after phase: the reference for the CPU step's tests (with sgd_lr, each
// model's SGD update after its step; lane_weights is not for the reference).
void run_toy_step_reference(const ToyStepArgs& a);
// The lane-major weight buffer of a's stack (ToyStepArgs::lane_weights): floats to allocate (with room to align it).
int64_t toy_lane_weights_floats(const ToyStepArgs& a);
// Write the weights held lane-major (a.lane_weights_current) back to the models' weight tensors.
void toy_lane_weights_out(const ToyStepArgs& a);

namespace toystep {

// Scratch floats per model: dz, dvm [B*T,V], dd [B*T,T], dq, dk [B*T,H], dx [B*T,E], one loss term per row.
TOY_HD int64_t scratch_per_model(int64_t B, int64_t T, int64_t V, int64_t H) {
  return B * T * (2 * V + T + 2 * H + V + 1);
}

// sum_p a[p*sa] b[p*sb], p = 0..k-1 in order, from 0: the CPU's direct product without a transposed right operand.
TOY_HD float dot_seq(const float* a, int sa, const float* b, int sb, int k) {
  float s = 0.0f;
  for (int p = 0; p < k; ++p) s += a[p * sa] * b[p * sb];
  return s;
}
// Row r = (sequence b, query i) of dot, lambda and AttnWts: q_r against the keys kb[0..T) of its sequence, Keras'
// causal mask adder, then the softmax. Shared by model_step and the CPU step (the same operations in the same order).
TOY_HD void attention_row(const float* qr, const float* kb, int H, int T, int i, float scale, float* dot, float* lam,
                          float* attn) {
  float mx = -INFINITY;
  for (int j = 0; j < T; ++j) {
    const float d = scalar::dot4(qr, kb + j * H, H);
    dot[j] = d;
    lam[j] = d * scale;
    const float v = lam[j] + scalar::mask_adder(j <= i ? 1.0f : 0.0f);
    attn[j] = v;
    mx = v > mx ? v : mx;
  }
  float sum = 0.0f;
  for (int j = 0; j < T; ++j) {
    attn[j] = expf(attn[j] - mx);
    sum += attn[j];
  }
  const float inv = 1.0f / sum;
  for (int j = 0; j < T; ++j) attn[j] *= inv;
}

// A row's loss term (returned) and d loss / d skipadd into dzr [V]: softmax cross-entropy on the logits zr (TF's
// sparse_xent kernel), or Keras' clip-and-normalize on pr = sigmoid(zr) and back through the sigmoid. seed = d loss /
// d row term.
TOY_HD float loss_row(const float* zr, const float* pr, int y, int V, float seed, bool normalized, float* dzr) {
  if (!normalized) {
    float mx = zr[0];
    for (int j = 1; j < V; ++j) mx = zr[j] > mx ? zr[j] : mx;
    float sum = 0.0f;
    for (int j = 0; j < V; ++j) sum += expf(zr[j] - mx);
    for (int j = 0; j < V; ++j) dzr[j] = 0.0f + seed * (expf(zr[j] - mx) / sum - (j == y ? 1.0f : 0.0f));
    return logf(sum) - (zr[y] - mx);
  }
  float sum = 0.0f;
  for (int j = 0; j < V; ++j) sum += scalar::clip_prob(pr[j]);
  for (int j = 0; j < V; ++j) {
    float dp = 0.0f;
    if (scalar::clip_passes(pr[j])) dp += seed * (1.0f / sum - (j == y ? 1.0f / scalar::clip_prob(pr[j]) : 0.0f));
    dzr[j] = 0.0f + scalar::sigmoid_grad(pr[j], dp);
  }
  return logf(sum) - logf(scalar::clip_prob(pr[y]));
}

// d AttnWts -> d lambda -> d dot of one row, in place on dr [T]: the softmax backward, then the 1/sqrt(H) scale.
TOY_HD void attention_row_backward(float* dr, const float* yr, int T, float scale) {
  float sdy = 0.0f;
  for (int j = 0; j < T; ++j) sdy += dr[j] * yr[j];
  for (int j = 0; j < T; ++j) {
    const float ds = 0.0f + (dr[j] - sdy) * yr[j];
    dr[j] = 0.0f + ds * scale;
  }
}

// Model m's step. Shapes (per model, n = B*T rows, E == V): x [n,E], q, k [n,H], dot, lam, attn [n,T] (row b*T+i
// holds query i of sequence b), vm, vo, z, p [n,V].
template <class Run>
TOY_HD void model_step(const ToyStepArgs& a, int m, Run&& run) {
  const int B = static_cast<int>(a.B), T = static_cast<int>(a.T), V = static_cast<int>(a.V), E = V;
  const int H = static_cast<int>(a.H), n = B * T;
  const float* ids = a.ids + m * n;
  const float* tg = a.targets + m * n;
  const float* XE = a.xembed + m * V * E;
  const float* PE = a.posembed + m * T * E;
  const float* Wq = a.wq + m * E * H;
  const float* Wk = a.wk + m * E * H;
  const float* Wv = a.wv + m * E * V;
  float *xe = a.xe + m * n * E, *pe = a.pe + m * n * E, *x = a.x + m * n * E;
  float *q = a.q + m * n * H, *k = a.k + m * n * H;
  float *dot = a.dot + m * n * T, *lam = a.lam + m * n * T, *attn = a.attn + m * n * T;
  float *vm = a.vm + m * n * V, *vo = a.vo + m * n * V, *z = a.z + m * n * V, *p = a.p + m * n * V;
  float *dXE = a.d_xembed + m * V * E, *dPE = a.d_posembed + m * T * E;
  float *dWq = a.d_wq + m * E * H, *dWk = a.d_wk + m * E * H, *dWv = a.d_wv + m * E * V;
  float* s = a.scratch + m * scratch_per_model(a.B, a.T, a.V, a.H);
  float *dz = s, *dvm = dz + n * V, *dd = dvm + n * V, *dq = dd + n * T, *dk = dq + n * H, *dx = dk + n * H;
  float* row_loss = dx + n * E;
  const float divisor = static_cast<float>(n), seed = 1.0f / divisor;  // d loss / d row term
  const float scale = a.scale;
  const bool normalized = a.normalized_loss;

  // 1. XEmbed, PosEmbed, XwithPos [n,E].
  run([&](int tid, int nt) {
    for (int i = tid; i < n * E; i += nt) {
      const int r = i / E, e = i % E;
      xe[i] = XE[static_cast<int>(ids[r]) * E + e];
      pe[i] = PE[(r % T) * E + e];
      x[i] = xe[i] + pe[i];
    }
  });
  // 2. Qmat, Kmat [n,H] and Vmat [n,V]: x · W.
  run([&](int tid, int nt) {
    for (int i = tid; i < n * (2 * H + V); i += nt) {
      if (i < n * H) {
        q[i] = dot_seq(x + (i / H) * E, 1, Wq + i % H, H, E);
      } else if (i < 2 * n * H) {
        const int j = i - n * H;
        k[j] = dot_seq(x + (j / H) * E, 1, Wk + j % H, H, E);
      } else {
        const int j = i - 2 * n * H;
        vm[j] = dot_seq(x + (j / V) * E, 1, Wv + j % V, V, E);
      }
    }
  });
  // 3. dot = q kᵀ, lambda = dot / sqrt(H), AttnWts = causal softmax (Keras' mask adder; a row per thread).
  run([&](int tid, int nt) {
    for (int r = tid; r < n; r += nt)
      attention_row(q + r * H, k + (r / T) * T * H, H, T, r % T, scale, dot + r * T, lam + r * T, attn + r * T);
  });
  // 4. Voutput = AttnWts · Vmat, skipadd = Voutput + XwithPos, activation = sigmoid(skipadd) [n,V].
  run([&](int tid, int nt) {
    for (int i = tid; i < n * V; i += nt) {
      const int r = i / V, v = i % V, b = r / T;
      vo[i] = dot_seq(attn + r * T, 1, vm + b * T * V + v, V, T);
      z[i] = vo[i] + x[r * E + v];
      p[i] = scalar::sigmoid(z[i]);
    }
  });
  // 5. Each row's loss term and d loss / d skipadd (a row per thread); the residual's gradient starts dx.
  run([&](int tid, int nt) {
    for (int r = tid; r < n; r += nt) {
      float* dzr = dz + r * V;
      row_loss[r] = loss_row(z + r * V, p + r * V, static_cast<int>(tg[r]), V, seed, normalized, dzr);
      for (int e = 0; e < E; ++e) dx[r * E + e] = 0.0f + dzr[e];
    }
  });
  // 6. The loss (rows summed in order); d Vmat = AttnWtsᵀ · dz and d AttnWts = dz · Vmatᵀ per sequence.
  run([&](int tid, int nt) {
    if (tid == 0) {
      float total = 0.0f;
      for (int r = 0; r < n; ++r) total += row_loss[r];
      a.loss[m] = total / divisor;
    }
    for (int i = tid; i < n * (V + T); i += nt) {
      if (i < n * V) {  // dvm[b*T+j, v] = sum_i attn[b*T+i, j] dz[b*T+i, v]
        const int r = i / V, v = i % V, b = r / T, j = r % T;
        dvm[i] = dot_seq(attn + b * T * T + j, T, dz + b * T * V + v, V, T);
      } else {  // dd[r, j] = dz[r,:] · vm[b*T+j,:]
        const int c = i - n * V, r = c / T, j = c % T, b = r / T;
        dd[c] = 0.0f + scalar::dot4(dz + r * V, vm + (b * T + j) * V, V);
      }
    }
  });
  // 7. Softmax backward then the 1/sqrt(H) scale (in place on dd, a row per thread); dx += dvm · Wvᵀ; d Wv = xᵀ dvm.
  run([&](int tid, int nt) {
    for (int i = tid; i < n + n * E + E * V; i += nt) {
      if (i < n) {
        attention_row_backward(dd + i * T, attn + i * T, T, scale);
      } else if (i < n + n * E) {
        const int c = i - n, r = c / E, e = c % E;
        dx[c] = dx[c] + scalar::dot4(dvm + r * V, Wv + e * V, V);
      } else {
        const int c = i - n - n * E;
        dWv[c] = dot_seq(x + c / V, E, dvm + c % V, V, n);
      }
    }
  });
  // 8. d Qmat = dd · k and d Kmat = ddᵀ · q per sequence.
  run([&](int tid, int nt) {
    for (int i = tid; i < 2 * n * H; i += nt) {
      const int c = i % (n * H), r = c / H, h = c % H, b = r / T, j = r % T;
      if (i < n * H)
        dq[c] = dot_seq(dd + r * T, 1, k + b * T * H + h, H, T);
      else
        dk[c] = dot_seq(dd + b * T * T + j, T, q + b * T * H + h, H, T);
    }
  });
  // 9. dx += dk · Wkᵀ, then dx += dq · Wqᵀ (the graph's order); d Wk = xᵀ dk, d Wq = xᵀ dq.
  run([&](int tid, int nt) {
    for (int i = tid; i < n * E + 2 * E * H; i += nt) {
      if (i < n * E) {
        const int r = i / E, e = i % E;
        dx[i] = dx[i] + scalar::dot4(dk + r * H, Wk + e * H, H);
        dx[i] = dx[i] + scalar::dot4(dq + r * H, Wq + e * H, H);
      } else if (i < n * E + E * H) {
        const int c = i - n * E;
        dWk[c] = dot_seq(x + c / H, E, dk + c % H, H, n);
      } else {
        const int c = i - n * E - E * H;
        dWq[c] = dot_seq(x + c / H, E, dq + c % H, H, n);
      }
    }
  });
  // 10. Embedding gradients: every table row sums its occurrences' dx in row order (no atomics).
  run([&](int tid, int nt) {
    for (int i = tid; i < (V + T) * E; i += nt) {
      float acc = 0.0f;
      if (i < V * E) {
        const int v = i / E, e = i % E;
        for (int r = 0; r < n; ++r)
          if (static_cast<int>(ids[r]) == v) acc += dx[r * E + e];
        dXE[i] = acc;
      } else {
        const int c = i - V * E, t = c / E, e = c % E;
        for (int b = 0; b < B; ++b) acc += dx[(b * T + t) * E + e];
        dPE[c] = acc;
      }
    }
  });
}

// ToyStepArgs::sgd_lr's update of model m, after its step: w -= g * lr for each of its weights, the operations of
// SGD::update without momentum (core/cpu's sgd_update), so the same bits.
inline void sgd_model(const ToyStepArgs& a, int64_t m) {
  const int64_t V = a.V, E = V, T = a.T, H = a.H;
  const float lr = a.sgd_lr[m];
  float* const w[] = {a.xembed + m * V * E, a.posembed + m * T * E, a.wq + m * E * H, a.wk + m * E * H,
                      a.wv + m * E * V};
  const float* const g[] = {a.d_xembed + m * V * E, a.d_posembed + m * T * E, a.d_wq + m * E * H,
                            a.d_wk + m * E * H, a.d_wv + m * E * V};
  const int64_t size[] = {V * E, T * E, E * H, E * H, E * V};
  for (int i = 0; i < 5; ++i)
    for (int64_t j = 0; j < size[i]; ++j) w[i][j] -= g[i][j] * lr;
}

}  // namespace toystep
}  // namespace toy
