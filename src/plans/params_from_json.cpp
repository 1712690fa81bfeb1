// Parameters of a module tree that a front end (the Python package) describes as JSON.
#include <c10/util/Exception.h>

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "torchinit/module_desc_json.h"
#include "torchinit/plan_params.h"

namespace torchinit {
namespace {

constexpr const char* kParamsJsonWho = "torchinit::params_from_json: ";

const nlohmann::json& member(const nlohmann::json& object, const char* key,
                             const std::string& where) {
  const auto it = object.find(key);
  TORCH_CHECK(it != object.end(), kParamsJsonWho, where, " has no '", key, "'");
  return *it;
}

}  // namespace

std::vector<ModuleParam> params_from_json(std::string_view text,
                                          const std::vector<at::Tensor>& tensors) {
  return params_from_json(text, tensors, ShardMap{});
}

std::vector<ModuleParam> params_from_json(std::string_view text,
                                          const std::vector<at::Tensor>& tensors,
                                          const ShardMap& shards) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    TORCH_CHECK(false, kParamsJsonWho, "invalid JSON: ", e.what());
  }
  TORCH_CHECK(doc.is_object(), kParamsJsonWho, "expects {\"modules\": […], \"params\": […]}");
  const auto& modules = member(doc, "modules", "the description");
  const auto& params = member(doc, "params", "the description");
  TORCH_CHECK(modules.is_array() && params.is_array(), kParamsJsonWho,
              "'modules' and 'params' must be arrays");
  TORCH_CHECK(params.size() == tensors.size(), kParamsJsonWho, "the description lists ",
              params.size(), " parameters but ", tensors.size(), " tensors came with it");
  std::vector<ModuleDesc> descs;
  descs.reserve(modules.size());
  for (size_t i = 0; i < modules.size(); ++i) {
    try {
      descs.push_back(module_desc_from_json(modules[i].dump()));
    } catch (const c10::Error& e) {
      TORCH_CHECK(false, kParamsJsonWho, "modules[", i, "]: ", e.what_without_backtrace());
    }
  }
  std::vector<ModuleParam> out;
  out.reserve(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string where = "params[" + std::to_string(i) + "]";
    const auto& p = params[i];
    TORCH_CHECK(p.is_object(), kParamsJsonWho, where,
                " must be an object {path, name, module, shape}");
    const auto& path = member(p, "path", where);
    const auto& name = member(p, "name", where);
    const auto& module = member(p, "module", where);
    const auto& shape = member(p, "shape", where);
    TORCH_CHECK(path.is_string() && name.is_string(), kParamsJsonWho, where,
                ": 'path' and 'name' must be strings");
    TORCH_CHECK(module.is_number_integer() && module.get<int64_t>() >= 0 &&
                    module.get<int64_t>() < static_cast<int64_t>(descs.size()),
                kParamsJsonWho, where, " (", path.get<std::string>(),
                "): 'module' must index 'modules' (", descs.size(), " of them), got ",
                module.dump());
    TORCH_CHECK(shape.is_array(), kParamsJsonWho, where, ": 'shape' must be an array of integers");
    std::vector<int64_t> sizes;
    for (const auto& s : shape) {
      TORCH_CHECK(s.is_number_integer(), kParamsJsonWho, where,
                  ": 'shape' must be an array of integers");
      sizes.push_back(s.get<int64_t>());
    }
    const at::Tensor& tensor = tensors[i];
    // A shard is checked against its slice by apply_sharded_params, with the ShardMap's words.
    const bool sharded = shards.find(path.get<std::string>()) != shards.end();
    TORCH_CHECK(tensor.defined() && (sharded || tensor.sizes().vec() == sizes), kParamsJsonWho,
                path.get<std::string>(), ": the description says shape ", shape.dump(),
                " but its tensor ",
                tensor.defined() ? "has " + c10::str(tensor.sizes()) : std::string("is undefined"));
    ModuleParam mp;
    mp.tensor = tensor;
    mp.info = describe_parameter(descs[module.get<size_t>()], name.get<std::string>(), sizes);
    mp.info.path = path.get<std::string>();
    out.push_back(std::move(mp));
  }
  return out;
}

}  // namespace torchinit
