#include "torchinit/init.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/MemoryOverlap.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>

#include <cmath>
#include <limits>
#include <mutex>

#include "torchinit/registry.h"

namespace torchinit {
namespace {

bool is_supported_dtype(at::ScalarType t) {
  return t == at::kFloat || t == at::kDouble || t == at::kHalf || t == at::kBFloat16;
}

// Everything that can be wrong with the tensor itself, checked before any byte is written.
void check_tensor(const at::Tensor& t, const Initializer& init, const ParamInfo& p) {
  TORCH_CHECK(t.defined(), "torchinit::init_: ", init.name(),
              " got an undefined tensor; allocate it first, e.g. torch::empty({out, in})");
  TORCH_CHECK(is_supported_dtype(t.scalar_type()), "torchinit::init_: ", init.name(),
              " needs a floating tensor (float32, float64, float16 or bfloat16), got ",
              t.scalar_type(), " of shape ", p.shape_str(),
              "; initialize a float tensor and convert it with .to(dtype)");
  TORCH_CHECK(!t.is_meta(), "torchinit::init_: ", init.name(),
              " got a tensor on the meta device (shape ", p.shape_str(),
              "), which has no storage; materialize it with to_empty(device) first");
  // An expand()ed view repeats one element: filling it element by element would leave the last
  // write in every alias, not the promised distribution.
  TORCH_CHECK(at::has_internal_overlap(t) != at::MemOverlap::Yes, "torchinit::init_: ", init.name(),
              " got a tensor of shape ", p.shape_str(), " with strides ", t.strides(),
              " whose elements overlap in memory (an expand()ed view); initialize ",
              "a tensor that owns its elements, e.g. t.contiguous() or torch::empty(shape)");
}

// Largest magnitude a value of `d` can take (9 std for normal tails: Box–Muller in double
// reaches 8.6).
double reach(const Distribution& d) {
  switch (d.kind()) {
    case Distribution::Kind::Constant:
      return std::abs(d.mean());
    case Distribution::Kind::Uniform:
      return std::max(std::abs(d.param("a")), std::abs(d.param("b")));
    case Distribution::Kind::Normal:
      return std::abs(d.mean()) + 9 * d.std();
    case Distribution::Kind::TruncatedNormal: {
      const double tails = std::abs(d.param("mean")) + 9 * d.param("std");
      return std::min(tails, std::max(std::abs(d.param("a")), std::abs(d.param("b"))));
    }
    case Distribution::Kind::Orthogonal:
      return d.structure().gain;
    case Distribution::Kind::LogUniform:
      return std::max(std::abs(std::log(d.param("lo"))), std::abs(std::log(d.param("hi"))));
    case Distribution::Kind::Mixture: {
      double r = 0;
      for (const auto& c : d.components()) r = std::max(r, reach(c.second));
      return r;
    }
  }
  return 0;
}

double max_of(at::ScalarType t) {
  switch (t) {
    case at::kDouble:
      return std::numeric_limits<double>::max();
    case at::kHalf:
      return 65504.0;
    case at::kBFloat16:
      return 3.3895313892515355e38;
    default:
      return std::numeric_limits<float>::max();
  }
}

// Smallest spread a random distribution may have in dtype `t`: 16 of its smallest subnormals;
// below that the values round to a few representable numbers around zero.
double min_spread_of(at::ScalarType t) {
  switch (t) {
    case at::kDouble:
      return 16 * std::numeric_limits<double>::denorm_min();
    case at::kHalf:
      return 16 * 5.9604644775390625e-08;
    case at::kBFloat16:
      return 16 * 9.183549615799121e-41;
    default:
      return 16 * double(std::numeric_limits<float>::denorm_min());
  }
}

// The promised values must be representable in the tensor's dtype: no silent inf, and no random
// distribution so narrow that it underflows to zeros.
void check_fits(const at::Tensor& t, const Initializer& init, const ParamInfo& p) {
  const Distribution d = init.theory(p);
  const double r = reach(d);
  TORCH_CHECK(std::isfinite(r) && r <= max_of(t.scalar_type()),
              "torchinit::init_: ", init.spec().str(), " on shape ", p.shape_str(), " promises ",
              d.str(), ", whose values (up to ", r, ") overflow ", t.scalar_type(), " (max ",
              max_of(t.scalar_type()), "); use a wider dtype or a smaller scale");
  const bool random = d.kind() == Distribution::Kind::Uniform ||
                      d.kind() == Distribution::Kind::Normal ||
                      d.kind() == Distribution::Kind::TruncatedNormal;
  TORCH_CHECK(!random || d.std() >= min_spread_of(t.scalar_type()),
              "torchinit::init_: ", init.spec().str(), " on shape ", p.shape_str(), " promises ",
              d.str(), ", whose std ", d.std(), " underflows ", t.scalar_type(),
              " (values would round to zero); use a ", "wider dtype or a larger scale");
}

}  // namespace

uint64_t resolve_seed(const InitOptions& options) {
  if (options.seed()) return *options.seed();
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

void validate_init(const at::Tensor& tensor, const Initializer& init, const ParamInfo& p) {
  check_tensor(tensor, init, p);
  if (tensor.numel() == 0) return;
  init.validate(p);
  try {
    check_fits(tensor, init, p);
  } catch (const c10::Error& e) {
    // The theory itself failed (e.g. arguments whose arithmetic overflows to a zero gain): say
    // which spec and shape, not only which distribution.
    const std::string inner = e.what_without_backtrace();
    if (inner.rfind("torchinit::init_:", 0) == 0) throw;
    TORCH_CHECK(false, "torchinit::init_: ", init.spec().str(), " on shape ", p.shape_str(),
                " gives no valid distribution (", inner,
                "); use arguments of a moderate magnitude");
  }
}

at::Tensor init_(const at::Tensor& tensor, std::string_view spec, const InitOptions& options) {
  const auto init = Registry::global().make(spec);
  const ParamInfo p =
      tensor.defined() ? ParamInfo::from_shape(tensor.sizes().vec(), options.key()) : ParamInfo{};
  return init_(tensor, *init, p, options);
}

at::Tensor init_(const at::Tensor& tensor, const Initializer& init, const ParamInfo& p,
                 const InitOptions& options) {
  validate_init(tensor, init, p);
  if (tensor.numel() == 0) return tensor;  // as torch.nn.init: a no-op
  at::NoGradGuard no_grad;  // in-place on a leaf that requires grad, with no autograd history
  at::Tensor target = tensor;
  if (options.backend() == Backend::Torch) {
    init.fill_torch(target, p);
    return tensor;
  }
  const Stream stream(resolve_seed(options), hash_key(options.key()));
  const bool direct = tensor.device().is_cpu() && tensor.is_contiguous() &&
                      (tensor.scalar_type() == at::kFloat || tensor.scalar_type() == at::kDouble);
  if (direct) {
    init.fill(target, p, stream);
    return tensor;
  }
  // Non-contiguous views, half types and other devices: fill a contiguous CPU float32/float64
  // buffer with the same element indices (row-major over the logical shape), then copy.
  at::Tensor buffer = at::empty(
      tensor.sizes(),
      at::TensorOptions().dtype(tensor.scalar_type() == at::kDouble ? at::kDouble : at::kFloat));
  init.fill(buffer, p, stream);
  target.copy_(buffer);
  return tensor;
}

Distribution theory(std::string_view spec, at::IntArrayRef shape) {
  const auto init = Registry::global().make(spec);
  const ParamInfo p = ParamInfo::from_shape(shape.vec());
  TORCH_CHECK(p.numel() > 0, "torchinit::theory: ", init->name(), " on the zero-element shape ",
              p.shape_str(), " has no distribution");
  init->validate(p);
  return init->theory(p);
}

}  // namespace torchinit
