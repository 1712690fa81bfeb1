// Backend::Torch: the same bytes as torch::nn::init under the same torch::manual_seed.
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/where.h>
#include <gtest/gtest.h>
#include <torch/nn/init.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "test_util.h"
#include "torchinit/gain.h"
#include "torchinit/init.h"

namespace {

using torchinit::Backend;
using torchinit::InitOptions;
using torchinit::testutil::same_bytes;

struct ParityCase {
  std::string spec;
  std::vector<int64_t> shape;
  std::function<void(at::Tensor&)> torch_init;
};

void PrintTo(const ParityCase& c, std::ostream* os) { *os << c.spec; }

class TorchParity : public ::testing::TestWithParam<ParityCase> {};

TEST_P(TorchParity, SameBytesAsTorchNnInit) {
  const ParityCase& c = GetParam();
  for (uint64_t seed : {0ull, 7ull, 123456789ull}) {
    torch::manual_seed(seed);
    at::Tensor want = torch::empty(c.shape);
    c.torch_init(want);
    torch::manual_seed(seed);
    const at::Tensor got = at::empty(c.shape);
    // seed and key are ignored by the Torch backend: LibTorch's generator decides.
    torchinit::init_(got, c.spec, InitOptions().backend(Backend::Torch).seed(99).key("ignored"));
    EXPECT_TRUE(same_bytes(got, want)) << c.spec << " with torch::manual_seed(" << seed << ")";
  }
}

namespace init = torch::nn::init;

INSTANTIATE_TEST_SUITE_P(
    Torch, TorchParity,
    ::testing::Values(
        ParityCase{"uniform", {64, 33}, [](at::Tensor& t) { init::uniform_(t); }},
        ParityCase{"uniform(a=-0.3, b=0.2)",
                   {64, 33},
                   [](at::Tensor& t) { init::uniform_(t, -0.3, 0.2); }},
        ParityCase{"normal", {64, 33}, [](at::Tensor& t) { init::normal_(t); }},
        ParityCase{"normal(mean=0.5, std=0.02)",
                   {7, 5},  // below the 16-element vector path
                   [](at::Tensor& t) { init::normal_(t, 0.5, 0.02); }},
        ParityCase{"normal(mean=0.5, std=0.02)",
                   {64, 33},
                   [](at::Tensor& t) { init::normal_(t, 0.5, 0.02); }},
        ParityCase{"constant(val=0.25)", {8, 9}, [](at::Tensor& t) { init::constant_(t, 0.25); }},
        ParityCase{"zeros", {8, 9}, [](at::Tensor& t) { init::zeros_(t); }},
        ParityCase{"ones", {8, 9}, [](at::Tensor& t) { init::ones_(t); }},
        ParityCase{"eye", {8, 9}, [](at::Tensor& t) { init::eye_(t); }},
        ParityCase{"dirac", {8, 4, 3, 3}, [](at::Tensor& t) { init::dirac_(t); }},
        ParityCase{"dirac", {6, 6, 5}, [](at::Tensor& t) { init::dirac_(t); }},
        ParityCase{
            "xavier_uniform", {64, 32, 3, 3}, [](at::Tensor& t) { init::xavier_uniform_(t); }},
        ParityCase{"xavier_uniform(gain=1.7)",
                   {64, 33},
                   [](at::Tensor& t) { init::xavier_uniform_(t, 1.7); }},
        ParityCase{"xavier_normal", {64, 33}, [](at::Tensor& t) { init::xavier_normal_(t); }},
        ParityCase{"xavier_normal(gain=0.3)",
                   {64, 32, 3, 3},
                   [](at::Tensor& t) { init::xavier_normal_(t, 0.3); }},
        ParityCase{
            "kaiming_uniform", {64, 32, 3, 3}, [](at::Tensor& t) { init::kaiming_uniform_(t); }},
        ParityCase{
            "kaiming_uniform(mode=fan_out, nonlinearity=relu)",
            {64, 32, 3, 3},
            [](at::Tensor& t) { init::kaiming_uniform_(t, 0, torch::kFanOut, torch::kReLU); }},
        ParityCase{"kaiming_uniform(a=0.2, nonlinearity=leaky_relu)",
                   {64, 33},
                   [](at::Tensor&
                          t) { init::kaiming_uniform_(t, 0.2, torch::kFanIn, torch::kLeakyReLU); }},
        // torch.nn.Linear's own reset: kaiming_uniform_(a=sqrt(5)).
        ParityCase{"kaiming_uniform(a=2.23606797749979)",
                   {64, 33},
                   [](at::Tensor& t) { init::kaiming_uniform_(t, std::sqrt(5.0)); }},
        ParityCase{"kaiming_normal", {64, 33}, [](at::Tensor& t) { init::kaiming_normal_(t); }},
        ParityCase{
            "kaiming_normal(mode=fan_out, nonlinearity=relu)",
            {64, 32, 3, 3},
            [](at::Tensor& t) { init::kaiming_normal_(t, 0, torch::kFanOut, torch::kReLU); }},
        ParityCase{"kaiming_normal(a=0.1, mode=fan_out, nonlinearity=leaky_relu)",
                   {64, 33},
                   [](at::Tensor& t) {
                     init::kaiming_normal_(t, 0.1, torch::kFanOut, torch::kLeakyReLU);
                   }},
        ParityCase{"kaiming_normal(nonlinearity=tanh)",
                   {64, 33},
                   [](at::Tensor& t) { init::kaiming_normal_(t, 0, torch::kFanIn, torch::kTanh); }},
        ParityCase{"orthogonal", {64, 33}, [](at::Tensor& t) { init::orthogonal_(t); }},
        ParityCase{"orthogonal(gain=2)", {20, 50}, [](at::Tensor& t) { init::orthogonal_(t, 2); }},
        ParityCase{"orthogonal", {16, 8, 3}, [](at::Tensor& t) { init::orthogonal_(t); }},
        ParityCase{"sparse(sparsity=0.3)", {40, 12}, [](at::Tensor& t) { init::sparse_(t, 0.3); }},
        ParityCase{"sparse(sparsity=0.5, std=0.2)",
                   {17, 9},
                   [](at::Tensor& t) { init::sparse_(t, 0.5, 0.2); }}),
    [](const ::testing::TestParamInfo<ParityCase>& info) {
      std::string s = info.param.spec + "_" + std::to_string(info.index);
      for (char& ch : s)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return s;
    });

// torch.nn.init.trunc_normal_ written out with the same ATen calls, as the PyTorch of this
// LibTorch has it (torch/nn/init.py, _no_grad_trunc_normal_); Python's own function is compared
// from Python (test/python/test_backends.py).
at::Tensor trunc_normal_by_hand(at::Tensor t, double mean, double std, double a, double b) {
  auto norm_cdf = [](double x) { return (1. + std::erf(x / std::sqrt(2.))) / 2.; };
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 12)
  // 2.12+ (pytorch#174997): rejection from N(mean, std^2) when p > 0.3, else from U(a, b).
  if (norm_cdf((b - mean) / std) - norm_cdf((a - mean) / std) > 0.3) {
    const double lo = at::scalar_tensor(a, t.options()).item<double>();
    const double hi = at::scalar_tensor(b, t.options()).item<double>();
    at::Tensor result = t.normal_(mean, std);
    for (;;) {
      at::Tensor mask = result.lt(lo).bitwise_or(result.gt(hi));
      if (!mask.any().item<bool>()) break;
      result = at::where(mask, at::empty_like(result).normal_(mean, std), result);
    }
    return t.copy_(result);
  }
  const double mode = std::max(a, std::min(mean, b));
  const double log_peak = -0.5 * std::pow((mode - mean) / std, 2);
  at::Tensor candidates = at::empty_like(t), accept = at::empty_like(t);
  t.uniform_(a, b);
  candidates.copy_(t);
  candidates.sub_(mean).div_(std).pow_(2).mul_(-0.5).sub_(log_peak);
  at::Tensor pending = accept.uniform_().log_().gt(candidates);
  if (!pending.any().item<bool>()) return t;
  at::Tensor result = t;
  for (;;) {
    candidates.uniform_(a, b);
    result = at::where(pending, candidates, result);
    candidates.sub_(mean).div_(std).pow_(2).mul_(-0.5).sub_(log_peak);
    pending = at::where(pending, accept.uniform_().log_().gt(candidates), pending);
    if (!pending.any().item<bool>()) break;
  }
  return t.copy_(result);
#else
  // Up to 2.11: uniform_(2l-1, 2u-1) -> erfinv_ -> mul_(std sqrt 2) -> add_(mean) -> clamp_(a, b),
  // with l, u the normal CDF at the standardized bounds.
  const double l = norm_cdf((a - mean) / std), u = norm_cdf((b - mean) / std);
  t.uniform_(2 * l - 1, 2 * u - 1);
  t.erfinv_();
  t.mul_(std * std::sqrt(2.));
  t.add_(mean);
  return t.clamp_(a, b);
#endif
}

