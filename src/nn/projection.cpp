#include "torchinit/nn/projection.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/ones.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <torch/nn/init.h>

#include <cmath>
#include <ostream>
#include <utility>

#include "torchinit/layout_registry.h"
#include "torchinit/module_desc.h"

namespace torchinit::nn {
namespace {

constexpr const char* kProjectionWho = "torchinit::nn::Projection";

// The layout of every Projection, declared once in the process-wide registry: the weight's role
// and blocks from the options; the bias borrows the fans of one block.
void declare_layout() {
  static const bool declared = [] {
    LayoutRegistry::global().add<ProjectionImpl>([](const ProjectionImpl& m) {
      const ProjectionOptions& o = m.options;
      ModuleDesc d;
      d.type = "Projection";
      Layout weight_layout;
      weight_layout.blocks = o.blocks();
      const Fans block_fans{o.in_features(), o.out_features() / o.blocks()};
      d.params["weight"] =
          ParamDesc(o.role(), "kaiming_uniform(a=2.23606797749979)", std::nullopt, weight_layout);
      const double bound = 1 / std::sqrt(double(o.in_features()));
      d.params["bias"] =
          ParamDesc("bias", fmt::format("uniform(a={}, b={})", -bound, bound), block_fans);
      return d;
    });
    return true;
  }();
  (void)declared;
}

}  // namespace

ProjectionOptions::ProjectionOptions(int64_t in_features, int64_t out_features)
    : in_features_(in_features), out_features_(out_features) {}

ProjectionImpl::ProjectionImpl(ProjectionOptions options) : options(std::move(options)) {
  declare_layout();
  reset();
}

void ProjectionImpl::reset() {
  const ProjectionOptions& o = options;
  TORCH_CHECK(o.in_features() > 0 && o.out_features() > 0, kProjectionWho,
              ": expected in_features > 0 and out_features > 0 (got ", o.in_features(), " and ",
              o.out_features(), ")");
  TORCH_CHECK(o.blocks() >= 1 && o.out_features() % o.blocks() == 0, kProjectionWho, ": blocks (",
              o.blocks(), ") must divide out_features (", o.out_features(), ")");
  TORCH_CHECK(o.role() == "weight" || o.role() == "residual_out" || o.role() == "readout",
              kProjectionWho, ": role must be weight, residual_out or readout (got '", o.role(),
              "')");
  weight = register_parameter("weight", at::empty({o.out_features(), o.in_features()}));
  bias = o.bias() ? register_parameter("bias", at::empty({o.out_features()})) : at::Tensor();
  multiplier = register_buffer("multiplier", at::ones({}));
  // As torch::nn::LinearImpl::reset_parameters.
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1 / std::sqrt(double(o.in_features()));
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

void ProjectionImpl::pretty_print(std::ostream& stream) const {
  stream << "torchinit::nn::Projection(in_features=" << options.in_features()
         << ", out_features=" << options.out_features()
         << ", bias=" << (options.bias() ? "true" : "false") << ", role=" << options.role();
  if (options.blocks() > 1) stream << ", blocks=" << options.blocks();
  stream << ")";
}

torch::Tensor ProjectionImpl::forward(const torch::Tensor& input) {
  TORCH_CHECK(input.dim() >= 1 && input.size(-1) == options.in_features(), kProjectionWho,
              ": expected input [..., ", options.in_features(), "] (got ", input.sizes(), ")");
  // x · 1 is x to the bit, so the default multiplier changes nothing.
  return at::linear(input * multiplier, weight, bias);
}

}  // namespace torchinit::nn
