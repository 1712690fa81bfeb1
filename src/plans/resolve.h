// Plan resolution: every tensor of a module matched to its rule, the whole plan validated before
// anything is written, and the Report's rows; shared by explain, apply and apply_sharded.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "torchinit/module_layout.h"
#include "torchinit/plan.h"
#include "torchinit/slice.h"

namespace torchinit::detail {

// The spec that stands for each parameter's LibTorch default (ParamInfo::torch_default).
constexpr const char* kTorchDefaultSpec = "torch_default";

// One tensor to initialize: its canonical path's parameter, the other paths it is reachable by,
// and the initializer of its canonical path's rule (torch_default resolved).
struct Planned {
  ModuleParam param;
  std::shared_ptr<const Initializer> init;  // null when unmatched (non-strict)
  int rule = -1;
  std::vector<std::string> aliases;
  std::optional<int64_t> padding_idx;  // from any of its paths that is an Embedding's
};

// The stream key of stacked block `b` of `blocks` ("path[b]"; the path itself when unstacked).
std::string block_key(const std::string& path, int64_t b, int64_t blocks);
// "rule 3 (line 5) `selector = spec`".
std::string rule_text(const Rule& r, int index);

// Matches every tensor to its rule and validates the whole plan before anything is written.
// With `writes` false (explain), tensors on the meta device are validated without storage.
std::vector<Planned> resolve(const Plan& plan, std::vector<ModuleParam> params,
                             const ApplyOptions& options, Report& report, bool writes = true);
std::vector<Planned> resolve(const Plan& plan, const torch::nn::Module& module,
                             const ApplyOptions& options, Report& report);

// Zeroes the padding row (along dim 0) of an embedding, or its part inside `slice` when
// `tensor` holds that slice of the full parameter `full`.
void zero_padding_row(const at::Tensor& tensor, const ParamInfo& full, int64_t row,
                      const Slice& slice);

}  // namespace torchinit::detail
