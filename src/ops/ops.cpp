// torchinit as a LibTorch op library (`torchinit_ops`): PyTorch loads it with
// torch.ops.load_library and calls torch.ops.torchinit.<op> like a built-in. Each op calls the
// C++ API, so Python gets the C++ bytes. Structured results cross the op boundary as JSON; the
// Python package (python/torchinit) turns them into objects.
#include <torch/library.h>

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "torchinit/check.h"
#include "torchinit/init.h"

namespace {

// init_(Tensor(a!) self, str spec, int? seed=None, str key="") -> Tensor(a!)
at::Tensor init_op(at::Tensor self, std::string spec, c10::optional<int64_t> seed,
                   std::string key) {
  torchinit::InitOptions options;
  options.key(std::move(key));
  if (seed) {
    TORCH_CHECK(*seed >= 0, "torchinit.init_: seed must be >= 0, got ", *seed,
                "; pass None to draw one from torch's default generator");
    options.seed(static_cast<uint64_t>(*seed));
  }
  torchinit::init_(self, spec, options);
  return self;
}

// Meta (and FakeTensor) kernel of init_: no data, so tracing tools see the op; the spec is
// still validated against the shape.
at::Tensor init_meta(at::Tensor self, std::string spec, c10::optional<int64_t>, std::string) {
  (void)torchinit::theory(spec, self.sizes());
  return self;
}

nlohmann::json number(double x) {
  return std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x);
}

// theory(str spec, int[] shape) -> str: the distribution as JSON.
std::string theory_op(std::string spec, std::vector<int64_t> shape) {
  const torchinit::Distribution d = torchinit::theory(spec, shape);
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [name, value] : d.params()) params[name] = number(value);
  return nlohmann::json{{"family", d.family()},     {"text", d.str()},
                        {"mean", number(d.mean())}, {"variance", number(d.variance())},
                        {"std", number(d.std())},   {"params", params}}
      .dump();
}

// check(Tensor self, str spec, float alpha=1e-6) -> str: the CheckResult as JSON.
std::string check_op(const at::Tensor& self, std::string spec, double alpha) {
  return torchinit::check(self, spec, torchinit::CheckOptions().alpha(alpha)).json();
}

}  // namespace

TORCH_LIBRARY(torchinit, m) {
  m.def("init_(Tensor(a!) self, str spec, int? seed=None, str key=\"\") -> Tensor(a!)");
  m.def("theory(str spec, int[] shape) -> str", &theory_op);
  m.def("check(Tensor self, str spec, float alpha=1e-6) -> str", &check_op);
}

// Every device with storage (torchinit::init_ handles the device), and Meta without data.
TORCH_LIBRARY_IMPL(torchinit, CompositeExplicitAutograd, m) { m.impl("init_", &init_op); }
TORCH_LIBRARY_IMPL(torchinit, Meta, m) { m.impl("init_", &init_meta); }
// Initialization records no autograd history (torchinit::init_ writes under NoGradGuard).
TORCH_LIBRARY_IMPL(torchinit, Autograd, m) {
  m.impl("init_", torch::CppFunction::makeFallthrough());
}
