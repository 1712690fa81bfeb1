// --dtype names shared by the verbs that allocate a tensor (check, bench).
#include <c10/util/Exception.h>

#include <map>

#include "cli/commands.h"
#include "torchinit/spec.h"

namespace torchinit::cli {

at::ScalarType parse_dtype(const std::string& name, std::string_view command) {
  static const std::map<std::string, at::ScalarType> types = {{"float32", at::kFloat},
                                                              {"float64", at::kDouble},
                                                              {"float16", at::kHalf},
                                                              {"bfloat16", at::kBFloat16}};
  auto it = types.find(name);
  if (it != types.end()) return it->second;
  TORCH_CHECK(false, "torchinit ", command, ": unknown --dtype '", name, "';",
              did_you_mean(name, {"float32", "float64", "float16", "bfloat16"}),
              " use float32, float64, float16 or bfloat16");
}

}  // namespace torchinit::cli
