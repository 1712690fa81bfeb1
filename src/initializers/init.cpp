#include "torchinit/init.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <optional>

#include "initializers/memory_overlap.h"
#include "initializers/validate.h"
#include "torchinit/registry.h"

namespace torchinit {
namespace {

bool is_supported_dtype(at::ScalarType t) {
  return t == at::kFloat || t == at::kDouble || t == at::kHalf || t == at::kBFloat16;
}

// The resolved spec for a message: bounded, as its number tokens keep the user's spelling.
std::string spec_text(const Initializer& init) { return excerpt(init.spec().str(), 160); }

// What can be wrong with the tensor's type, checked before any byte is written.
void check_tensor_type(const at::Tensor& t, const Initializer& init, const ParamInfo& p) {
  TORCH_CHECK(t.defined(), "torchinit::init_: ", init.name(),
              " got an undefined tensor; allocate it first, e.g. torch::empty({out, in})");
  TORCH_CHECK(is_supported_dtype(t.scalar_type()), "torchinit::init_: ", init.name(),
              " needs a floating tensor (float32, float64, float16 or bfloat16), got ",
              t.scalar_type(), " of shape ", p.shape_str(),
              "; initialize a float tensor and convert it with .to(dtype)");
  TORCH_CHECK(t.layout() == at::kStrided, "torchinit::init_: ", init.name(), " got a ", t.layout(),
              " tensor of shape ", p.shape_str(),
              ", which has no dense elements to fill; initialize a dense tensor (torch::empty) "
              "and convert it, e.g. with .to_sparse()");
}

// What can be wrong with the tensor's storage.
void check_tensor_storage(const at::Tensor& t, const Initializer& init, const ParamInfo& p) {
  TORCH_CHECK(!t.is_meta(), "torchinit::init_: ", init.name(),
              " got a tensor on the meta device (shape ", p.shape_str(),
              "), which has no storage; materialize it with to_empty(device) first");
  // A view whose elements share memory (expand(), as_strided with small strides) cannot hold
  // independent values: filling it would leave the last write in every shared element.
  TORCH_CHECK(!detail::elements_overlap(t.sizes(), t.strides()), "torchinit::init_: ", init.name(),
              " got a tensor of shape ", p.shape_str(), " with strides ", t.strides(),
              " whose elements overlap in memory (an expand()ed or as_strided view); initialize ",
              "a tensor that owns its elements, e.g. t.contiguous() or torch::empty(shape)");
}

// Saves the default generators of the CPU and of `device` and puts their states back when
// destroyed, so that a dry run leaves LibTorch's random stream where it was.
class GeneratorStates {
 public:
  explicit GeneratorStates(const at::Device& device) {
    save(at::detail::getDefaultCPUGenerator());
    if (!device.is_cpu()) save(at::globalContext().defaultGenerator(device));
  }
  ~GeneratorStates() {
    for (auto& [gen, state] : saved_) {
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(state);
    }
  }
  GeneratorStates(const GeneratorStates&) = delete;
  GeneratorStates& operator=(const GeneratorStates&) = delete;

