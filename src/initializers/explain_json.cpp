// explain_json and initializers_json (explain.h): the registry's view of a spec and of itself.
#include <c10/util/Exception.h>

#include <nlohmann/json.hpp>

#include "torchinit/explain.h"
#include "torchinit/registry.h"

namespace torchinit {

std::string explain_json(std::string_view spec, const std::vector<int64_t>& shape) {
  const auto init = Registry::global().make(spec);
  const ParamInfo p = ParamInfo::from_shape(shape);
  TORCH_CHECK(p.numel() > 0, "torchinit explain: shape ", p.shape_str(),
              " has no elements; give positive sizes");
  init->validate(p);
  const Distribution d = init->theory(p);
  nlohmann::json out = {{"spec", init->spec().str()},
                        {"shape", shape},
                        {"family", d.family()},
                        {"distribution", d.str()},
                        {"mean", d.mean()},
                        {"variance", d.variance()},
                        {"std", d.std()},
                        {"fourth_central_moment", d.fourth_central_moment()}};
  for (const auto& [k, v] : init->details(p)) out[k] = v;
  return out.dump(2);
}

std::string initializers_json() {
  const Registry& r = Registry::global();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& name : r.names()) {
    const RegistryEntry e = *r.find(name);
    nlohmann::json args = nlohmann::json::array();
    for (const auto& a : e.args) {
      args.push_back({{"name", a.name},
                      {"default", a.default_value ? nlohmann::json(*a.default_value) : nullptr},
                      {"doc", a.doc},
                      {"choices", a.choices}});
    }
    out.push_back({{"name", e.name},
                   {"aliases", e.aliases},
                   {"args", args},
                   {"summary", e.doc.summary},
                   {"formula", e.doc.formula},
                   {"paper", e.doc.paper}});
  }
  return out.dump(2);
}

}  // namespace torchinit
