// Initializer: one named initialization scheme with its arguments bound. It promises a
// Distribution for a parameter (theory) and writes values that follow it (fill).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "torchinit/distribution.h"
#include "torchinit/layout.h"
#include "torchinit/random.h"
#include "torchinit/slice.h"
#include "torchinit/spec.h"

namespace torchinit {

class Initializer {
 public:
  virtual ~Initializer() = default;

  // The resolved spec: canonical name and every argument, defaults included.
  const Spec& spec() const { return spec_; }
  const std::string& name() const { return spec_.name(); }

  // Throws c10::Error naming the initializer, the shape and the fix when the scheme cannot apply
  // to `p` (too few dims, wrong dims for dirac, …). Called before any byte is written.
  virtual void validate(const ParamInfo& p) const { (void)p; }
  // The distribution of one element of the initialized parameter.
  virtual Distribution theory(const ParamInfo& p) const = 0;
  // Philox backend. `t` is contiguous, on the CPU, float32 or float64, and validated.
  virtual void fill(at::Tensor& t, const ParamInfo& p, const Stream& s) const = 0;
  // LibTorch backend: the same scheme through LibTorch's generator and torch::nn::init, so that
  // torch::manual_seed reproduces torch::nn::init's bytes. `t` is any validated floating tensor.
  virtual void fill_torch(at::Tensor& t, const ParamInfo& p) const = 0;
  // Sharded fill (init_shard_): writes into `out` (contiguous, CPU, float32/float64, numel = the
  // runs' total) the values fill() writes at element runs `runs` of the full parameter `p`, one
  // run after the other. The default materializes the full parameter with fill() and copies
  // the runs: memory and time of the full parameter, for schemes of your own whose values
  // depend on the whole tensor. Every built-in scheme overrides it with shard-sized work.
  virtual void fill_runs(at::Tensor& out, const std::vector<ElementRun>& runs, const ParamInfo& p,
                         const Stream& s) const;
  // Derived quantities worth showing (gain, fan, std, bound), in display order.
  virtual std::vector<std::pair<std::string, double>> details(const ParamInfo& p) const {
    (void)p;
    return {};
  }

  // Set by the registry when it binds the arguments.
  void set_spec(Spec spec) { spec_ = std::move(spec); }

 private:
  Spec spec_;
};

}  // namespace torchinit
