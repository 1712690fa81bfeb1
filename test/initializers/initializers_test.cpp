// Every registered initializer against its own theory (KS and moment z-tests at alpha 1e-4 with
// fixed seeds, structure checks for orthogonal/sparse, exact values for eye/dirac/constant), the
// theory against the closed-form formulas, variance scaling in every mode, golden values, and
// determinism (threads, keys, views, dtypes, LibTorch's seed).
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/eye.h>
#include <ATen/ops/full.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/zeros.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "initializers/builtin_names.h"
#include "initializers/cholesky_qr.h"
#include "test_util.h"
#include "torchinit/distribution.h"
#include "torchinit/init.h"
#include "torchinit/registry.h"
#include "torchinit/stats.h"

namespace {

using torchinit::Distribution;
using torchinit::InitOptions;
using torchinit::testutil::float_bits;
using torchinit::testutil::same_bytes;
using torchinit::testutil::SamplesMatch;
using Shape = std::vector<int64_t>;

// ---- closed-form theories, written from the formulas (PyTorch's fan convention) ----

struct TestFans {
  double in, out;
};
TestFans fans_of(const Shape& s) {
  double receptive = 1;
  for (size_t i = 2; i < s.size(); ++i) receptive *= double(s[i]);
  return {double(s[1]) * receptive, double(s[0]) * receptive};
}
int64_t numel_of(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}
Distribution symmetric_uniform_with_std(double std) {
  return Distribution::uniform(-std::sqrt(3.0) * std, std::sqrt(3.0) * std);
}
constexpr double kKerasTruncatedStd = 0.87962566103423978;  // std of N(0,1) cut to [-2, 2]

using Theory = std::function<Distribution(const Shape&)>;

struct InitCase {
  std::string name;  // the canonical name this case covers
  std::string spec;
  std::vector<Shape> shapes;  // the first one is also run in float64 (and float16, bfloat16)
  Theory expected;
  // Whether the float16/bfloat16 runs apply: rounding to 8 significant bits moves the CDF of a
  // narrow distribution by more than the KS critical distance, which says nothing about the
  // initializer (the cast itself is checked bit for bit in Determinism.HalfAndBFloat16...).
  bool half_types = true;
};

const Shape kSquare = {256, 256};
const Shape kConv = {64, 32, 3, 3};

std::vector<InitCase> init_cases() {
  const double relu = std::sqrt(2.0);
  return {
      {"uniform",
       "uniform",
       {kConv, kSquare},
       [](const Shape&) { return Distribution::uniform(0, 1); }},
      {"uniform",
       "uniform(a=-0.5, b=0.25)",
       {kSquare},
       [](const Shape&) { return Distribution::uniform(-0.5, 0.25); }},
      {"normal",
       "normal(mean=0.1, std=0.02)",
       {kConv, kSquare},
       [](const Shape&) { return Distribution::normal(0.1, 0.02); }},
      {"trunc_normal",
       "trunc_normal(std=0.5)",
       {kConv, kSquare},
       [](const Shape&) { return Distribution::truncated_normal(0, 0.5, -2, 2); }},
      {"trunc_normal",
       "trunc_normal(mean=0.5, std=1, a=0, b=3)",
       {kSquare},
       [](const Shape&) { return Distribution::truncated_normal(0.5, 1, 0, 3); }},
      // Small std and a one-sided tail window (pytorch#145498, #155588): exact in float32.
      {"trunc_normal",
       "trunc_normal(mean=0, std=0.001, a=0.0025, b=0.004)",
       {kSquare},
       [](const Shape&) { return Distribution::truncated_normal(0, 0.001, 0.0025, 0.004); },
       false},
      {"trunc_normal",
       "trunc_normal(std=1, a=-6, b=-5)",
       {kConv},
       [](const Shape&) { return Distribution::truncated_normal(0, 1, -6, -5); },
       false},
      {"constant",
       "constant(val=0.3)",
       {kConv, kSquare},
       [](const Shape&) { return Distribution::constant(0.3); }},
      {"zeros", "zeros", {kConv}, [](const Shape&) { return Distribution::constant(0); }},
      {"ones", "ones", {kConv}, [](const Shape&) { return Distribution::constant(1); }},
      {"xavier_uniform",
       "xavier_uniform",
       {kConv, kSquare},
       [](const Shape& s) {
         const auto f = fans_of(s);
         return symmetric_uniform_with_std(std::sqrt(2.0 / (f.in + f.out)));
       }},
      {"xavier_uniform",
       "xavier_uniform(gain=relu)",
       {{128, 512}},
       [relu](const Shape& s) {
         const auto f = fans_of(s);
         return symmetric_uniform_with_std(relu * std::sqrt(2.0 / (f.in + f.out)));
       }},
      {"xavier_normal",
       "xavier_normal(gain=0.5)",
       {kConv, kSquare},
       [](const Shape& s) {
         const auto f = fans_of(s);
         return Distribution::normal(0, 0.5 * std::sqrt(2.0 / (f.in + f.out)));
       }},
      {"kaiming_uniform",
       "kaiming_uniform",
       {kConv, kSquare},
       [relu](const Shape& s) {
         return symmetric_uniform_with_std(relu / std::sqrt(fans_of(s).in));
       }},
      {"kaiming_uniform",
       "kaiming_uniform(a=0.2, mode=fan_out, nonlinearity=leaky_relu)",
       {kConv},
       [](const Shape& s) {
         const double gain = std::sqrt(2.0 / (1 + 0.2 * 0.2));
         return symmetric_uniform_with_std(gain / std::sqrt(fans_of(s).out));
       }},
      {"kaiming_normal",
       "kaiming_normal(mode=fan_out, nonlinearity=relu)",
       {kConv, kSquare},
       [relu](const Shape& s) {
         return Distribution::normal(0, relu / std::sqrt(fans_of(s).out));
       }},
      {"kaiming_normal",
       "kaiming_normal(nonlinearity=tanh)",
       {kConv},
       [](const Shape& s) {
         return Distribution::normal(0, (5.0 / 3) / std::sqrt(fans_of(s).in));
       }},
      {"lecun_uniform",
       "lecun_uniform",
       {kConv, kSquare},
       [](const Shape& s) { return symmetric_uniform_with_std(1 / std::sqrt(fans_of(s).in)); }},
      {"lecun_normal",
       "lecun_normal",
       {kConv, kSquare},
       [](const Shape& s) { return Distribution::normal(0, 1 / std::sqrt(fans_of(s).in)); }},
      {"variance_scaling",
       "variance_scaling",
       {kConv, kSquare},
       [](const Shape& s) {
         const double sd = std::sqrt(1.0 / fans_of(s).in) / kKerasTruncatedStd;
         return Distribution::truncated_normal(0, sd, -2 * sd, 2 * sd);
       }},
      {"scaled_trunc_normal",
       "scaled_trunc_normal(scale=0.5, mode=fan_out, cutoff=3)",
       {kConv, kSquare},
       [](const Shape& s) {
         // OLMo/torchtitan: std sqrt(scale/fan), cut at ±3 std, not rescaled.
         const double sd = std::sqrt(0.5 / fans_of(s).out);
         return Distribution::truncated_normal(0, sd, -3 * sd, 3 * sd);
       }},
      {"orthogonal",
       "orthogonal",
       {kConv, kSquare, {300, 100}, {128, 4, 3}},
       [](const Shape& s) { return Distribution::orthogonal(s[0], numel_of(s) / s[0], 1.0); }},
      {"orthogonal",
       "orthogonal(gain=relu)",
       {{96, 160}},
       [relu](const Shape& s) { return Distribution::orthogonal(s[0], s[1], relu); }},
      {"sparse",
       "sparse(sparsity=0.25, std=0.05)",
       {kSquare, {300, 100}},
       [](const Shape& s) {
         return Distribution::sparse(s[0], s[1], int64_t(std::ceil(0.25 * s[0])), 0.05);
       }},
      {"sparse",
       "sparse(sparsity=0.1)",
       {{37, 200}},
       [](const Shape& s) {
         return Distribution::sparse(s[0], s[1], int64_t(std::ceil(0.1 * s[0])), 0.01);
       }},
      {"eye",
       "eye",
       {kSquare, {64, 128}, {100, 30}},
       [](const Shape& s) { return Distribution::eye(s[0], s[1]); }},
      {"dirac",
       "dirac",
       {kConv, {16, 24, 5}, {8, 8, 3, 3, 3}},
       [](const Shape& s) { return Distribution::dirac(s, 1); }},
      {"dirac",
       "dirac(groups=2)",
       {{8, 4, 3, 3}, {16, 3, 5}},
       [](const Shape& s) { return Distribution::dirac(s, 2); }},
      // Structural schemes.
      {"forget_gate_bias",
       "forget_gate_bias(value=1)",
       {{64}, {4}},
       [](const Shape&) {
         return Distribution::block_constant({0, 1, 0, 0});
       }},
      {"delta_orthogonal",
       "delta_orthogonal",
       {{64, 32, 3, 3}, {32, 64, 5}, {16, 16, 3, 3, 3}},
       [](const Shape& s) { return Distribution::delta_orthogonal(s, 1.0); },
       false},
      {"chrono",
       "chrono(t_max=100)",
       {{4096}, {256}},
       [](const Shape&) { return Distribution::chrono(100); },
       false},
      {"fixup",
       "fixup(layers=16)",
       {kConv, kSquare},
       [relu](const Shape& s) {
         // He normal scaled by L^(-1/(2m-2)) = 16^(-1/2).
         return Distribution::normal(0, relu / std::sqrt(fans_of(s).in) * 0.25);
       }},
  };
}

TEST(Coverage, EveryRegisteredInitializerHasACase) {
  std::set<std::string> covered;
  for (const auto& c : init_cases()) covered.insert(c.name);
  // Initializers added by other tests at run time are theirs to cover.
  for (const std::string& name : torchinit::testutil::builtin_initializer_names()) {
    EXPECT_EQ(covered.count(name), 1u) << "initializer '" << name << "' has no test case";
  }
}

// ---- one case = (spec, shape, dtype) ----

struct Param {
  InitCase c;
  Shape shape;
  at::ScalarType dtype;
};

std::string shape_text(const Shape& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
  return out;
}

void PrintTo(const Param& p, std::ostream* os) {
  *os << p.c.spec << " on " << shape_text(p.shape) << " " << p.dtype;
}

std::vector<Param> params() {
  std::vector<Param> out;
  for (const auto& c : init_cases()) {
    for (size_t i = 0; i < c.shapes.size(); ++i) {
      out.push_back({c, c.shapes[i], at::kFloat});
      if (i == 0) {
        out.push_back({c, c.shapes[i], at::kDouble});
        if (c.half_types)
          for (auto t : {at::kHalf, at::kBFloat16}) out.push_back({c, c.shapes[i], t});
      }
    }
  }
  return out;
}

// |got - want| <= 1e-12 max(|want|, floor)
::testing::AssertionResult Close12(double got, double want, double floor) {
  if (std::abs(got - want) <= 1e-12 * std::max(std::abs(want), floor))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << got << " vs " << want;
}

// The library's theory equals the closed form: family, parameters and moments.
::testing::AssertionResult TheoryEquals(const Distribution& got, const Distribution& want) {
  if (got.family() != want.family())
    return ::testing::AssertionFailure() << "family " << got.family() << " vs " << want.family();
  if (got.params().size() != want.params().size())
    return ::testing::AssertionFailure() << got.str() << " vs " << want.str();
  const double scale = std::max(want.std(), std::abs(want.mean()));
  for (size_t i = 0; i < want.params().size(); ++i) {
    if (got.params()[i].first != want.params()[i].first ||
        !Close12(got.params()[i].second, want.params()[i].second, 1e-300))
      return ::testing::AssertionFailure() << got.str() << " vs " << want.str();
  }
  if (!Close12(got.mean(), want.mean(), scale) || !Close12(got.variance(), want.variance(), 0) ||
      !Close12(got.fourth_central_moment(), want.fourth_central_moment(), 0))
    return ::testing::AssertionFailure() << "moments of " << got.str() << " vs " << want.str();
  return ::testing::AssertionSuccess() << got.str();
}

// Unit roundoff of a storage dtype.
double unit_roundoff(at::ScalarType t) {
  switch (t) {
    case at::kDouble:
      return std::ldexp(1.0, -53);
    case at::kHalf:
      return std::ldexp(1.0, -11);
    case at::kBFloat16:
      return std::ldexp(1.0, -8);
    default:
      return std::ldexp(1.0, -24);
  }
}

// The value `x` rounded to dtype `t`.
double in_dtype(double x, at::ScalarType t) {
  return at::full({}, x, at::TensorOptions().dtype(at::kDouble)).to(t).item<double>();
}

// W W^T = gain^2 I (rows <= cols) or W^T W = gain^2 I (rows > cols) for the 2-D view. Tolerance:
// Householder QR in the working precision eps (float32 unless float64) loses orthogonality by
// O(n eps); we allow 4 n eps. Rounding to the storage dtype moves each row's norm and inner
// products by at most (2u + u^2) gain^2.
::testing::AssertionResult IsSemiOrthogonal(const at::Tensor& t, double gain) {
  const int64_t rows = t.size(0), cols = t.numel() / rows;
  const at::Tensor w = t.detach().to(at::kDouble).reshape({rows, cols});
  const at::Tensor gram = rows <= cols ? at::mm(w, w.t()) : at::mm(w.t(), w);
  const int64_t k = std::min(rows, cols), n = std::max(rows, cols);
  const at::Tensor dev =
      gram.sub(at::eye(k, at::TensorOptions().dtype(at::kDouble)).mul(gain * gain)).abs().max();
  const double eps = t.scalar_type() == at::kDouble ? std::ldexp(1.0, -52) : std::ldexp(1.0, -23);
  const double u = unit_roundoff(t.scalar_type());
  const double tol = gain * gain * (4 * double(n) * eps + 2 * u + u * u);
  const double got = dev.item<double>();
  if (got <= tol)
    return ::testing::AssertionSuccess() << "max |gram - gain^2 I| = " << got << " <= " << tol;
  return ::testing::AssertionFailure()
         << "max |gram - gain^2 I| = " << got << " > " << tol << " ("
         << (rows <= cols ? "W W^T" : "W^T W") << ", " << k << "x" << k << ")";
}

// The dirac tensor written independently: 1 at [g*opg + d, d, k0/2, k1/2, ...].
at::Tensor expected_dirac(const Shape& s, int64_t groups) {
  at::Tensor e = at::zeros(s, at::TensorOptions().dtype(at::kDouble));
  double* p = e.data_ptr<double>();
  const int64_t opg = s[0] / groups;
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t d = 0; d < std::min(opg, s[1]); ++d) {
      int64_t offset = (g * opg + d) * e.stride(0) + d * e.stride(1);
      for (size_t i = 2; i < s.size(); ++i) offset += (s[i] / 2) * e.stride(i);
      p[offset] = 1;
    }
  }
  return e;
}

