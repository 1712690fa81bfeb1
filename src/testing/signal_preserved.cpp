// torchinit::test::SignalPreserved: propagate() as a GoogleTest predicate.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/nn/module.h>

#include "torchinit/propagation.h"
#include "torchinit/testing.h"

namespace torchinit::test {

::testing::AssertionResult SignalPreserved(torch::nn::Module& net, std::vector<int64_t> input_shape,
                                           double tolerance, uint64_t seed) {
  const std::string shape = fmt::format("[{}]", fmt::join(input_shape, ", "));
  const Propagation p = propagate(net, std::move(input_shape),
                                  PropagationOptions().seed(seed).growth_tolerance(tolerance));
  const auto& layers = p.layers();
  const std::string numbers = fmt::format(
      "forward growth {:.4g}/layer ({}), backward growth {:.4g}/layer ({}); allowed [{:.4g}, "
      "{:.4g}] (tolerance {:.3g}); E[h^2] {:.4g} at {} -> {:.4g} at {}; {} layers, input {}, "
      "seed {}",
      p.forward_growth(), p.forward_verdict(), p.backward_growth(), p.backward_verdict(),
      1 / (1 + tolerance), 1 + tolerance, tolerance, layers.front().second_moment,
      layers.front().path, layers.back().second_moment, layers.back().path, layers.size(), shape,
      seed);
  if (p.verdict() == "stable")
    return ::testing::AssertionSuccess() << "signal preserved: " << numbers;
  return ::testing::AssertionFailure() << "signal " << p.verdict() << ": " << numbers;
}

}  // namespace torchinit::test