TEST(TorchParityTruncNormal, EqualsPyTorchsCompositionByHand) {
  struct Case {
    double mean, std, a, b;
  };
  // The last case holds 2% of the mass: 2.12+'s uniform-rejection branch.
  for (const Case c :
       {Case{0, 1, -2, 2}, Case{0, 0.02, -2, 2}, Case{0.5, 1, 0, 3}, Case{0, 1, 2, 3}}) {
    const std::string spec = "trunc_normal(mean=" + std::to_string(c.mean) +
                             ", std=" + std::to_string(c.std) + ", a=" + std::to_string(c.a) +
                             ", b=" + std::to_string(c.b) + ")";
    torch::manual_seed(11);
    const at::Tensor want = trunc_normal_by_hand(torch::empty({50, 40}), c.mean, c.std, c.a, c.b);
    torch::manual_seed(11);
    const at::Tensor got = at::empty({50, 40});
    torchinit::init_(got, spec, InitOptions().backend(Backend::Torch));
    EXPECT_TRUE(same_bytes(got, want)) << spec;
    EXPECT_GE(got.min().item<double>(), c.a) << spec;
    EXPECT_LE(got.max().item<double>(), c.b) << spec;
  }
}

TEST(TorchParityCalculateGain, MatchesTorchForItsNames) {
  EXPECT_EQ(torchinit::calculate_gain("linear"), init::calculate_gain(torch::kLinear));
  EXPECT_EQ(torchinit::calculate_gain("conv2d"), init::calculate_gain(torch::kConv2D));
  EXPECT_EQ(torchinit::calculate_gain("sigmoid"), init::calculate_gain(torch::kSigmoid));
  EXPECT_EQ(torchinit::calculate_gain("tanh"), init::calculate_gain(torch::kTanh));
  EXPECT_EQ(torchinit::calculate_gain("relu"), init::calculate_gain(torch::kReLU));
  for (double slope : {0.01, 0.2, std::sqrt(5.0)}) {
    EXPECT_EQ(torchinit::calculate_gain("leaky_relu", slope),
              init::calculate_gain(torch::kLeakyReLU, slope));
  }
}

}  // namespace