class AgainstTheory : public ::testing::TestWithParam<Param> {};

TEST_P(AgainstTheory, SamplesFollowTheTheory) {
  const Param& p = GetParam();
  const at::Tensor t = at::empty(p.shape, at::TensorOptions().dtype(p.dtype));
  torchinit::init_(t, p.c.spec,
                   InitOptions().seed(20240611).key(p.c.spec + "@" + shape_text(p.shape)));
  const Distribution d = torchinit::theory(p.c.spec, p.shape);
  ASSERT_TRUE(TheoryEquals(d, p.c.expected(p.shape)));
  const std::vector<double> x = torchinit::testutil::to_doubles(t);
  for (double v : x) ASSERT_TRUE(std::isfinite(v)) << v;

  if (d.is_exact()) {
    at::Tensor want;
    if (d.family() == "eye") {
      want = at::eye(p.shape[0], p.shape[1], at::TensorOptions().dtype(at::kDouble));
    } else if (d.family() == "dirac") {
      want = expected_dirac(p.shape, d.structure().groups);
    } else if (d.family() == "block_constant") {
      // Gate blocks i, f, g, o of an LSTM bias: only the forget gate is nonzero.
      want = at::zeros(p.shape, at::TensorOptions().dtype(at::kDouble));
      want.narrow(0, p.shape[0] / 4, p.shape[0] / 4).fill_(1);
    } else {
      want = at::full(p.shape, d.mean(), at::TensorOptions().dtype(at::kDouble));
    }
    EXPECT_TRUE(at::equal(t, want.to(p.dtype))) << d.str();
    return;
  }

  // Low-precision dtypes round each value by at most half an ulp (relative 2^-9 for bfloat16):
  // that moves the empirical CDF by at most pdf_max * ulp/2 < 0.002, a quarter of the KS critical
  // distance at n = 18432 (0.016) or 65536 (0.0087), and the variance by ~1e-6 relative.
  EXPECT_TRUE(SamplesMatch(x, d));

  const double lo = *std::min_element(x.begin(), x.end());
  const double hi = *std::max_element(x.begin(), x.end());
  if (d.kind() == Distribution::Kind::Uniform || d.kind() == Distribution::Kind::TruncatedNormal) {
    // The support, rounded to the dtype (rounding is monotone, so it cannot overshoot that).
    EXPECT_GE(lo, in_dtype(d.param("a"), p.dtype));
    EXPECT_LE(hi, in_dtype(d.param("b"), p.dtype));
  }
  if (d.kind() == Distribution::Kind::Orthogonal) {
    EXPECT_TRUE(IsSemiOrthogonal(t, d.structure().gain));
  }
  if (d.family() == "chrono") {
    // Gates i, f, g, o: -ln u, ln u with u ~ U(1, 99), 0, 0.
    const int64_t h = p.shape[0] / 4;
    const at::Tensor w = t.to(at::kDouble);
    EXPECT_TRUE(w.narrow(0, 0, h).add(w.narrow(0, h, h)).eq(0).all().item<bool>());
    EXPECT_TRUE(w.narrow(0, 2 * h, 2 * h).eq(0).all().item<bool>());
    const at::Tensor f = w.narrow(0, h, h);
    EXPECT_TRUE(f.ge(0).all().item<bool>() && f.le(std::log(99.0) + 1e-6).all().item<bool>());
    EXPECT_TRUE(SamplesMatch(torchinit::testutil::to_doubles(f.contiguous()),
                             torchinit::Distribution::log_uniform(1, 99)));
  }
  if (d.family() == "delta_orthogonal") {
    // Zero everywhere but the center tap, which is semi-orthogonal.
    at::Tensor center = t;
    for (size_t i = 2; i < p.shape.size(); ++i) center = center.select(2, p.shape[i] / 2);
    EXPECT_TRUE(IsSemiOrthogonal(center.contiguous(), d.structure().gain));
    EXPECT_EQ(t.ne(0).sum().item<int64_t>(), center.ne(0).sum().item<int64_t>());
  }
  if (d.family() == "sparse") {
    const int64_t rows = p.shape[0], cols = p.shape[1];
    const int64_t want_zeros = d.structure().zeros_per_column;
    std::vector<double> nonzeros;
    for (int64_t c = 0; c < cols; ++c) {
      int64_t zeros = 0;
      for (int64_t r = 0; r < rows; ++r) {
        const double v = x[r * cols + c];
        if (v == 0) {
          ++zeros;
        } else {
          nonzeros.push_back(v);
        }
      }
      ASSERT_EQ(zeros, want_zeros) << "column " << c;
    }
    // The nonzero entries alone are N(0, std): KS applies to them.
    EXPECT_TRUE(SamplesMatch(nonzeros, d.components().back().second));
  }
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  std::string s = info.param.c.spec + "_" + shape_text(info.param.shape) + "_" +
                  std::string(c10::toString(info.param.dtype)) + "_" + std::to_string(info.index);
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(Registry, AgainstTheory, ::testing::ValuesIn(params()), param_name);

// ---- the statistical helper itself must be able to fail ----

TEST(SamplesMatchHelper, AcceptsTheTruthAndRejectsNearMisses) {
  // n = 65536 N(0, 1) draws. Against N(0, 1.03^2): z of the variance ~ 0.06 / sqrt(2/n) = 11.
  // Against N(0.02, 1): z of the mean = 0.02 sqrt(n) = 5.1. Against the uniform with the same
  // mean and variance: KS D ~ 0.03, far above the 1e-4 critical distance 0.0087.
  const at::Tensor t = at::empty({256, 256});
  torchinit::init_(t, "normal", InitOptions().seed(5).key("helper"));
  EXPECT_TRUE(SamplesMatch(t, Distribution::normal(0, 1)));
  const auto wide = SamplesMatch(t, Distribution::normal(0, 1.03));
  EXPECT_FALSE(wide);
  EXPECT_NE(std::string(wide.message()).find(") FAIL"), std::string::npos) << wide.message();
  const auto shifted = SamplesMatch(t, Distribution::normal(0.02, 1));
  EXPECT_FALSE(shifted);
  EXPECT_NE(std::string(shifted.message()).find("mean"), std::string::npos);
  const auto flat = SamplesMatch(t, Distribution::uniform(-std::sqrt(3.0), std::sqrt(3.0)));
  EXPECT_FALSE(flat);
  EXPECT_NE(std::string(flat.message()).find("KS D="), std::string::npos);
  EXPECT_NONFATAL_FAILURE(EXPECT_TRUE(SamplesMatch(t, Distribution::normal(0, 0.9))), "variance");
  // The threshold is the two-sided normal quantile at alpha = 1e-4.
  EXPECT_NEAR(torchinit::stats::normal_quantile_two_sided(1e-4), 3.8906, 1e-4);
}

// ---- variance scaling: every mode and distribution ----

struct VsCase {
  std::string mode, distribution;
};

class VarianceScaling : public ::testing::TestWithParam<VsCase> {};

TEST_P(VarianceScaling, StdIsSqrtScaleOverFanAndSamplesMatch) {
  const VsCase c = GetParam();
  const double scale = 2.0;
  const std::string spec =
      "variance_scaling(scale=2, mode=" + c.mode + ", distribution=" + c.distribution + ")";
  const auto f = fans_of(kConv);
  const double fan = c.mode == "fan_in" ? f.in : c.mode == "fan_out" ? f.out : (f.in + f.out) / 2;
  const Distribution d = torchinit::theory(spec, kConv);
  // Keras/JAX semantics: the std of the values (after truncation) is sqrt(scale / fan).
  EXPECT_TRUE(Close12(d.std(), std::sqrt(scale / fan), 0)) << spec << ": " << d.str();
  EXPECT_EQ(d.mean(), 0.0);
  if (c.distribution == "truncated_normal") {
    const double sd = std::sqrt(scale / fan) / kKerasTruncatedStd;
    EXPECT_EQ(d.family(), "truncated_normal");
    EXPECT_TRUE(Close12(d.param("std"), sd, 0));
    EXPECT_TRUE(Close12(d.param("a"), -2 * sd, 0));
    EXPECT_TRUE(Close12(d.param("b"), 2 * sd, 0));
  } else if (c.distribution == "uniform") {
    EXPECT_EQ(d.family(), "uniform");
    EXPECT_TRUE(Close12(d.param("b"), std::sqrt(3 * scale / fan), 0));
  } else {
    EXPECT_EQ(d.family(), "normal");
  }
  const at::Tensor t = at::empty(kConv);
  torchinit::init_(t, spec, InitOptions().seed(77).key(spec));
  EXPECT_TRUE(SamplesMatch(t, d)) << spec;
}

INSTANTIATE_TEST_SUITE_P(
    ModesAndDistributions, VarianceScaling,
    ::testing::Values(VsCase{"fan_in", "truncated_normal"}, VsCase{"fan_out", "truncated_normal"},
                      VsCase{"fan_avg", "truncated_normal"}, VsCase{"fan_in", "normal"},
                      VsCase{"fan_out", "normal"}, VsCase{"fan_avg", "normal"},
                      VsCase{"fan_in", "untruncated_normal"},
                      VsCase{"fan_avg", "untruncated_normal"}, VsCase{"fan_in", "uniform"},
                      VsCase{"fan_out", "uniform"}, VsCase{"fan_avg", "uniform"}),
    [](const ::testing::TestParamInfo<VsCase>& i) {
      return i.param.mode + "_" + i.param.distribution;
    });

TEST(VarianceScalingInstances, NamedSchemesAreVarianceScaling) {
  // xavier = fan_avg with scale gain^2, kaiming = fan_in with scale gain^2, lecun = fan_in, 1.
  const std::vector<std::pair<std::string, std::string>> same = {
      {"xavier_uniform", "variance_scaling(scale=1, mode=fan_avg, distribution=uniform)"},
      {"xavier_normal(gain=2)", "variance_scaling(scale=4, mode=fan_avg, distribution=normal)"},
      {"kaiming_uniform(nonlinearity=relu)", "variance_scaling(scale=2, distribution=uniform)"},
      {"kaiming_normal(mode=fan_out, nonlinearity=relu)",
       "variance_scaling(scale=2, mode=fan_out, distribution=normal)"},
      {"lecun_uniform", "variance_scaling(scale=1, distribution=uniform)"},
      {"lecun_normal", "variance_scaling(scale=1, distribution=normal)"}};
  for (const auto& [named, general] : same) {
    EXPECT_TRUE(TheoryEquals(torchinit::theory(named, kConv), torchinit::theory(general, kConv)))
        << named << " vs " << general;
  }
}

// ---- golden values: the first values of a few init_ calls, pinned bit for bit ----

std::vector<uint32_t> first_float_bits(const std::string& spec, const Shape& shape, int n) {
  const at::Tensor t = at::empty(shape);
  torchinit::init_(t, spec, InitOptions().seed(1234).key("golden"));
  std::vector<uint32_t> out;
  const float* p = t.data_ptr<float>();
  for (int i = 0; i < n; ++i) out.push_back(float_bits(p[i]));
  return out;
}

TEST(Golden, FirstValuesArePinned) {
  // Generated once by this code (seed 1234, key "golden"); a change here changes every user's
  // initial weights and needs a changelog entry. normal and trunc_normal were regenerated in 0.1
  // for the float Box-Muller (changelog); trunc_normal(std=0.02) keeps [-2, 2] = ±100 std, so its
  // values are normal's times 0.02 (the rejection sampler accepts them all).
  EXPECT_EQ(first_float_bits("uniform", {4, 4}, 6),
            (std::vector<uint32_t>{0x3f7e6bd3u, 0x3f690cf1u, 0x3dd04080u, 0x3e94663cu, 0x3f6602a0u,
                                   0x3e7afb38u}));
  EXPECT_EQ(first_float_bits("normal", {4, 4}, 6),
            (std::vector<uint32_t>{0x3dc09c77u, 0xbd734532u, 0xbf0799bcu, 0x400493afu, 0x3c696b37u,
                                   0x3eeccc7bu}));
  EXPECT_EQ(first_float_bits("trunc_normal(std=0.02)", {4, 4}, 6),
            (std::vector<uint32_t>{0x3af68ad5u, 0xba9bb167u, 0xbc2d9194u, 0x3d29b2cbu, 0x39956356u,
                                   0x3c178d1bu}));
  EXPECT_EQ(first_float_bits("kaiming_uniform", {16, 8}, 6),
            (std::vector<uint32_t>{0x3f5af7cau, 0x3f35f3f1u, 0xbf309d59u, 0xbeba5eaau, 0x3f30afdbu,
                                   0xbee20c7eu}));
}

std::vector<uint64_t> first_double_bits(const std::string& spec, int n) {
  const at::Tensor t = at::empty({3, 3}, at::TensorOptions().dtype(at::kDouble));
  torchinit::init_(t, spec, InitOptions().seed(1234).key("golden"));
  const double* p = t.data_ptr<double>();
  std::vector<uint64_t> got;
  for (int i = 0; i < n; ++i) got.push_back(torchinit::testutil::double_bits(p[i]));
  return got;
}

TEST(Golden, FirstDoubleValuesArePinned) {
  // uniform is integer arithmetic and one exact scaling: the same bits on every platform.
  EXPECT_EQ(first_double_bits("uniform", 4),
            (std::vector<uint64_t>{0x3fed219e309fcd7aull, 0x3fd28cc7a7c68204ull,
                                   0x3fcf5f6752f30150ull, 0x3fda2abd5c802d20ull}));
  // normal goes through log/cos/sin (glibc's, correctly rounded in practice).
  EXPECT_EQ(first_double_bits("normal", 4),
            (std::vector<uint64_t>{0xbfbb7c8c6b028563ull, 0x3fdadfa3a3b197abull,
                                   0xbff68cfdb5c85689ull, 0x3fed13fc4e5b7e7bull}));
}

// ---- determinism ----

// Restores the intra-op thread count on scope exit.
struct ThreadCountGuard {
  int saved = at::get_num_threads();
  ~ThreadCountGuard() { at::set_num_threads(saved); }
};

TEST(Determinism, SameBytesAtOneTwoAndFourThreads) {
  ThreadCountGuard guard;
  // 2^20 elements: 32 chunks of the 2^15-element parallel grain.
  const Shape shape = {1024, 1024};
  for (const std::string spec : {"uniform", "normal", "trunc_normal(std=0.3)", "kaiming_uniform",
                                 "sparse(sparsity=0.3)", "orthogonal"}) {
    std::vector<at::Tensor> results;
    for (int threads : {1, 2, 4}) {
      at::set_num_threads(threads);
      ASSERT_EQ(at::get_num_threads(), threads);
      const at::Tensor t = at::empty(shape);
      torchinit::init_(t, spec, InitOptions().seed(99).key("big.weight"));
      results.push_back(t);
    }
    EXPECT_TRUE(same_bytes(results[0], results[1])) << spec << ": 1 vs 2 threads";
    EXPECT_TRUE(same_bytes(results[0], results[2])) << spec << ": 1 vs 4 threads";
  }
}

// CholeskyQR's shifted first pass (CholeskyQR3), which a Gaussian matrix takes only when it is
// nearly singular, forced: it yields the same Q (the QR with sign(diag R) = +1 is unique) to
// the rounding of the output, orthogonal, and its shards are its bytes. Bound: a few units of
// float's epsilon times the small dimension's growth, far below the 1e-4 used.
TEST(Determinism, ShiftedCholeskyQrGivesTheSameQAndItsShards) {
  const torchinit::Stream stream(3, torchinit::hash_key("w"));
  for (const Shape& shape : {Shape{1100, 300}, Shape{300, 1100}}) {
    for (const auto dtype : {at::kFloat, at::kDouble}) {
      const at::Tensor plain = at::empty(shape, at::TensorOptions().dtype(dtype));
      at::Tensor shifted = at::empty(shape, at::TensorOptions().dtype(dtype));
      const std::vector<torchinit::ElementRun> all = {{0, plain.numel()}};
      at::Tensor p = plain;
      torchinit::detail::orthogonal_runs(p, all, shape[0], shape[1], 1.0, stream);
      torchinit::detail::orthogonal_runs(shifted, all, shape[0], shape[1], 1.0, stream, true);
      const double tol = dtype == at::kFloat ? 1e-4 : 1e-12;
      EXPECT_LT(plain.sub(shifted).abs().max().item<double>(), tol) << shape[0] << "x" << shape[1];
      const at::Tensor w = shifted.to(at::kDouble);
      const at::Tensor gram = shape[0] >= shape[1] ? w.t().mm(w) : w.mm(w.t());
      EXPECT_LT(gram.sub(at::eye(gram.size(0), gram.options())).abs().max().item<double>(), tol);
      // Rows [100, 250), alone, are the same bytes.
      at::Tensor part = at::empty({150 * shape[1]}, at::TensorOptions().dtype(dtype));
      torchinit::detail::orthogonal_runs(part, {{100 * shape[1], 150 * shape[1]}}, shape[0],
                                         shape[1], 1.0, stream, true);
      EXPECT_TRUE(same_bytes(part, shifted.reshape({-1}).slice(0, 100 * shape[1], 250 * shape[1])))
          << shape[0] << "x" << shape[1];
    }
  }
}

at::Tensor init_new(const Shape& shape, const std::string& spec, const InitOptions& o,
                    at::ScalarType dtype = at::kFloat) {
  const at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  torchinit::init_(t, spec, o);
  return t;
}

TEST(Determinism, SameSeedAndKeySameBytesOtherwiseDifferent) {
  for (const std::string spec :
       {"uniform", "normal", "xavier_normal", "orthogonal", "sparse(0.5)"}) {
    const at::Tensor a = init_new({64, 48}, spec, InitOptions().seed(5).key("a"));
    const at::Tensor a2 = init_new({64, 48}, spec, InitOptions().seed(5).key("a"));
    const at::Tensor b = init_new({64, 48}, spec, InitOptions().seed(5).key("b"));
    const at::Tensor s = init_new({64, 48}, spec, InitOptions().seed(6).key("a"));
    EXPECT_TRUE(same_bytes(a, a2)) << spec;
    // Independent continuous draws agree with probability 0 (atoms: sparse zeros, not all).
    EXPECT_FALSE(at::equal(a, b)) << spec << ": keys a and b";
    EXPECT_FALSE(at::equal(a, s)) << spec << ": seeds 5 and 6";
  }
}

TEST(Determinism, InitReturnsTheSameTensor) {
  const at::Tensor t = at::empty({4, 4});
  const at::Tensor r = torchinit::init_(t, "normal", InitOptions().seed(1));
  EXPECT_TRUE(r.is_same(t));
}

TEST(Determinism, NonContiguousViewsGetTheValuesOfTheirLogicalShape) {
  for (const std::string spec : {"uniform", "normal", "trunc_normal", "xavier_uniform",
                                 "orthogonal", "sparse(0.25)", "eye"}) {
    SCOPED_TRACE(spec);
    const InitOptions o = InitOptions().seed(3).key("view");
    const at::Tensor contiguous = init_new({64, 32}, spec, o);
    // A transposed view of a [32, 64] tensor.
    const at::Tensor base_t = at::empty({32, 64});
    const at::Tensor transposed = base_t.t();
    ASSERT_FALSE(transposed.is_contiguous());
    torchinit::init_(transposed, spec, o);
    EXPECT_TRUE(at::equal(transposed, contiguous));
    // A column slice of a [64, 48] tensor: the slice is filled, the rest keeps its values.
    const at::Tensor base_s = at::empty({64, 48});
    torchinit::testutil::fill_pattern_(base_s);
    const at::Tensor before = base_s.clone();
    const at::Tensor sliced = base_s.slice(1, 8, 40);
    ASSERT_FALSE(sliced.is_contiguous());
    torchinit::init_(sliced, spec, o);
    EXPECT_TRUE(at::equal(sliced, contiguous));
    EXPECT_TRUE(at::equal(base_s.slice(1, 0, 8), before.slice(1, 0, 8)));
    EXPECT_TRUE(at::equal(base_s.slice(1, 40, 48), before.slice(1, 40, 48)));
  }
}

TEST(Determinism, HalfAndBFloat16AreTheFloat32ValuesCast) {
  for (const std::string spec : {"uniform(a=-1, b=1)", "normal(std=0.1)", "trunc_normal(std=0.02)",
                                 "kaiming_normal", "orthogonal", "sparse(0.3)", "dirac"}) {
    const Shape shape = spec == "dirac" ? Shape{16, 8, 3, 3} : Shape{64, 72};
    const InitOptions o = InitOptions().seed(8).key("half");
    const at::Tensor f = init_new(shape, spec, o, at::kFloat);
    for (auto dtype : {at::kHalf, at::kBFloat16}) {
      const at::Tensor h = init_new(shape, spec, o, dtype);
      EXPECT_TRUE(same_bytes(h, f.to(dtype))) << spec << " " << dtype;
    }
  }
}

TEST(Determinism, WithoutSeedLibTorchManualSeedReproduces) {
  at::manual_seed(2024);
  const at::Tensor a = init_new({32, 32}, "normal", InitOptions().key("w"));
  const at::Tensor a_next = init_new({32, 32}, "normal", InitOptions().key("w"));
  at::manual_seed(2024);
  const at::Tensor b = init_new({32, 32}, "normal", InitOptions().key("w"));
  at::manual_seed(2025);
  const at::Tensor c = init_new({32, 32}, "normal", InitOptions().key("w"));
  EXPECT_TRUE(same_bytes(a, b));
  EXPECT_FALSE(at::equal(a, c));
  EXPECT_FALSE(at::equal(a, a_next)) << "each unseeded call must draw a fresh seed";
  at::manual_seed(2024);
  const uint64_t s1 = torchinit::resolve_seed(InitOptions());
  at::manual_seed(2024);
  const uint64_t s2 = torchinit::resolve_seed(InitOptions());
  EXPECT_EQ(s1, s2);
  EXPECT_EQ(torchinit::resolve_seed(InitOptions().seed(17)), 17u);
}

}  // namespace

