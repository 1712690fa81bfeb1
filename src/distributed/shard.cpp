#include "torchinit/shard.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "torchinit/elementwise_initializer.h"
#include "torchinit/registry.h"

namespace torchinit {
namespace {

constexpr const char* kInitShardWho = "torchinit::init_shard_";
// Elements of the float buffer through which element-wise fills reach half-type shards (4 MiB).
constexpr int64_t kBufferElements = int64_t(1) << 20;

}  // namespace

const at::Tensor& init_shard_(const at::Tensor& shard, const Initializer& init,
                              const ParamInfo& full, const Slice& slice,
                              const InitOptions& options) {
  TORCH_CHECK(options.backend() == Backend::Philox, kInitShardWho, ": ", init.name(),
              " needs Backend::Philox: LibTorch's generator draws in call order, so a shard "
              "cannot reproduce its part of the full tensor; drop .backend(Backend::Torch)");
  try {
    validate_init(shard, init, full);
    if (full.numel() > 0) init.validate(full);  // also for empty shards of uneven splits
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, kInitShardWho, ": ", e.what_without_backtrace(),
                " (full shape of the shard)");
  }
  const std::vector<int64_t> expected = slice.shard_shape(full.shape, kInitShardWho);
  if (slice.is_flat()) {
    TORCH_CHECK(shard.numel() == expected[0], kInitShardWho, ": the shard holds ", shard.numel(),
                " elements, but slice ", slice.str(), " of the full shape ", full.shape_str(),
                " has ", expected[0], "; allocate the shard with ", expected[0], " elements");
  } else {
    TORCH_CHECK(shard.sizes().vec() == expected, kInitShardWho, ": the shard has shape ",
                fmt::format("[{}]", fmt::join(shard.sizes(), ", ")), ", but slice ", slice.str(),
                " of the full shape ", full.shape_str(), " has shape ",
                fmt::format("[{}]", fmt::join(expected, ", ")),
                "; allocate the shard with the slice's shape");
  }
  if (shard.numel() == 0) return shard;
  const std::vector<ElementRun> runs = slice.runs(full.shape, kInitShardWho);
  at::NoGradGuard no_grad;
  const Stream stream(resolve_seed(options), hash_key(options.key()));
  const bool direct = shard.device().is_cpu() && shard.is_contiguous() &&
                      (shard.scalar_type() == at::kFloat || shard.scalar_type() == at::kDouble);
  at::Tensor target = shard;
  if (direct) {
    init.fill_runs(target, runs, full, stream);
    return shard;
  }
  // Element-wise schemes into a contiguous CPU half-type shard: a float buffer of at most
  // kBufferElements, refilled run piece by run piece (the values depend on element indices only),
  // so the shard's memory is all the fill needs.
  if (shard.device().is_cpu() && shard.is_contiguous() &&
      dynamic_cast<const ElementwiseInitializer*>(&init) != nullptr) {
    at::Tensor flat = shard.view({-1});
    at::Tensor buffer = at::empty({std::min(kBufferElements, shard.numel())},
                                  at::TensorOptions().dtype(at::kFloat));
    int64_t pos = 0;
    std::vector<ElementRun> piece;
    int64_t held = 0;
    auto flush = [&] {
      at::Tensor part = buffer.slice(0, 0, held);
      init.fill_runs(part, piece, full, stream);
      flat.slice(0, pos, pos + held).copy_(part);
      pos += held;
      held = 0;
      piece.clear();
    };
    for (ElementRun run : runs) {
      while (run.count > 0) {
        const int64_t take = std::min(run.count, kBufferElements - held);
        piece.push_back({run.first, take});
        held += take;
        run.first += take;
        run.count -= take;
        if (held == kBufferElements) flush();
      }
    }
    if (held > 0) flush();
    return shard;
  }
  // As init_: half types, strided views and other devices go through a float buffer.
  at::Tensor buffer = at::empty(
      shard.sizes(),
      at::TensorOptions().dtype(shard.scalar_type() == at::kDouble ? at::kDouble : at::kFloat));
  init.fill_runs(buffer, runs, full, stream);
  target.copy_(buffer);
  return shard;
}

at::Tensor& init_shard_(at::Tensor& shard, std::string_view spec, at::IntArrayRef full_shape,
                        const Slice& slice, const InitOptions& options) {
  const auto init = Registry::global().make(spec);
  init_shard_(static_cast<const at::Tensor&>(shard), *init,
              ParamInfo::from_shape(full_shape.vec(), options.key()), slice, options);
  return shard;
}

}  // namespace torchinit
