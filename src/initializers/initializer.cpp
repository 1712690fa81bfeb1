#include "torchinit/initializer.h"

#include <ATen/ops/empty.h>

#include <cstring>

namespace torchinit {

void Initializer::fill_runs(at::Tensor& out, const std::vector<ElementRun>& runs,
                            const ParamInfo& p, const Stream& s) const {
  at::Tensor full = at::empty(p.shape, out.options());
  fill(full, p, s);
  const auto* src = static_cast<const char*>(full.data_ptr());
  auto* dst = static_cast<char*>(out.data_ptr());
  const size_t item = out.element_size();
  for (const auto& r : runs) {
    std::memcpy(dst, src + r.first * item, r.count * item);
    dst += r.count * item;
  }
}

}  // namespace torchinit
