// Initialize one tensor by a named spec, and ask what distribution a spec promises.
//
//   torch::Tensor w = torch::empty({256, 128});
//   torchinit::init_(w, "xavier_uniform(gain=relu)",
//                    torchinit::InitOptions().seed(7).key("fc1.weight"));
//   torchinit::Distribution d = torchinit::theory("xavier_uniform(gain=relu)", w.sizes());
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "torchinit/distribution.h"
#include "torchinit/initializer.h"

namespace torchinit {

enum class Backend {
  Philox,  // counter-based streams: bytes depend on (seed, key, element index) only
  Torch,   // LibTorch's generator and torch::nn::init's arithmetic: equals torch::nn::init
           // under the same torch::manual_seed (seed and key are ignored)
};

struct InitOptions {
  // Stream seed; when unset, drawn from LibTorch's default CPU generator so that
  // torch::manual_seed(n) makes a program reproducible.
  TORCH_ARG(std::optional<uint64_t>, seed) = std::nullopt;
  // Stream key, normally the parameter's path ("fc1.weight"): tensors with different keys get
  // independent values under one seed.
  TORCH_ARG(std::string, key) = "";
  TORCH_ARG(Backend, backend) = Backend::Philox;
};

// Fills `tensor` in place (float32/64, float16, bfloat16; any strides; any device with storage)
// and returns it. Zero-element tensors are left as they are. On bad input it throws c10::Error
// naming the initializer, the shape and the fix, and leaves the tensor unchanged.
at::Tensor init_(const at::Tensor& tensor, std::string_view spec, const InitOptions& options = {});
at::Tensor init_(const at::Tensor& tensor, const Initializer& initializer, const ParamInfo& param,
                 const InitOptions& options = {});

// Every check init_ makes before writing (dtype, device, dims, the initializer's own), without
// writing; c10::Error on failure. Zero-element tensors pass. This overload checks for
// Backend::Philox, which fills every supported dtype on every device.
void validate_init(const at::Tensor& tensor, const Initializer& initializer,
                   const ParamInfo& param);
// The same for `backend`. For Backend::Torch on a dtype or device other than CPU float32/float64
// it also dry-runs the initializer's LibTorch kernels on a small tensor of that dtype and device
// (LibTorch has no float16 CPU erfinv_ or log, for instance), restoring the default generators'
// states afterwards so that the real fill draws the same values; concurrent users of those
// generators should not run meanwhile (LibTorch's stream is shared state either way).
void validate_init(const at::Tensor& tensor, const Initializer& initializer, const ParamInfo& param,
                   Backend backend);

// The distribution `spec` promises for a tensor of `shape` (PyTorch's fan convention).
Distribution theory(std::string_view spec, at::IntArrayRef shape);

// The seed InitOptions resolves to: its own, or one drawn from LibTorch's default generator.
uint64_t resolve_seed(const InitOptions& options);

}  // namespace torchinit
