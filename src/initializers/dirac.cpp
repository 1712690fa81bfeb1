// dirac(groups): the identity convolution (a centered delta in each kernel), as
// torch.nn.init.dirac_; with groups, each group of output channels passes its own inputs through.
#include <ATen/ops/empty.h>

#include <cmath>

#include "checks/structure_check.h"
#include "initializers/builtins.h"
#include "initializers/fill_helpers.h"
#include "initializers/run_fill.h"
#include "torchinit/registry.h"

namespace torchinit::detail {
namespace {

// Zeroes the kernel t [out, in, k…] and writes the centered deltas of `groups` groups.
void write_deltas(at::Tensor& t, int64_t groups) {
  t.zero_();
  const int64_t out_per_group = t.size(0) / groups;
  const int64_t channels = std::min(out_per_group, t.size(1));
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t d = 0; d < channels; ++d) {
      at::Tensor kernel = t.select(0, g * out_per_group + d).select(0, d);
      while (kernel.dim() > 0) kernel = kernel.select(0, kernel.size(0) / 2);
      kernel.fill_(1);
    }
  }
}

class Dirac final : public Initializer {
 public:
  explicit Dirac(int64_t groups) : groups_(groups) {}
  void validate(const ParamInfo& p) const override {
    require_dims(p, 3, 5, "dirac",
                 "dirac is for Conv1d/2d/3d weights [out, in, k...]; use eye for 2-D");
    TORCH_CHECK(p.shape[0] % groups_ == 0, "torchinit::dirac: size(0) = ", p.shape[0], " of shape ",
                p.shape_str(), " is not divisible by groups = ", groups_,
                "; pass the conv's groups");
  }
  Distribution theory(const ParamInfo& p) const override {
    return Distribution::dirac(p.shape, groups_);
  }
  void fill(at::Tensor& t, const ParamInfo& p, const Stream&) const override { fill_torch(t, p); }
  void fill_torch(at::Tensor& t, const ParamInfo&) const override { write_deltas(t, groups_); }
  // Element (o, i, k…) is 1 iff d = o mod (out/groups) < in, i == d and every k is the kernel's
  // center: local, no full tensor needed.
  void fill_runs(at::Tensor& t, const std::vector<ElementRun>& runs, const ParamInfo& p,
                 const Stream&) const override {
    const int64_t out_per_group = p.shape[0] / groups_;
    int64_t kernel = 1, center = 0;  // the center's flat offset inside one kernel
    for (int64_t d = 2; d < p.dim(); ++d) {
      center = center * p.shape[d] + p.shape[d] / 2;
      kernel *= p.shape[d];
    }
    const int64_t in = p.shape[1];
    parallel_fill_runs(t, runs, [&](auto* out, int64_t first, int64_t n) {
      for (int64_t e = first; e < first + n; ++e) {
        const int64_t o = e / (in * kernel), i = e / kernel % in;
        out[e - first] = e % kernel == center && i == o % out_per_group;
      }
    });
  }

 private:
  int64_t groups_;
};

}  // namespace

// Every element exactly that of the deltas.
void check_structure(const structure::Dirac& st, const StructureCheck& in) {
  at::Tensor expected = at::empty(st.shape, in.values.options());
  write_deltas(expected, st.groups);
  add_exact_comparison(in, expected, "the dirac delta");
}

void register_dirac(Registry& r) {
  r.add({"dirac",
         {},
         {{"groups", ArgType::Number, "1", "number of conv groups"}},
         {"Identity convolution.", "W[g·(out/groups)+d][d][k/2…] = 1 for d < min(out/groups, in)",
          "torch.nn.init.dirac_"},
         [](const Args& a) {
           const double groups = a.number("groups");
           a.check(groups >= 1 && groups == std::floor(groups) && groups < 1e15, "groups",
                   "groups must be a positive integer below 1e15, got ", groups,
                   "; pass the conv's groups");
           return std::make_shared<Dirac>(static_cast<int64_t>(groups));
         }});
}

}  // namespace torchinit::detail
