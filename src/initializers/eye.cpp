// eye: the identity matrix (ones on the main diagonal of a 2-D weight), as torch.nn.init.eye_;
// preserves the input in Linear layers (Le et al. 2015, IRNN).
#include <ATen/ops/eye.h>

#include "checks/structure_check.h"
#include "initializers/builtins.h"
#include "initializers/fill_helpers.h"
#include "initializers/run_fill.h"
#include "torchinit/registry.h"

namespace torchinit::detail {
namespace {

class Eye final : public Initializer {
 public:
  void validate(const ParamInfo& p) const override {
    require_dims(p, 2, 2, "eye", "eye needs a 2-D [out, in] weight; for convolutions use dirac");
  }
  Distribution theory(const ParamInfo& p) const override {
    return Distribution::eye(p.shape[0], p.shape[1]);
  }
  void fill(at::Tensor& t, const ParamInfo& p, const Stream&) const override { fill_torch(t, p); }
  void fill_torch(at::Tensor& t, const ParamInfo&) const override {
    t.zero_();
    t.diagonal().fill_(1);
  }
  // Element e = (i, j) is 1 iff i == j: local, no full matrix needed.
  void fill_runs(at::Tensor& t, const std::vector<ElementRun>& runs, const ParamInfo& p,
                 const Stream&) const override {
    const int64_t cols = p.shape[1];
    parallel_fill_runs(t, runs, [&](auto* out, int64_t first, int64_t n) {
      for (int64_t i = 0; i < n; ++i) out[i] = (first + i) / cols == (first + i) % cols;
    });
  }
};

}  // namespace

// Every element exactly that of the identity.
void check_structure(const structure::Eye& st, const StructureCheck& in) {
  add_exact_comparison(in, at::eye(st.rows, st.cols, in.values.options()), "the identity");
}

void register_eye(Registry& r) {
  r.add({"eye",
         {"identity"},
         {},
         {"Identity matrix.", "W[i][j] = 1 if i == j else 0",
          "torch.nn.init.eye_; Le et al. 2015, A simple way to initialize recurrent networks of "
          "rectified linear units"},
         [](const Args&) { return std::make_shared<Eye>(); }});
}

}  // namespace torchinit::detail
