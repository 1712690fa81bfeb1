#include "initializers/cholesky_qr.h"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <type_traits>
#include <vector>

#include "initializers/builtins.h"

namespace torchinit::detail {
namespace {

// Fortran entry points (the trailing size_t are the character arguments' hidden lengths).
template <typename T>
using Gemm = void (*)(const char*, const char*, const int*, const int*, const int*, const T*,
                      const T*, const int*, const T*, const int*, const T*, T*, const int*, size_t,
                      size_t);
template <typename T>
using Trsm = void (*)(const char*, const char*, const char*, const char*, const int*, const int*,
                      const T*, const T*, const int*, T*, const int*, size_t, size_t, size_t,
                      size_t);
template <typename T>
struct Blas {
  Gemm<T> gemm = nullptr;
  Trsm<T> trsm = nullptr;
  static const Blas& get() {
    static const Blas blas = [] {
      const bool f = sizeof(T) == 4;
      Blas b;
      b.gemm = reinterpret_cast<Gemm<T>>(blas_symbol(f ? "sgemm_" : "dgemm_"));
      b.trsm = reinterpret_cast<Trsm<T>>(blas_symbol(f ? "strsm_" : "dtrsm_"));
      TORCH_CHECK(b.gemm && b.trsm,
                  "torchinit::orthogonal: the BLAS that LibTorch loaded does not export ?gemm_ "
                  "and ?trsm_; use a LibTorch built with OpenBLAS or MKL (Debian's "
                  "libtorch-dev, PyPI's torch)");
      return b;
    }();
    return blas;
  }
};

// While any is alive, a pthreads OpenBLAS (Debian's) runs every call on the calling thread (its
// threads split work in ways that may change rounding); the setting is global, so concurrent
// holders share it. An OpenMP OpenBLAS is left alone: its setter is OpenMP's, which would
// serialize ATen too, and it already runs serially inside the parallel regions the calls come
// from. MKL is made serial per worker thread by SerialMkl.
class SerialOpenBlas {
 public:
  SerialOpenBlas() {
    if (!get_ || !set_ || !parallel_ || parallel_() != 1) {
      get_ = nullptr;
      return;
    }
    const std::lock_guard<std::mutex> lock(mutex());
    if (holders()++ == 0) {
      previous() = get_();
      set_(1);
    }
  }
  ~SerialOpenBlas() {
    if (!get_) return;
    const std::lock_guard<std::mutex> lock(mutex());
    if (--holders() == 0 && previous() > 1) set_(previous());
  }
  SerialOpenBlas(const SerialOpenBlas&) = delete;
  SerialOpenBlas& operator=(const SerialOpenBlas&) = delete;

 private:
  using Get = int (*)();
  using Set = void (*)(int);
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static int& holders() {
    static int n = 0;
    return n;
  }
  static int& previous() {
    static int n = 1;
    return n;
  }
  Get parallel_ = reinterpret_cast<Get>(blas_symbol("openblas_get_parallel"));  // 1: pthreads
  Get get_ = reinterpret_cast<Get>(blas_symbol("openblas_get_num_threads"));
  Set set_ = reinterpret_cast<Set>(blas_symbol("openblas_set_num_threads"));
};

// T's on 64-byte boundaries, zeroed: every BLAS operand starts at the same alignment in every
// process (MKL's rounding may depend on it).
template <typename T>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(int64_t n)
      : n_(n), p_(static_cast<T*>(std::aligned_alloc(64, bytes(n))), &std::free) {
    TORCH_CHECK(n == 0 || p_, "torchinit::orthogonal: out of memory allocating ", n * sizeof(T),
                " bytes");
    std::fill(p_.get(), p_.get() + n, T(0));
  }
  T* data() const { return p_.get(); }
  int64_t size() const { return n_; }

