// Plan::explain, Plan::apply and check(module, report), on modules and on parameter lists.
#include <ATen/core/grad_mode.h>
#include <ATen/ops/cat.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>

#include <algorithm>

#include "plans/resolve.h"
#include "torchinit/init.h"
#include "torchinit/plan.h"
#include "torchinit/plan_params.h"

namespace torchinit {

using detail::block_key;
using detail::Planned;
using detail::resolve;
using detail::zero_padding_row;

Report explain_params(const Plan& plan, std::vector<ModuleParam> params,
                      const ApplyOptions& options) {
  Report report;
  (void)resolve(plan, std::move(params), options, report, /*writes=*/false);
  return report;
}

Report Plan::explain(const torch::nn::Module& module, const ApplyOptions& options) const {
  return explain_params(*this, module_params(module), options);
}

Report apply_params(const Plan& plan, std::vector<ModuleParam> params,
                    const ApplyOptions& options) {
  Report report;
  const std::vector<Planned> planned = resolve(plan, std::move(params), options, report);
  // The LibTorch backend draws from LibTorch's generator itself: taking a seed from it here
  // would shift its stream away from torch::nn::init's.
  const uint64_t seed =
      options.backend() == Backend::Torch ? 0 : resolve_seed(InitOptions().seed(options.seed()));
  report.set_seed(seed);
  at::NoGradGuard no_grad;  // block views of leaves are written in place
  for (const auto& p : planned) {
    if (!p.init) continue;
    const ParamInfo& info = p.param.info;
    const int64_t blocks = info.layout.blocks;
    for (int64_t b = 0; b < blocks; ++b) {
      const ParamInfo unit = blocks > 1 ? info.block(b) : info;
      const int64_t rows = unit.shape.empty() ? 0 : unit.shape[info.layout.out_dim];
      at::Tensor target =
          blocks > 1 ? p.param.tensor.narrow(info.layout.out_dim, b * rows, rows) : p.param.tensor;
      init_(
          target, *p.init, unit,
          InitOptions().seed(seed).key(block_key(info.path, b, blocks)).backend(options.backend()));
    }
    if (p.padding_idx) zero_padding_row(p.param.tensor, info, *p.padding_idx, Slice::all());
  }
  return report;
}

Report Plan::apply(torch::nn::Module& module, const ApplyOptions& options) const {
  return apply_params(*this, module_params(module), options);
}

ModuleCheck check_params(const std::vector<ModuleParam>& params, const Report& report,
                         const CheckOptions& options) {
  validate_check_options(options);  // before alpha is split: 2/k may look valid
  // Every (parameter or block) that the report says was initialized, with its theory; a tied
  // tensor once, under its canonical path (its row's path).
  struct Item {
    std::string key;
    at::Tensor tensor;
    const Distribution* theory;
  };
  static const Distribution zero = Distribution::constant(0);
  std::vector<Item> items;
  for (const auto& mp : params) {
    const auto row = std::find_if(report.rows().begin(), report.rows().end(),
                                  [&](const ReportRow& r) { return r.path == mp.info.path; });
    if (row == report.rows().end() || row->spec.empty() || mp.tensor.numel() == 0) continue;
    at::Tensor tensor = mp.tensor;
    if (row->padding_idx) {
      const int64_t pad = *row->padding_idx, n = tensor.size(0);
      TORCH_CHECK(pad >= 0 && pad < n, "torchinit::check: the report's padding row ", pad, " of ",
                  row->path, " is outside its ", n, " rows; check the module the report is of");
      items.push_back(
          {fmt::format("{}[padding_idx={}]", row->path, pad), tensor.select(0, pad), &zero});
      tensor = at::cat({tensor.narrow(0, 0, pad), tensor.narrow(0, pad + 1, n - pad - 1)});
    }
    const int64_t out_dim = mp.info.layout.out_dim, rows = mp.info.shape[out_dim] / row->blocks;
    for (int64_t b = 0; b < row->blocks; ++b)
      items.push_back({block_key(row->path, b, row->blocks),
                       row->blocks > 1 ? tensor.narrow(out_dim, b * rows, rows) : tensor,
                       &row->theory});
  }
  TORCH_CHECK(!items.empty(), "torchinit::check: no parameter of the module is in the report");
  const CheckOptions each = CheckOptions(options).alpha(options.alpha() / double(items.size()));
  ModuleCheck out;
  for (const auto& item : items) out.add(item.key, check(item.tensor, *item.theory, each));
  return out;
}

ModuleCheck check(const torch::nn::Module& module, const Report& report,
                  const CheckOptions& options) {
  return check_params(module_params(module), report, options);
}

Report Plan::apply(const torch::nn::AnyModule& module, const ApplyOptions& options) const {
  TORCH_CHECK(!module.is_empty(), "torchinit::Plan::apply: empty AnyModule");
  return apply(*module.ptr(), options);
}

Report Plan::explain(const torch::nn::AnyModule& module, const ApplyOptions& options) const {
  TORCH_CHECK(!module.is_empty(), "torchinit::Plan::explain: empty AnyModule");
  return explain(*module.ptr(), options);
}

ModuleCheck check(const torch::nn::AnyModule& module, const Report& report,
                  const CheckOptions& options) {
  TORCH_CHECK(!module.is_empty(), "torchinit::check: empty AnyModule");
  return check(*module.ptr(), report, options);
}

}  // namespace torchinit
