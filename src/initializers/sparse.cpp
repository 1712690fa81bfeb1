// sparse(sparsity, std): in every column exactly ceil(sparsity·rows) zeros, the rest N(0, std^2)
// (Martens 2010, Deep learning via Hessian-free optimization), as torch.nn.init.sparse_.
#include <ATen/ops/randperm.h>
#include <fmt/format.h>

#include <cmath>
#include <unordered_map>
#include <vector>

#include "checks/structure_check.h"
#include "initializers/builtins.h"
#include "initializers/fill_helpers.h"
#include "random/permutation.h"
#include "torchinit/registry.h"

namespace torchinit::detail {
namespace {

class Sparse final : public Initializer {
 public:
  Sparse(double sparsity, double std) : sparsity_(sparsity), std_(std) {}
  void validate(const ParamInfo& p) const override {
    require_dims(p, 2, 2, "sparse", "sparse masks columns of a 2-D [rows, cols] weight");
  }
  Distribution theory(const ParamInfo& p) const override {
    return Distribution::sparse(p.shape[0], p.shape[1], zeros_per_column(p), std_);
  }
  // N(0, std^2) everywhere, then in column c the rows r with pi_c(r) < zeros are zeroed, pi_c a
  // pseudo-random permutation of the rows keyed by (seed, key, c): exactly `zeros` zeros per
  // column, a (pseudo-)uniform subset, and each element's fate computable on its own.
  void fill(at::Tensor& t, const ParamInfo& p, const Stream& s) const override {
    parallel_fill(
        t, [&](auto* out, int64_t first, int64_t n) { fill_normal(out, first, n, s, 0, std_); });
    const int64_t rows = p.shape[0], cols = p.shape[1], zeros = zeros_per_column(p);
    if (zeros == 0) return;
    const ZeroAt zero(t);
    at::parallel_for(0, cols, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const Permutation pi(rows, s, static_cast<uint64_t>(c), kMask);
        for (int64_t r = 0; r < rows; ++r)
          if (pi(r) < zeros) zero(r * cols + c);
      }
    });
  }
  // A shard: its own elements' values and fates, nothing else (shard-sized work and memory).
  void fill_runs(at::Tensor& out, const std::vector<ElementRun>& runs, const ParamInfo& p,
                 const Stream& s) const override {
    const int64_t rows = p.shape[0], cols = p.shape[1], zeros = zeros_per_column(p);
    int64_t pos = 0;
    for (const auto& run : runs) {
      if (out.scalar_type() == at::kFloat) {
        fill_normal(out.data_ptr<float>() + pos, run.first, run.count, s, 0, std_);
      } else {
        fill_normal(out.data_ptr<double>() + pos, run.first, run.count, s, 0, std_);
      }
      pos += run.count;
    }
    if (zeros == 0) return;
    const ZeroAt zero(out);
    std::unordered_map<int64_t, Permutation> by_column;
    pos = 0;
    for (const auto& run : runs) {
      for (int64_t e = run.first; e < run.first + run.count; ++e, ++pos) {
        const int64_t c = e % cols;
        auto it = by_column.find(c);
        if (it == by_column.end())
          it = by_column.emplace(c, Permutation(rows, s, static_cast<uint64_t>(c), kMask)).first;
        if (it->second(e / cols) < zeros) zero(pos);
      }
    }
  }
  // torch.nn.init.sparse_'s algorithm and generator calls: a randperm of the rows per column.
  void fill_torch(at::Tensor& t, const ParamInfo& p) const override {
    const int64_t rows = p.shape[0], cols = p.shape[1], zeros = zeros_per_column(p);
    t.normal_(0, std_);
    for (int64_t c = 0; c < cols; ++c) {
      const at::Tensor perm = at::randperm(rows, t.options().dtype(at::kLong));
      t.select(1, c).index_fill_(0, perm.slice(0, 0, zeros), 0);
    }
  }

 private:
  // Writes 0 at flat index i of a contiguous float32 or float64 tensor.
  struct ZeroAt {
    explicit ZeroAt(at::Tensor& t)
        : f(t.scalar_type() == at::kFloat ? t.data_ptr<float>() : nullptr),
          d(f ? nullptr : t.data_ptr<double>()) {}
    void operator()(int64_t i) const {
      if (f) {
        f[i] = 0;
      } else {
        d[i] = 0;
      }
    }
    float* f;
    double* d;
  };
  int64_t zeros_per_column(const ParamInfo& p) const {
    return static_cast<int64_t>(std::ceil(sparsity_ * double(p.shape[0])));
  }

  double sparsity_, std_;
};

}  // namespace

// Exactly zeros_per_column zeros in every column; the nonzero entries N(0, std^2).
void check_structure(const structure::Sparse& st, const StructureCheck& in) {
  const at::Tensor w = in.values.reshape({st.rows, st.cols});
  const at::Tensor zeros = w.eq(0).sum(0);
  const int64_t bad = zeros.ne(st.zeros_per_column).sum().item<int64_t>();
  Statistic s = exact_statistic("zeros_per_column", bad, st.cols,
                                fmt::format("{} zeros per column", st.zeros_per_column));
  s.detail = fmt::format("zeros_per_column: {} of {} columns do not have exactly {} zeros", bad,
                         st.cols, st.zeros_per_column);
  in.result.add(s);
  if (st.zeros_per_column == st.rows) return;
  const Distribution normal = Distribution::normal(0, st.std);
  const at::Tensor nonzero = w.masked_select(w.ne(0)).contiguous();
  test_tensor_marginal(in.result, nonzero, tensor_moments(nonzero), normal, in.options.alpha() / 5,
                       in.options, true, in.dtype);
}

void register_sparse(Registry& r) {
  r.add({"sparse",
         {},
         {{"sparsity", ArgType::Number, std::nullopt, "fraction of zeros per column, in [0, 1)"},
          {"std", ArgType::Number, "0.01", "std of the nonzero entries"}},
         {"Column-sparse normal.", "ceil(sparsity·rows) zeros per column, others N(0, std^2)",
          "Martens 2010, Deep learning via Hessian-free optimization"},
         [](const Args& a) {
           const double sparsity = a.number("sparsity"), std = a.number("std");
           a.check(sparsity >= 0 && sparsity < 1, "sparsity", "sparsity must be in [0, 1), got ",
                   sparsity, "; it is the fraction of zeros per column");
           a.check(std::isfinite(std) && std > 0, "std", "std must be > 0 and finite, got ", std);
           return std::make_shared<Sparse>(sparsity, std);
         }});
}

}  // namespace torchinit::detail