 private:
  void save(at::Generator gen) {
    std::lock_guard<std::mutex> lock(gen.mutex());
    at::Tensor state = gen.get_state();
    saved_.emplace_back(std::move(gen), std::move(state));
  }
  std::vector<std::pair<at::Generator, at::Tensor>> saved_;
};

// The parameter of a dry run: `p` itself when small, else the first of a few small shapes of
// the same rank that the initializer accepts (the default layout keeps their fans valid).
ParamInfo dry_run_param(const Initializer& init, const ParamInfo& p) {
  constexpr int64_t kSmall = 4096;
  if (p.numel() <= kSmall) return p;
  for (const bool keep_rows : {false, true}) {
    ParamInfo small = p;
    small.layout = Layout{};
    for (int64_t d = 0; d < small.dim(); ++d)
      small.shape[d] =
          d == 0 && keep_rows ? p.shape[0] : std::min<int64_t>(p.shape[d], d < 2 ? 4 : 1);
    try {
      init.validate(small);
      (void)init.theory(small);
      return small;
    } catch (const c10::Error&) {
    }
  }
  return p;
}

// Backend::Torch runs LibTorch's own kernels, which exist for some (op, dtype, device) only
// (erfinv_ has no float16 CPU kernel). Dry-runs fill_torch on a small tensor of the same dtype
// and device and, when it fails where a CPU float32/float64 tensor of that shape succeeds, says
// so before anything is written. The generators' states are restored, so the real run draws
// exactly what it would have: parity with torch::nn::init holds.
void check_torch_kernels(const at::Tensor& t, const Initializer& init, const ParamInfo& p) {
  const at::ScalarType reference = t.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  if (t.device().is_cpu() && t.scalar_type() == reference) return;  // every kernel exists
  const ParamInfo small = dry_run_param(init, p);
  const auto fills = [&](const at::TensorOptions& options) -> std::optional<std::string> {
    try {
      at::NoGradGuard no_grad;
      at::Tensor probe = at::empty(small.shape, options);
      init.fill_torch(probe, small);
      return std::nullopt;
    } catch (const std::exception& e) {
      const c10::Error* c10_error = dynamic_cast<const c10::Error*>(&e);
      const std::string what = c10_error ? c10_error->what_without_backtrace() : e.what();
      return what.substr(0, what.find('\n'));
    }
  };
  std::optional<std::string> failure;
  {
    const GeneratorStates restore(t.device());
    failure = fills(t.options());
    // A failure a CPU reference tensor shares is about the small shape's values, not the dtype
    // or the device: the real run decides.
    if (failure && fills(at::TensorOptions().dtype(reference))) failure.reset();
  }
  TORCH_CHECK(!failure, "torchinit::init_: ", spec_text(init),
              " with Backend::Torch cannot fill a ", t.scalar_type(), " tensor of shape ",
              p.shape_str(), " on ", t.device(), ": LibTorch has no kernel for it (",
              excerpt(*failure, 160),
              "); use Backend::Philox, which supports float16 and bfloat16 on any device, or ",
              "initialize a float32 tensor and convert it with .to(dtype). Nothing was written");
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

// The smallest std of the random parts of `d` (its mixture components included; orthogonal
// entries count as random); infinity when nothing in it is random.
double narrowest_spread(const Distribution& d) {
  switch (d.kind()) {
    case Distribution::Kind::Uniform:
    case Distribution::Kind::Normal:
    case Distribution::Kind::TruncatedNormal:
    case Distribution::Kind::Orthogonal:
      return d.std();  // computed without squaring: no underflow of its own
    case Distribution::Kind::Mixture: {
      double s = std::numeric_limits<double>::infinity();
      for (const auto& c : d.components()) s = std::min(s, narrowest_spread(c.second));
      return s;
    }
    default:
      return std::numeric_limits<double>::infinity();
  }
}

// The promised values must be representable in the tensor's dtype: no silent inf, and no random
// distribution so narrow that it underflows to zeros.
void check_fits(const at::Tensor& t, const Initializer& init, const ParamInfo& p) {
  const Distribution d = init.theory(p);
  const double r = reach(d);
  TORCH_CHECK(std::isfinite(r) && r <= max_of(t.scalar_type()),
              "torchinit::init_: ", spec_text(init), " on shape ", p.shape_str(), " promises ",
              d.str(), ", whose values (up to ", r, ") overflow ", t.scalar_type(), " (max ",
              max_of(t.scalar_type()), "); use a wider dtype or a smaller scale");
  const double spread = narrowest_spread(d);
  TORCH_CHECK(spread >= min_spread_of(t.scalar_type()), "torchinit::init_: ", spec_text(init),
              " on shape ", p.shape_str(), " promises ", d.str(), ", whose std ", spread,
              " underflows ", t.scalar_type(), " (values would round to zero); use a ",
              "wider dtype or a larger scale");
}

}  // namespace

uint64_t resolve_seed(const InitOptions& options) {
  if (options.seed()) return *options.seed();
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

namespace {

// The initializer's own checks on the shape, and the theory's fit in the tensor's dtype.
void check_initializer_fits(const at::Tensor& tensor, const Initializer& init, const ParamInfo& p) {
  if (tensor.numel() == 0) return;
  init.validate(p);
  try {
    check_fits(tensor, init, p);
  } catch (const c10::Error& e) {
    // The theory itself failed (e.g. arguments whose arithmetic overflows to a zero gain): say
    // which spec and shape, not only which distribution.
    const std::string inner = e.what_without_backtrace();
    if (inner.rfind("torchinit::init_:", 0) == 0) throw;
    TORCH_CHECK(false, "torchinit::init_: ", spec_text(init), " on shape ", p.shape_str(),
                " gives no valid distribution (", inner,
                "); use arguments of a moderate magnitude");
  }
}

}  // namespace

void validate_init(const at::Tensor& tensor, const Initializer& init, const ParamInfo& p) {
  check_tensor_type(tensor, init, p);
  check_tensor_storage(tensor, init, p);
  check_initializer_fits(tensor, init, p);
}

void detail::validate_init_without_storage(const at::Tensor& tensor, const Initializer& init,
                                           const ParamInfo& p) {
  check_tensor_type(tensor, init, p);
  check_initializer_fits(tensor, init, p);
}

void validate_init(const at::Tensor& tensor, const Initializer& init, const ParamInfo& p,
                   Backend backend) {
  validate_init(tensor, init, p);
  if (backend == Backend::Torch && tensor.numel() > 0) check_torch_kernels(tensor, init, p);
}

at::Tensor init_(const at::Tensor& tensor, std::string_view spec, const InitOptions& options) {
  const auto init = Registry::global().make(spec);
  const ParamInfo p =
      tensor.defined() ? ParamInfo::from_shape(tensor.sizes().vec(), options.key()) : ParamInfo{};
  return init_(tensor, *init, p, options);
}

at::Tensor init_(const at::Tensor& tensor, const Initializer& init, const ParamInfo& p,
                 const InitOptions& options) {
  validate_init(tensor, init, p, options.backend());
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