 private:
  static size_t bytes(int64_t n) { return size_t((n * int64_t(sizeof(T)) + 63) / 64 * 64 + 64); }
  int64_t n_ = 0;
  std::unique_ptr<T, decltype(&std::free)> p_{nullptr, &std::free};
};

// Fixed sizes (functions of the shape only): G's tiles, the row panels summed into G, and the
// row blocks each triangular solve works on.
constexpr int64_t kTile = 256;
constexpr int64_t kPanel = 1024;
constexpr int64_t kBlock = 128;

// Calls f(i) for i in [0, n), in parallel, each call with serial MKL.
template <typename F>
void parallel_each(int64_t n, F f) {
  at::parallel_for(0, n, 1, [&](int64_t b, int64_t e) {
    const SerialMkl serial;
    for (int64_t i = b; i < e; ++i) f(i);
  });
}

// X := L^-1 X for `rows` columns of X (k x rows): the rows' M L^-T, transposed.
template <typename T>
void solve(const Buffer<T>& l, int64_t k, T* x, int64_t rows) {
  const int kk = int(k), m = int(rows);
  const T one = 1;
  Blas<T>::get().trsm("L", "L", "N", "N", &kk, &m, &one, l.data(), &kk, x, &kk, 1, 1, 1, 1);
}

// In place, the lower Cholesky factor of the m x m tile a (column-major, leading dimension
// lda), in plain loops: the same bytes with any BLAS and thread count (LAPACK's potrf may thread).
// False when a pivot is not positive (not numerically positive definite).
bool cholesky_tile(double* a, int64_t m, int64_t lda) {
  for (int64_t j = 0; j < m; ++j) {  // right-looking: every inner loop runs down a column
    double* col_j = a + j * lda;
    if (!(col_j[j] > 0)) return false;
    const double l = std::sqrt(col_j[j]);
    col_j[j] = l;
    for (int64_t i = j + 1; i < m; ++i) col_j[i] /= l;
    for (int64_t c = j + 1; c < m; ++c) {
      double* col_c = a + c * lda;
      const double x = col_j[c];
      for (int64_t i = c; i < m; ++i) col_c[i] -= col_j[i] * x;
    }
  }
  return true;
}

template <typename T>
bool cholesky(Buffer<T>& g, int64_t k) {
  const Blas<T>& blas = Blas<T>::get();
  const int kk = int(k);
  const int64_t tiles = (k + kTile - 1) / kTile;
  const T one = 1, minus_one = -1;
  auto tile = [&](int64_t i, int64_t j) { return g.data() + i * kTile + j * kTile * k; };
  auto extent = [&](int64_t i) { return int(std::min(kTile, k - i * kTile)); };
  for (int64_t d = 0; d < tiles; ++d) {
    const int md = extent(d);
    if (!cholesky_tile(tile(d, d), md, k)) return false;
    // Below the diagonal tile: L[i,d] = G[i,d] L[d,d]^-T.
    parallel_each(tiles - d - 1, [&](int64_t t) {
      const int64_t i = d + 1 + t;
      const int mi = extent(i);
      blas.trsm("R", "L", "T", "N", &mi, &md, &one, tile(d, d), &kk, tile(i, d), &kk, 1, 1, 1, 1);
    });
    // Trailing update of the lower tiles: G[i,j] -= L[i,d] L[j,d]^T.
    std::vector<std::pair<int64_t, int64_t>> trailing;
    for (int64_t i = d + 1; i < tiles; ++i)
      for (int64_t j = d + 1; j <= i; ++j) trailing.emplace_back(i, j);
    parallel_each(int64_t(trailing.size()), [&](int64_t t) {
      const auto [i, j] = trailing[size_t(t)];
      const int mi = extent(i), mj = extent(j);
      blas.gemm("N", "T", &mi, &mj, &md, &minus_one, tile(i, d), &kk, tile(j, d), &kk, &one,
                tile(i, j), &kk, 1, 1);
    });
  }
  return true;
}

// The n x k matrix M (A or A^T, n >= k) and its factors. Matrices are column-major as BLAS sees
// them: a block of M's rows [i0, i1) is stored as its transpose, k x (i1 - i0), so that row i is
// the contiguous column i - i0. Every pass but the last runs in double. The last one forms its
// panels' Gram products and its solve in S (float for float32 and half outputs, double for
// float64), their sum and its Cholesky in double: Q1 is already orthogonal to about
// u_double·cond(M)², and measured at 16384 x 4096 this keeps ||Q^T Q - I|| below LAPACK's float
// QR at half the double cost (mixed-precision CholeskyQR, Yamazaki et al. 2015).
template <typename S>
class CholeskyQr {
 public:
  CholeskyQr(int64_t rows, int64_t cols, const Stream& s)
      : tall_(rows >= cols),
        n_(tall_ ? rows : cols),
        k_(tall_ ? cols : rows),
        a_cols_(cols),
        s_(s) {
    TORCH_CHECK(k_ <= INT_MAX / 2 && n_ <= INT_MAX, "torchinit::orthogonal: shape [", rows, ", ",
                cols, "] is too large for 32-bit BLAS; split the parameter");
  }
  int64_t n() const { return n_; }
  int64_t k() const { return k_; }
  bool tall() const { return tall_; }

