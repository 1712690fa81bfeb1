// The orthogonal initializer's factorization: CholeskyQR2 (Fukaya et al. 2014) in double on fixed
// tiles, so that any part of gain·Q can be computed on its own with the same bytes as the whole.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "torchinit/random.h"
#include "torchinit/slice.h"

namespace torchinit::detail {

// Writes into `out` (contiguous CPU float32/float64, numel = the runs' total) the elements `runs`
// of W = gain·Q, the Haar (semi-)orthogonal factor of the [rows, cols] normal matrix A whose
// element e is N(0, 1) from stream `s` (fill_normal). With M = A (rows >= cols) or M = A^T, an
// n x k matrix with n >= k:
//   G = M^T M, summed over fixed row panels on fixed tiles; R1 = chol(G); Q1 = M R1^-1;
//   R2 = chol(Q1^T Q1); Q = Q1 R2^-1 (a shifted first pass when G is not numerically positive
//   definite: shifted CholeskyQR3, Fukaya et al. 2020). For a float32 `out` the last pass's
//   panel products and solve run in float, its sums and Cholesky in double (mixed precision,
//   Yamazaki et al. 2015); every other step in double.
// R = R2 R1 has a positive diagonal, so Q is the Q of M's QR with sign(diag R) = +1: Haar
// (Mezzadri 2007). Tile, panel and block boundaries depend on (rows, cols) only and every BLAS
// call is serial (pthreads OpenBLAS held at one thread, MKL per thread), so each byte depends on
// (seed, key, shape) and the element's index: not on the runs asked for, the thread count or the
// process (on one machine and BLAS). Work: about 4·n·k² flops for the whole matrix, about 3·n·k²
// for any part; memory: at most three k x k double matrices, one panel and the output (plus Q1's
// rows of the output when they are at most twice its bytes). The diagonal tiles' Cholesky is
// torchinit's own loop, so LAPACK is not needed; with an OpenMP-built OpenBLAS, calls made outside
// a parallel region may use its threads. force_shift (tests): take the shifted CholeskyQR3 path
// even where G's Cholesky succeeds.
void orthogonal_runs(at::Tensor& out, const std::vector<ElementRun>& runs, int64_t rows,
                     int64_t cols, double gain, const Stream& s, bool force_shift = false);

}  // namespace torchinit::detail
