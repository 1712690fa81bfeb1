// A LibTorch application using torchinit as a user would: initialize a weight by name, ask for
// its theory, and verify that every value lies inside the promised support.
#include <ATen/ops/empty.h>
#include <torchinit/torchinit.h>

#include <cmath>
#include <cstdio>

int main() {
  at::Tensor w = at::empty({256, 128});
  torchinit::init_(w, "xavier_uniform(gain=relu)",
                   torchinit::InitOptions().seed(7).key("fc1.weight"));
  const torchinit::Distribution d = torchinit::theory("xavier_uniform(gain=relu)", w.sizes());
  const double bound = d.param("b");
  const double expected = std::sqrt(2.0) * std::sqrt(6.0 / (256 + 128));
  const double max_abs = w.abs().max().item<double>();
  std::printf("%s: max |w| = %.6f, bound = %.6f\n", d.str().c_str(), max_abs, bound);
  if (std::abs(bound - expected) > 1e-12 || max_abs > bound || max_abs < 0.9 * bound) return 1;
  return 0;
}