  // Asks factorize() to keep the blocks b with keep[b] of its last pass's input Q1 (M with the
  // double factors applied), so that q_block does not recompute them.
  void keep_blocks(std::vector<bool> keep) { keep_ = std::move(keep); }

  // The factors (as lower-triangular L = R^T, k x k): CholeskyQR2, or shifted CholeskyQR3 when a
  // Gram is not numerically positive definite (Fukaya et al. 2020). At most three k x k double
  // matrices are alive at once (the factors and the Gram being formed).
  void factorize(bool force_shift) {
    if (!force_shift && attempt(false)) return;
    // A Cholesky failed (or the test forces it): start over with the shifted first pass.
    factors_.clear();
    kept_.clear();
    TORCH_CHECK(attempt(true),
                "torchinit::orthogonal: internal error: shifted CholeskyQR3 failed "
                "for a ",
                n_, " x ", k_, " matrix");
  }

 private:
  // CholeskyQR2, or with `shift` CholeskyQR3 whose first pass factorizes G + s I with
  // s = 11 (n k + k (k + 1)) u ||M||_2^2, bounded by ||M||_F^2 = trace(G). False when a Cholesky
  // fails.
  bool attempt(bool shift) {
    Buffer<double> g = gram<double>(nullptr);
    if (shift) {
      double trace = 0;
      for (int64_t j = 0; j < k_; ++j) trace += g.data()[j * (k_ + 1)];
      const double s = 11.0 * double(n_ * k_ + k_ * (k_ + 1)) * 0x1p-53 * trace;
      for (int64_t j = 0; j < k_; ++j) g.data()[j * (k_ + 1)] += s;
    }
    if (!cholesky(g, k_)) return false;
    factors_.push_back(std::move(g));
    const size_t passes = shift ? 3 : 2;
    while (factors_.size() < passes - 1) {
      Buffer<double> next = gram<double>(nullptr);
      if (!cholesky(next, k_)) return false;
      factors_.push_back(std::move(next));
    }
    Buffer<double> last = gram<S>(&kept_);
    if (!cholesky(last, k_)) return false;
    if constexpr (std::is_same_v<S, double>) {
      last_ = std::move(last);
    } else {
      last_ = Buffer<S>(k_ * k_);
      std::copy(last.data(), last.data() + k_ * k_, last_.data());
    }
    return true;
  }

 public:
  // Q's rows of block b (rows [b·kBlock, …) of M) into q (k x block rows).
  void q_block(int64_t b, S* q) const {
    const int64_t rows = std::min(kBlock, n_ - b * kBlock);
    const auto it = kept_.find(b);
    if (it != kept_.end()) {
      std::copy(it->second.data(), it->second.data() + it->second.size(), q);
    } else {
      q1_block(b, q);
    }
    solve(last_, k_, q, rows);
  }

 private:
  // M's rows [i0, i0 + rows) into x (k x rows): element (i, j) is A's element i·k + j (tall)
  // or j·a_cols + i (wide).
  void generate(double* x, int64_t i0, int64_t rows) const {
    if (tall_) {
      fill_normal(x, i0 * k_, rows * k_, s_, 0, 1);
      return;
    }
    std::vector<double> run(static_cast<size_t>(rows));
    for (int64_t j = 0; j < k_; ++j) {
      fill_normal(run.data(), j * a_cols_ + i0, rows, s_, 0, 1);
      for (int64_t i = 0; i < rows; ++i) x[i * k_ + j] = run[size_t(i)];
    }
  }

  // Block b of M with the double factors applied, into x (k x block rows) as T.
  template <typename T>
  void q1_block(int64_t b, T* x) const {
    const int64_t rows = std::min(kBlock, n_ - b * kBlock);
    if constexpr (std::is_same_v<T, double>) {
      generate(x, b * kBlock, rows);
      for (const auto& l : factors_) solve(l, k_, x, rows);
    } else {
      const Buffer<double> d(rows * k_);
      q1_block(b, d.data());
      std::copy(d.data(), d.data() + rows * k_, x);
    }
  }

