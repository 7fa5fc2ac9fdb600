// The differentiable ops. Each is one free function in autograd/ops/<op>.cpp that checks its inputs (errors name the
// op and the shapes), runs the forward kernel and attaches a backward closure that ACCUMULATES (+=) into its
// inputs' gradients.
//
// Adding an op — one checklist, every item named after the op (8 places):
//   1. core/backend.h             <op>_forward / <op>_backward pure virtuals (kernels trust their sizes)
//   2. core/scalar_ops.h          the scalar math, shared by CPU and CUDA
//   3. core/cpu/cpu_backend.cpp   the CPU kernel, shapes in its first comment
//   4. cuda/cuda_backend.h        the two `override` declarations; compiler-enforced in a CUDA build (without them
//                                 CudaBackend stays abstract; a member of item 5 not declared here is an error)
//   5. cuda/kernels_<op>.cu       <op>_forward_kernel + the CudaBackend member that launches it on cuda::stream(),
//                                 checked after launch
//   6. autograd/ops.h             this header: the declaration, shapes and formula in its comment
//   7. autograd/ops/<op>.cpp      check shapes -> forward kernel -> backward closure (+=)
//   8. autograd/op_cases.cpp      a naive reference + one entry per variant (name "<op>/<variant>", inputs, default
//                                 shapes, sizes 1/33/1025, generator, tolerances, skips). That one entry is the op's
//                                 forward-vs-reference test with NaN-filled outputs, gradient check, accumulation
//                                 check, CPU-vs-CUDA parity and its `toyformer gradcheck` entry; "op/registry" fails
//                                 while an op declared here has no case.
// Optional: a direct kernel test in tests/test_parity.cpp for arguments the op never passes.
// First ask whether the op is a composite of existing ones (residual = add, scaled scores = scale).
#pragma once
#include "autograd/var.h"

