#include "torchinit/layout.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace torchinit {

ParamInfo ParamInfo::from_shape(std::vector<int64_t> shape, std::string path) {
  ParamInfo p;
  p.shape = std::move(shape);
  p.path = std::move(path);
  return p;
}

int64_t ParamInfo::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

Fans ParamInfo::fans(const char* who) const {
  if (dim() < 2 && module_fans) return *module_fans;
  TORCH_CHECK(dim() >= 2, who,
              ": fan_in and fan_out need a tensor with at least 2 dims, got shape ", shape_str(),
              "; use an initializer with an explicit scale (normal(std=…), uniform(a=…, b=…)) or "
              "reshape the weight to [out, in]");
  int64_t receptive = 1;
  for (int64_t d = 0; d < dim(); ++d)
    if (d != layout.in_dim && d != layout.out_dim) receptive *= shape[d];
  // Fans count the units one output (input) unit actually connects to: one group's inputs for
  // grouped convs, one block's outputs for stacked gates.
  const int64_t in_units = shape[layout.in_dim] / (layout.transposed ? layout.groups : 1);
  const int64_t out_units =
      shape[layout.out_dim] / (layout.transposed ? 1 : layout.groups) / layout.blocks;
  return {in_units * receptive, out_units * receptive};
}

ParamInfo ParamInfo::block(int64_t b) const {
  TORCH_CHECK(layout.blocks >= 1 && b >= 0 && b < layout.blocks && dim() >= 1 &&
                  shape[layout.out_dim] % layout.blocks == 0,
              "torchinit::ParamInfo::block: block ", b, " of ", layout.blocks, " does not divide ",
              shape_str());
  ParamInfo p = *this;
  p.shape[layout.out_dim] /= layout.blocks;
  p.layout.blocks = 1;
  return p;
}

std::string ParamInfo::shape_str() const { return fmt::format("[{}]", fmt::join(shape, ", ")); }

}  // namespace torchinit