  // Y^T Y for Y = M with the double factors applied (lower tiles, k x k): each row panel's
  // product in T, summed over the panels in order in double. With `keep`, the blocks keep_ asks
  // for are stored there.
  template <typename T>
  Buffer<double> gram(std::map<int64_t, Buffer<S>>* keep) const {
    const Blas<T>& blas = Blas<T>::get();
    Buffer<double> g(k_ * k_);
    const int64_t tiles = (k_ + kTile - 1) / kTile;
    std::vector<std::pair<int64_t, int64_t>> lower;  // (I, J), I >= J
    for (int64_t i = 0; i < tiles; ++i)
      for (int64_t j = 0; j <= i; ++j) lower.emplace_back(i, j);
    const Buffer<T> panel(k_ * std::min(kPanel, n_));
    for (int64_t p0 = 0; p0 < n_; p0 += kPanel) {
      const int64_t rows = std::min(kPanel, n_ - p0);
      const int64_t blocks = (rows + kBlock - 1) / kBlock;
      parallel_each(blocks,
                    [&](int64_t b) { q1_block(p0 / kBlock + b, panel.data() + b * kBlock * k_); });
      if constexpr (std::is_same_v<T, S>) {
        for (int64_t b = 0; keep && b < blocks; ++b) {
          const int64_t global = p0 / kBlock + b;
          if (size_t(global) >= keep_.size() || !keep_[size_t(global)]) continue;
          const int64_t size = std::min(kBlock, rows - b * kBlock) * k_;
          Buffer<S>& kept = (*keep)[global];
          kept = Buffer<S>(size);
          std::copy(panel.data() + b * kBlock * k_, panel.data() + b * kBlock * k_ + size,
                    kept.data());
        }
      }
      const int k = int(k_), m = int(rows);
      parallel_each(int64_t(lower.size()), [&](int64_t t) {
        const auto [ti, tj] = lower[size_t(t)];
        const int mi = int(std::min(kTile, k_ - ti * kTile));
        const int mj = int(std::min(kTile, k_ - tj * kTile));
        const T one = 1;
        double* tile = g.data() + ti * kTile + tj * kTile * k_;
        if constexpr (std::is_same_v<T, double>) {
          blas.gemm("N", "T", &mi, &mj, &m, &one, panel.data() + ti * kTile, &k,
                    panel.data() + tj * kTile, &k, &one, tile, &k, 1, 1);
        } else {
          // A panel's product in float, summed over the panels in double: the float rounding
          // is that of one panel's kPanel rows, not of all n.
          const Buffer<T> part(kTile * kTile);
          const T zero = 0;
          blas.gemm("N", "T", &mi, &mj, &m, &one, panel.data() + ti * kTile, &k,
                    panel.data() + tj * kTile, &k, &zero, part.data(), &mi, 1, 1);
          for (int j = 0; j < mj; ++j)
            for (int i = 0; i < mi; ++i) tile[i + int64_t(j) * k_] += part.data()[i + j * mi];
        }
      });
    }
    return g;
  }