namespace toy {

// Embedding lookup. ids: any shape [...] of integer ids in [0, V) stored as floats (a constant);
// table: [V, E]. Returns [..., E]: out[i] = table[ids[i]]. Backward scatter-adds rows of d out into d table, in a
// fixed order; the row `padding_idx` (if >= 0) gets no gradient (keep it zero to make it a padding row).
Var embedding(const Var& ids, const Var& table, int64_t padding_idx = -1);

// a + b. Shapes equal, or one's shape is a suffix of the other's (broadcast over the leading axes), e.g.
// [B,T,E] + [T,E], or equal but for 1s on one run of axes (broadcast over those), e.g. [M,R,F] + [M,1,F] (a bias
// per stacked model). The result has the larger shape; the smaller input's gradient sums over the broadcast axes,
// in order.
Var add(const Var& a, const Var& b);

// x * c for a constant c. Same shape.
Var scale(const Var& x, float c);

// Matrix product of the last two axes, op(a) · op(b) with op = transpose when the flag is set (no copies).
//   [B,T,E] x [E,H]      -> [B,T,H]   (a 2-D right operand is shared by every batch item)
//   [B,T,H] x [B,T,H]ᵀ   -> [B,T,T]   (trans_b)
//   [B,T,T] x [B,T,V]    -> [B,T,V]
//   [M,K] x [K,N]        -> [M,N]
// Leading (batch) axes must be equal, or one operand is 2-D.
Var matmul(const Var& a, const Var& b, bool trans_a = false, bool trans_b = false);

// Softmax over the last axis. mask (optional, undefined = none): 0/1 values whose shape equals the trailing axes of
// x (e.g. a [T,T] causal mask for x [B,T,T], or a full [B,Tq,Tk] mask for per-sequence key padding), applied the
// Keras way: x + (1 - mask) * -1e9 before the softmax. Masked entries get weight 0 and zero gradient.
// Fully masked rows (every key masked, e.g. a query attending to an all-padding sequence): the weights of that row
// are all 0 (not the uniform row the -1e9 adder alone gives, and never NaN), and its gradient is 0. The row then
// contributes nothing to weights · V; its sum is 0, not 1.
Var softmax(const Var& x, const Tensor& mask = Tensor());

// Column block of the last axis: x [..., N] -> [..., len], y[..., j] = x[..., start + j] (0 <= start,
// start + len <= N). Multi-head attention's head i is slice_last(q, i * d_head, d_head).
Var slice_last(const Var& x, int64_t start, int64_t len);

// Concatenation along the last axis: inputs [..., N_i] with equal leading axes -> [..., sum N_i], in order.
// Merging heads: concat_last({o_0, o_1, ...}); stacking per-head weights [B,Tq,Tk] into [B,heads,Tq,Tk]:
// reshape(concat_last({reshape(w_i, {B, Tq*Tk})...}), {B, heads, Tq, Tk}).
Var concat_last(const std::vector<Var>& xs);

// 1-D convolution along the last axis with one kernel (one input and one output channel, PyTorch's Conv1d(1, 1, K)
// without bias): x [..., L], kernel [K] -> [..., L_out], y[..., i] = sum_j kernel[j] x[..., i + j - pad_left], a
// cross-correlation (the kernel is not flipped, as in PyTorch and Keras), positions outside [0, L) read as 0.
//   Valid: no padding, L_out = L - K + 1 (needs L >= K); PyTorch's default padding=0.
//   Same:  L_out = L, pad_left = (K - 1) / 2, the rest on the right; PyTorch's padding='same'.
//   Full:  L_out = L + K - 1, pad_left = K - 1.
// Gradients for both x and kernel. PyTorch's scalar bias b:
//   add(conv1d(x, k), Var::constant(Tensor::full(Shape{L_out}, b))).
enum class Conv1dPadding { Valid, Same, Full };
Var conv1d(const Var& x, const Var& kernel, Conv1dPadding padding = Conv1dPadding::Valid);

// Layer normalization over the last axis: x [..., N], gamma [N], beta [N] -> [..., N]; or gamma, beta [G, N] for x's
// rows in G equal consecutive groups (models stacked on a leading axis), group g using row g. Per row (x viewed as
// [rows, N]), population statistics in two passes: mean = sum_j x_j / N, var = sum_j (x_j - mean)^2 / N,
// rstd = 1 / sqrt(var + eps), xhat = (x - mean) rstd, y = xhat gamma + beta. eps > 0 and finite; Keras'
// LayerNormalization defaults to 1e-3 (what the LayerNorm layer uses), PyTorch's nn.LayerNorm to 1e-5. N = 1 gives
// xhat = 0 (y = beta, no gradient into x). Gradients for x, gamma and beta, with g = gamma dy:
// dx = rstd (g - mean_j g - xhat mean_j(g xhat)), dgamma = sum_rows dy xhat, dbeta = sum_rows dy (the group's rows
// in order).
Var layer_norm(const Var& x, const Var& gamma, const Var& beta, float eps);

// Elementwise activations.
Var sigmoid(const Var& x);
Var tanh(const Var& x);
Var relu(const Var& x);

// Reductions of all elements to a scalar (shape ()).
Var sum(const Var& x);
Var mean(const Var& x);

// Sparse categorical cross-entropy, mean over all positions (Keras' SUM_OVER_BATCH_SIZE): returns a scalar.
// targets: [...] integer class ids as floats (a constant); x: [..., V].
// groups > 0: the positions are `groups` equal consecutive groups (independent models stacked on a leading axis)
// and the result is [groups], each group's own mean — summing it gives every model its own gradient.
// From logits (numerically stable log-softmax): mean_r (logsumexp(z_r) - z_r[y_r]).
// This is what Keras computes for a sigmoid output (it reads the cached pre-sigmoid `_keras_logits`).
Var sparse_ce_logits(const Var& logits, const Var& targets, int64_t groups = 0);
// From probabilities, Keras' fallback when no logits are cached: pc = clip(p, 1e-7, 1-1e-7),
// mean_r -log(pc_y / sum_k pc_k). Zero gradient where the clip is active.
Var sparse_ce_probs(const Var& probs, const Var& targets, int64_t groups = 0);

// The same values with another shape of the same size (a view, no copy), e.g. [M, B*T, H] -> [M*B, T, H].
Var reshape(const Var& x, const Shape& shape);

// A [T, T] lower-triangular 0/1 mask (1 where key j <= query i): the causal mask.
Tensor causal_mask(int64_t t, Device d = Device::CPU);

}  // namespace toy
