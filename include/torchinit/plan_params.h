// Plans over a list of parameters instead of a torch::nn::Module: for front ends that describe
// their modules as data (Python's torch.nn modules, through the op library). Plan::explain,
// Plan::apply and check(module, report) are these functions on module_params(module), so a
// list built from the same descriptions gives the same Report and the same bytes.
//
// `params` lists every path in named_parameters order, a tied tensor once per path (ties are
// found by tensor identity), each with info = describe_parameter(desc, name, shape) and
// info.path then set to the full path ("layers.0.weight").
#pragma once

#include <ATen/core/Tensor.h>

#include <string_view>
#include <vector>

#include "torchinit/module_layout.h"
#include "torchinit/plan.h"
#include "torchinit/shard.h"

namespace torchinit {

Report explain_params(const Plan& plan, std::vector<ModuleParam> params,
                      const ApplyOptions& options = {});
Report apply_params(const Plan& plan, std::vector<ModuleParam> params,
                    const ApplyOptions& options = {});
ModuleCheck check_params(const std::vector<ModuleParam>& params, const Report& report,
                         const CheckOptions& options = {});
// Plan::apply_sharded on a list: params[i].info describes the FULL parameter (its shape the full
// shape), params[i].tensor is this rank's part of it, cut as shards[path] says (a path or any
// alias of a tied tensor); parameters that `shards` does not name are held whole. Fans, roles,
// gate blocks and stream keys come from the full parameters, so the shards get the bytes that
// apply_params gives the full tensors. Needs Backend::Philox; c10::Error (nothing written) for a
// ShardMap path that is not a parameter, a full shape other than the described one, or a tensor
// that is not its slice's shape.
Report apply_sharded_params(const Plan& plan, std::vector<ModuleParam> params,
                            const ShardMap& shards, const ApplyOptions& options = {});

// The parameters of a module tree described as JSON (module_desc_json.h):
//   {"modules": [<ModuleDesc>, …],
//    "params": [{"path": "lstm.weight_ih_l0", "name": "weight_ih_l0", "module": 0,
//                "shape": [256, 32]}, …]}
// `params` in named_parameters order, every path of a tied tensor; `module` indexes `modules`.
// tensors[i] is params[i]'s tensor, and its shape must be the one described: a c10::Error names
// the path otherwise.
std::vector<ModuleParam> params_from_json(std::string_view json,
                                          const std::vector<at::Tensor>& tensors);
// The same for shards: a parameter that `shards` names is described with its full shape, and its
// tensor must have its slice's shape (apply_sharded_params).
std::vector<ModuleParam> params_from_json(std::string_view json,
                                          const std::vector<at::Tensor>& tensors,
                                          const ShardMap& shards);

}  // namespace torchinit
