// ElementwiseInitializer: an Initializer whose element e is a function of the stream and of e
// alone (plus numbers fixed per parameter, such as a std from the fans). A subclass defines that
// function once, as element_fill(); fill (the whole tensor, in parallel chunks) and fill_runs
// (a shard: element runs of the full parameter, in shard-sized memory) follow from it, so a shard
// always holds the bytes of the same part of the full init. Worked example:
// docs/adding-an-initializer.md.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <type_traits>
#include <utility>
#include <vector>

#include "torchinit/initializer.h"
#include "torchinit/random.h"

namespace torchinit {

// The values of consecutive elements of a parameter: f(out, first, count, stream) writes those of
// elements [first, first + count) of the flattened parameter to out[0..count), for float and
// double. Built from a generic lambda:
//
//   [std](auto* out, int64_t first, int64_t count, const torchinit::Stream& s) {
//     torchinit::fill_normal(out, first, count, s, 0.0, std);
//   }
//
// It takes runs, not single elements, so that vectorized kernels (fill_normal, …) serve it.
// Callers cut the parameter into runs anywhere (threads, shards), so a value may depend on its
// element index and the stream only, never on `first` or `count`.
class ElementFill {
 public:
  // Implicit, so that element_fill() can `return [..](auto* out, …) {…};`.
  template <typename Fill,
            typename = std::enable_if_t<!std::is_same_v<std::decay_t<Fill>, ElementFill>>>
  ElementFill(Fill fill) : float_(fill), double_(std::move(fill)) {}

  void operator()(float* out, int64_t first, int64_t count, const Stream& s) const {
    float_(out, first, count, s);
  }
  void operator()(double* out, int64_t first, int64_t count, const Stream& s) const {
    double_(out, first, count, s);
  }

 private:
  std::function<void(float*, int64_t, int64_t, const Stream&)> float_;
  std::function<void(double*, int64_t, int64_t, const Stream&)> double_;
};

class ElementwiseInitializer : public Initializer {
 public:
  // The element values for parameter `p` (the full parameter, also when filling a shard). Work
  // that depends on `p` only (fans, a std) belongs here, before the returned function: it runs
  // once per fill, the function once per chunk or run.
  virtual ElementFill element_fill(const ParamInfo& p) const = 0;

  // element_fill(p) on parallel chunks of [0, numel).
  void fill(at::Tensor& t, const ParamInfo& p, const Stream& s) const final;
  // element_fill(p) on the runs only: memory and time of the shard.
  void fill_runs(at::Tensor& out, const std::vector<ElementRun>& runs, const ParamInfo& p,
                 const Stream& s) const final;
};

}  // namespace torchinit
