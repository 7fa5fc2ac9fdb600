// CudaBackend::gemm: row-major batched GEMM on cuBLAS (column-major), with one strided-batched SGEMM per call.
#include <climits>
#include <string>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_context.h"

namespace toy {
namespace {

int checked_int(int64_t v, const char* what) {
  if (v < 0 || v > INT_MAX)
    cuda::throw_error(std::string("gemm: ") + what + " = " + std::to_string(v) + " exceeds cuBLAS' int range");
  return static_cast<int>(v);
}

}  // namespace

// The layout mapping, derived once. A row-major r x c matrix with leading dimension c occupies exactly the bytes of
// its column-major transpose (c x r, leading dimension c). So the row-major product C = op(A) · op(B), C m x n, is
// the column-major product Cᵀ = op(B)ᵀ · op(A)ᵀ, Cᵀ n x m with ldc = n: pass B as cuBLAS' first operand and A as
// its second, swap m and n, and keep each operand's own transpose flag:
//   - B is stored k x n (ld n) when !trans_b: cuBLAS sees Bᵀ = op(B)ᵀ, so OP_N with lda = n;
//     B is stored n x k (ld k) when  trans_b: cuBLAS sees op(B), so OP_T gives op(B)ᵀ, lda = k.
//   - A likewise: OP_N with ldb = k when !trans_a, OP_T with ldb = m when trans_a.
// Strides pass through unchanged (0 broadcasts one operand over the batch); alpha and beta are host values
// (CUBLAS_POINTER_MODE_HOST), baked into a captured graph like any other kernel argument.
// Determinism: cuBLAS gives bit-identical results run to run for the same problem on the same GPU model and
// library version, as long as a handle is used from one stream with its own workspace (ours: one stream, a
// user-owned workspace, atomics not allowed). So no CUBLAS_WORKSPACE_CONFIG is needed. Default math mode keeps
// SGEMM in FP32 (no TF32 unless NVIDIA_TF32_OVERRIDE says otherwise).
void CudaBackend::gemm(const GemmArgs& g) {
  if (g.batch <= 0 || g.m <= 0 || g.n <= 0) return;
  const int m = checked_int(g.m, "m"), n = checked_int(g.n, "n"), k = checked_int(g.k, "k");
  const int batch = checked_int(g.batch, "batch");
  const cublasOperation_t op_b = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_a = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int ld_b = g.trans_b ? (k > 1 ? k : 1) : n;
  const int ld_a = g.trans_a ? m : (k > 1 ? k : 1);
  TOY_CUBLAS_CHECK(cublasSgemmStridedBatched(cuda::cublas(), op_b, op_a, n, m, k, &g.alpha, g.b, ld_b, g.stride_b,
                                             g.a, ld_a, g.stride_a, &g.beta, g.c, n, g.stride_c, batch));
}

}  // namespace toy