namespace {

// sparse's zero rows per column come from a keyed permutation of the rows: every row must be
// zero in about the same number of columns. With k of R rows zero per column, drawn uniformly,
// n_r (columns where row r is zero) has mean C k/R and Var C p(1-p), p = k/R, with covariance
// -C p(1-p)/(R-1) between rows, so T = (R-1)/(R-k) · sum_r (n_r - C p)^2 / (C p) ~ chi^2(R-1).
TEST(Sparse, EveryRowIsZeroEquallyOftenAcrossColumns) {
  const int64_t rows = 16, cols = 40000;
  const int64_t k = 4;  // ceil(0.25 · 16) zeros per column
  at::Tensor w = at::empty({rows, cols});
  torchinit::init_(w, "sparse(sparsity=0.25)", InitOptions().seed(12).key("sparse.rows"));
  const at::Tensor per_row = w.eq(0).sum(1);
  const double p = double(k) / rows, expected = cols * p;
  const double scale = std::sqrt(double(rows - 1) / double(rows - k));
  std::vector<double> observed, want(rows, expected);
  for (int64_t r = 0; r < rows; ++r)
    observed.push_back(expected + (per_row[r].item<double>() - expected) * scale);
  const auto x2 = torchinit::stats::chi_square(observed, want);
  EXPECT_EQ(x2.df, rows - 1);
  EXPECT_GT(x2.p_value, 1e-6) << "T = " << x2.statistic;  // alpha = 1e-6
  EXPECT_EQ(w.eq(0).sum().item<int64_t>(), k * cols);
}

}  // namespace