  bool tall_;
  int64_t n_, k_, a_cols_;
  const Stream& s_;
  std::vector<Buffer<double>> factors_;  // every pass's but the last
  Buffer<S> last_;
  std::vector<bool> keep_;
  std::map<int64_t, Buffer<S>> kept_;
};

// The blocks of M's rows that the runs touch.
template <typename S>
std::vector<bool> blocks_of(const std::vector<ElementRun>& runs, const CholeskyQr<S>& qr,
                            int64_t a_cols) {
  const int64_t n = qr.n(), blocks = (n + kBlock - 1) / kBlock;
  std::vector<bool> used(size_t(blocks), false);
  auto mark = [&](int64_t i0, int64_t i1) {  // M rows [i0, i1]
    for (int64_t b = i0 / kBlock; b <= i1 / kBlock; ++b) used[size_t(b)] = true;
  };
  for (const auto& run : runs) {
    if (run.count == 0) continue;
    const int64_t last = run.first + run.count - 1;
    if (qr.tall()) {
      mark(run.first / a_cols, last / a_cols);
    } else if (run.count >= a_cols) {
      mark(0, n - 1);
    } else {
      const int64_t c0 = run.first % a_cols, c1 = last % a_cols;
      if (c0 <= c1) {
        mark(c0, c1);
      } else {
        mark(c0, a_cols - 1);
        mark(0, c1);
      }
    }
  }
  return used;
}

// Block b of Q (q, k x block rows) times gain into the runs' elements that it holds.
template <typename T, typename S>
void write_block(T* out, const std::vector<ElementRun>& runs, const std::vector<int64_t>& offset,
                 const CholeskyQr<S>& qr, int64_t a_cols, int64_t b, const S* q, double gain) {
  const int64_t k = qr.k(), i0 = b * kBlock, i1 = std::min(qr.n(), i0 + kBlock);
  const S g = static_cast<S>(gain);
  for (size_t r = 0; r < runs.size(); ++r) {
    const int64_t first = runs[r].first, end = first + runs[r].count;
    T* o = out + offset[r] - first;  // o[e] is element e of the full parameter
    if (qr.tall()) {                 // element e = i·k + j is q[(i - i0)·k + j]
      const int64_t e0 = std::max(first, i0 * k), e1 = std::min(end, i1 * k);
      for (int64_t e = e0; e < e1; ++e) o[e] = static_cast<T>(g * q[e - i0 * k]);
      continue;
    }
    // Wide: element e = row·a_cols + c is M's (c, row), q[(c - i0)·k + row], c in [i0, i1).
    for (int64_t row = first / a_cols; row * a_cols < end; ++row) {
      const int64_t e0 = std::max(first, row * a_cols + i0);
      const int64_t e1 = std::min(end, row * a_cols + i1);
      for (int64_t e = e0; e < e1; ++e)
        o[e] = static_cast<T>(g * q[(e - row * a_cols - i0) * k + row]);
    }
  }
}

template <typename S>
void orthogonal_runs_in(at::Tensor& out, const std::vector<ElementRun>& runs, int64_t rows,
                        int64_t cols, double gain, const Stream& s, bool force_shift) {
  CholeskyQr<S> qr(rows, cols, s);
  const std::vector<bool> used = blocks_of(runs, qr, cols);
  // Keep Q1's blocks when they cost at most twice the output's bytes (the whole matrix, row
  // shards); column shards of a tall matrix recompute them instead (same bytes either way).
  int64_t used_elements = 0;
  for (size_t b = 0; b < used.size(); ++b)
    used_elements += used[b] ? std::min(kBlock, qr.n() - int64_t(b) * kBlock) * qr.k() : 0;
  if (used_elements * int64_t(sizeof(S)) <= 2 * out.numel() * int64_t(out.element_size()))
    qr.keep_blocks(used);
  qr.factorize(force_shift);
  std::vector<int64_t> offset(runs.size() + 1, 0);
  for (size_t i = 0; i < runs.size(); ++i) offset[i + 1] = offset[i] + runs[i].count;
  std::vector<int64_t> todo;
  for (size_t b = 0; b < used.size(); ++b)
    if (used[b]) todo.push_back(int64_t(b));
  parallel_each(int64_t(todo.size()), [&](int64_t t) {
    const int64_t b = todo[size_t(t)];
    const Buffer<S> q(kBlock * qr.k());
    qr.q_block(b, q.data());
    if (out.scalar_type() == at::kFloat) {
      write_block(out.data_ptr<float>(), runs, offset, qr, cols, b, q.data(), gain);
    } else {
      write_block(out.data_ptr<double>(), runs, offset, qr, cols, b, q.data(), gain);
    }
  });
}

}  // namespace

void orthogonal_runs(at::Tensor& out, const std::vector<ElementRun>& runs, int64_t rows,
                     int64_t cols, double gain, const Stream& s, bool force_shift) {
  if (out.numel() == 0) return;
  const SerialOpenBlas serial_openblas;
  if (out.scalar_type() == at::kFloat) {
    orthogonal_runs_in<float>(out, runs, rows, cols, gain, s, force_shift);
  } else {
    orthogonal_runs_in<double>(out, runs, rows, cols, gain, s, force_shift);
  }
}

}  // namespace torchinit::detail
