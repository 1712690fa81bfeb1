// Bad input: every error names the initializer, the shape where there is one, and a fix, and
// leaves the tensor's bytes unchanged; odd but valid tensors (0-dim, zero elements, views,
// requires_grad leaves) work.
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <typeinfo>
#include <vector>

#include "test_util.h"
#include "torchinit/init.h"
#include "torchinit/registry.h"

namespace {

using torchinit::InitOptions;
using torchinit::testutil::ContainsAll;
using torchinit::testutil::error_of;
using torchinit::testutil::fill_pattern_;

// Runs init_(t, spec) expecting a c10::Error whose message contains every one of `parts`, and
// checks that t's values are what they were before the call.
::testing::AssertionResult FailsUnchanged(const at::Tensor& t, const std::string& spec,
                                          const std::vector<std::string>& parts,
                                          InitOptions options = InitOptions().seed(1)) {
  fill_pattern_(t);
  const at::Tensor before = t.clone();
  std::string msg;
  try {
    torchinit::init_(t, spec, options);
    return ::testing::AssertionFailure() << spec << ": no error";
  } catch (const c10::Error& e) {
    msg = e.what_without_backtrace();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure()
           << spec << ": threw a " << typeid(e).name() << ", not a c10::Error: " << e.what();
  }
  if (!at::equal(t, before)) return ::testing::AssertionFailure() << spec << ": tensor changed";
  auto r = ContainsAll(msg, parts);
  if (!r) return ::testing::AssertionFailure() << spec << ": " << r.message();
  return ::testing::AssertionSuccess();
}

// ---- dims ----

TEST(ZeroDim, UniformWorksXavierErrors) {
  const at::Tensor scalar = at::empty({});
  torchinit::init_(scalar, "uniform(a=2, b=3)", InitOptions().seed(1));
  const double v = scalar.item<double>();
  EXPECT_TRUE(v >= 2 && v < 3) << v;
  for (const char* spec : {"xavier_uniform", "kaiming_normal", "orthogonal"}) {
    EXPECT_TRUE(FailsUnchanged(at::empty({}), spec, {spec, "shape []", "2"}));
  }
}

struct DimCase {
  std::string spec;
  std::vector<int64_t> shape;
  std::vector<std::string> parts;  // beyond the name
};

TEST(TooFewOrTooManyDims, ErrorNamesInitializerShapeAndFix) {
  const std::vector<DimCase> cases = {
      {"xavier_uniform", {10}, {"[10]", "2 to 8 dims", "for a bias or a 1-D tensor use zeros"}},
      {"xavier_normal", {10}, {"[10]", "for a bias or a 1-D tensor use zeros"}},
      {"kaiming_uniform", {10}, {"[10]", "for a bias or a 1-D tensor use zeros"}},
      {"kaiming_normal", {7}, {"[7]", "for a bias or a 1-D tensor use zeros"}},
      {"lecun_normal", {7}, {"[7]", "for a bias or a 1-D tensor use zeros"}},
      {"variance_scaling", {7}, {"[7]", "for a bias or a 1-D tensor use zeros"}},
      {"orthogonal", {10}, {"[10]", "reshape the weight to [out, in]"}},
      {"eye", {10}, {"[10]", "needs a tensor with 2 dims"}},
      {"eye", {4, 4, 3}, {"[4, 4, 3]", "for convolutions use dirac"}},
      {"dirac", {10}, {"[10]", "3 to 5 dims"}},
      {"dirac", {4, 4}, {"[4, 4]", "use eye for 2-D"}},
      {"dirac", {2, 2, 2, 2, 2, 2}, {"[2, 2, 2, 2, 2, 2]", "Conv1d/2d/3d"}},
      {"dirac(groups=3)",
       {4, 2, 3},
       {"[4, 2, 3]", "not divisible by groups = 3", "pass the conv's groups"}},
      {"sparse(0.5)", {10}, {"[10]", "2-D [rows, cols]"}},
      {"sparse(0.5)", {4, 4, 4}, {"[4, 4, 4]", "2-D [rows, cols]"}},
  };
  for (const auto& c : cases) {
    const std::string name = c.spec.substr(0, c.spec.find('('));
    std::vector<std::string> parts = c.parts;
    parts.push_back("torchinit::" + name);
    EXPECT_TRUE(FailsUnchanged(at::empty(c.shape), c.spec, parts));
    // The LibTorch backend validates the same way before writing.
    EXPECT_TRUE(FailsUnchanged(at::empty(c.shape), c.spec, parts,
                               InitOptions().backend(torchinit::Backend::Torch)));
  }
}

TEST(TheoryFunction, RejectsBadShapes) {
  EXPECT_TRUE(ContainsAll(error_of([] { torchinit::theory("xavier_uniform", {5}); }),
                          {"xavier_uniform", "[5]"}));
  EXPECT_TRUE(ContainsAll(error_of([] {
                            torchinit::theory("normal", {0, 3});
                          }),
                          {"normal", "[0, 3]", "zero-element"}));
}

// ---- zero elements: a no-op for every initializer ----

TEST(ZeroElements, NoOpForEveryInitializer) {
  for (const std::string& name : torchinit::Registry::global().names()) {
    if (name.rfind("test_", 0) == 0) continue;  // added by registry_test
    const std::string spec = name == "constant" ? "constant(val=2)"
                             : name == "sparse" ? "sparse(0.5)"
                             : name == "fixup"  ? "fixup(layers=4)"
                             : name == "chrono" ? "chrono(t_max=10)"
                                                : name;
    for (const std::vector<int64_t>& shape :
         std::vector<std::vector<int64_t>>{{0}, {0, 5}, {5, 0}, {0, 3, 3, 3}, {4, 0, 3}}) {
      const at::Tensor t = at::empty(shape);
      at::Tensor r;
      EXPECT_NO_THROW(r = torchinit::init_(t, spec, InitOptions().seed(1))) << spec;
      EXPECT_TRUE(r.is_same(t)) << spec;
      EXPECT_EQ(t.sizes(), at::IntArrayRef(shape)) << spec;
      EXPECT_NO_THROW(torchinit::init_(t, spec, InitOptions().backend(torchinit::Backend::Torch)))
          << spec;
    }
  }
}

// ---- dtypes and devices ----

TEST(Dtype, IntegerBoolAndComplexAreErrors) {
  for (auto dtype : {at::kInt, at::kLong, at::kBool, at::kComplexFloat, at::kComplexDouble,
                     at::kByte, at::kChar, at::kShort}) {
    for (const char* spec : {"uniform", "normal", "kaiming_uniform", "zeros", "eye"}) {
      const at::Tensor t = at::zeros({4, 5}, at::TensorOptions().dtype(dtype));
      EXPECT_TRUE(FailsUnchanged(t, spec,
                                 {std::string("torchinit::init_: ") + spec, "[4, 5]",
                                  "float32, float64, float16 or bfloat16", ".to(dtype)"}))
          << dtype;
    }
  }
}

TEST(Device, MetaTensorIsAnError) {
  const at::Tensor t = at::empty({4, 5}, at::TensorOptions().device(at::kMeta));
  std::string msg;
  try {
    torchinit::init_(t, "kaiming_normal", InitOptions().seed(1));
  } catch (const c10::Error& e) {
    msg = e.what_without_backtrace();
  }
  EXPECT_TRUE(ContainsAll(msg, {"kaiming_normal", "meta", "[4, 5]", "to_empty"}));
  // Still a meta tensor of the same shape (it has no bytes to compare).
  EXPECT_TRUE(t.is_meta());
  EXPECT_EQ(t.sizes(), at::IntArrayRef({4, 5}));
}

TEST(Device, UndefinedTensorIsAnError) {
  EXPECT_TRUE(ContainsAll(error_of([] { torchinit::init_(at::Tensor(), "normal"); }),
                          {"normal", "undefined", "torch::empty"}));
}

// ---- autograd ----

TEST(Autograd, LeafRequiringGradIsFilledWithoutHistory) {
  const at::Tensor w = at::empty({16, 8}).set_requires_grad(true);
  ASSERT_TRUE(w.is_leaf());
  const InitOptions o = InitOptions().seed(4).key("w");
  torchinit::init_(w, "xavier_uniform", o);
  EXPECT_FALSE(w.grad_fn());
  EXPECT_TRUE(w.requires_grad());
  EXPECT_TRUE(w.is_leaf());
  const at::Tensor plain = at::empty({16, 8});
  torchinit::init_(plain, "xavier_uniform", o);
  EXPECT_TRUE(at::equal(w.detach(), plain));
  // Through the LibTorch backend and the copy path (bfloat16) as well.
  const at::Tensor b =
      at::empty({16, 8}, at::TensorOptions().dtype(at::kBFloat16)).set_requires_grad(true);
  torchinit::init_(b, "normal", o);
  torchinit::init_(w, "orthogonal", InitOptions().backend(torchinit::Backend::Torch));
  EXPECT_FALSE(b.grad_fn());
  EXPECT_FALSE(w.grad_fn());
  EXPECT_TRUE(b.requires_grad() && w.requires_grad());
}

// ---- views ----

TEST(Views, StridedViewIsFilledInPlaceAndGapsKeepTheirValues) {
  const at::Tensor base = at::empty({20, 30});
  fill_pattern_(base);
  const at::Tensor before = base.clone();
  const at::Tensor view = base.slice(0, 1, 20, 2).slice(1, 0, 30, 3);  // [10, 10], strides 60, 3
  ASSERT_FALSE(view.is_contiguous());
  const InitOptions o = InitOptions().seed(12).key("v");
  torchinit::init_(view, "normal", o);
  const at::Tensor want = at::empty({10, 10});
  torchinit::init_(want, "normal", o);
  EXPECT_TRUE(at::equal(view, want));
  // Every element outside the view is unchanged.
  const at::Tensor mask = at::zeros({20, 30}, at::TensorOptions().dtype(at::kBool));
  mask.slice(0, 1, 20, 2).slice(1, 0, 30, 3).fill_(true);
  EXPECT_TRUE(
      at::equal(base.masked_select(mask.logical_not()), before.masked_select(mask.logical_not())));
}

TEST(Views, ContiguousSliceWithStorageOffsetWritesOnlyItsRows) {
  const at::Tensor base = at::empty({10, 16});
  fill_pattern_(base);
  const at::Tensor before = base.clone();
  const at::Tensor rows = base.slice(0, 3, 7);  // contiguous, storage offset 48
  ASSERT_TRUE(rows.is_contiguous());
  ASSERT_EQ(rows.storage_offset(), 48);
  const InitOptions o = InitOptions().seed(13).key("rows");
  torchinit::init_(rows, "uniform", o);
  const at::Tensor want = at::empty({4, 16});
  torchinit::init_(want, "uniform", o);
  EXPECT_TRUE(at::equal(rows, want));
  EXPECT_TRUE(at::equal(base.slice(0, 0, 3), before.slice(0, 0, 3)));
  EXPECT_TRUE(at::equal(base.slice(0, 7, 10), before.slice(0, 7, 10)));
}

// ---- spec errors ----

struct SpecCase {
  std::string spec;
  std::vector<std::string> parts;  // the initializer's name, what is wrong and the fix
};

TEST(InitSpecErrors, EachNamesTheInitializerAndTheFixAndLeavesTheTensor) {
  const std::vector<SpecCase> cases = {
      // unknown initializer, with did-you-mean
      {"kaiming_norml", {"unknown initializer 'kaiming_norml'", "did you mean 'kaiming_normal'?"}},
      {"glorot_unifrom", {"'glorot_unifrom'", "did you mean 'glorot_uniform'?"}},
      // unknown argument, with did-you-mean and the signature
      {"xavier_uniform(gian=2)",
       {"torchinit::xavier_uniform", "unknown argument 'gian'", "did you mean 'gain'?",
        "xavier_uniform(gain=1)"}},
      {"kaiming_normal(mdoe=fan_out)",
       {"torchinit::kaiming_normal", "unknown argument 'mdoe'", "did you mean 'mode'?"}},
      // wrong types
      {"xavier_uniform(gain=foo)",
       {"torchinit::xavier_uniform", "'gain'", "unknown nonlinearity 'foo'", "relu"}},
      {"xavier_uniform(gain='relu')", {"torchinit::xavier_uniform", "'gain'", "relu"}},
      {"kaiming_uniform(mode=3)",
       {"torchinit::kaiming_uniform", "'mode'", "must be one of fan_in, fan_out"}},
      {"kaiming_normal(nonlinearity=rellu)",
       {"torchinit::kaiming_normal", "'nonlinearity'", "did you mean 'relu'?"}},
      {"variance_scaling(mode=fan_ave)",
       {"torchinit::variance_scaling", "fan_in, fan_out, fan_avg", "did you mean 'fan_avg'?"}},
      {"normal(std=relu)", {"torchinit::normal", "'std'", "expects a number"}},
      {"uniform(a=[1, 2])", {"torchinit::uniform", "'a'", "expects a number"}},
      // out of range
      {"normal(std=-1)", {"torchinit::normal", "std > 0"}},
      {"normal(std=0)", {"torchinit::normal", "std > 0"}},
      {"trunc_normal(std=-0.1)", {"torchinit::trunc_normal", "std > 0"}},
      {"uniform(a=1, b=0)", {"torchinit::uniform", "a < b", "swap them"}},
      {"uniform(a=1, b=1)", {"torchinit::uniform", "a < b"}},
      {"trunc_normal(a=2, b=-2)", {"torchinit::trunc_normal", "a < b"}},
      {"trunc_normal(mean=0, std=1, a=40, b=41)",
       {"torchinit::trunc_normal", "37 std", "Move the bounds or the mean"}},
      {"sparse(sparsity=1)", {"torchinit::sparse", "[0, 1)"}},
      {"sparse(sparsity=-0.1)", {"torchinit::sparse", "[0, 1)"}},
      {"sparse(sparsity=0.5, std=0)", {"torchinit::sparse", "std must be > 0"}},
      {"xavier_uniform(gain=0)", {"torchinit::xavier_uniform", "'gain'", "> 0"}},
      {"orthogonal(gain=-1)", {"torchinit::orthogonal", "'gain'", "> 0"}},
      {"xavier_normal(gain=inf)", {"torchinit::xavier_normal", "'gain'", "finite number > 0"}},
      {"variance_scaling(scale=-1)", {"torchinit::variance_scaling", "scale", "> 0"}},
      // a nonlinearity parameter out of range: the error must still name the initializer
      {"xavier_uniform(gain=elu(-1))", {"xavier_uniform", "alpha", ">= 0"}},
      {"orthogonal(gain=softplus(0))", {"orthogonal", "beta", "> 0"}},
      {"xavier_normal(gain=leaky_relu(inf))", {"xavier_normal", "slope", "finite"}},
      {"xavier_uniform(gain=leaky_relu(0.2, 3))",
       {"torchinit::xavier_uniform", "at most one number"}},
      {"kaiming_uniform(a=inf)", {"torchinit::kaiming_uniform", "finite"}},
      {"dirac(groups=0)", {"torchinit::dirac", "positive integer"}},
      {"dirac(groups=1.5)", {"torchinit::dirac", "positive integer"}},
      {"constant(val=inf)", {"torchinit::constant", "finite"}},
      // nan
      {"normal(std=nan)", {"torchinit::normal", "'std'", "nan"}},
      {"uniform(a=nan)", {"torchinit::uniform", "'a'", "nan"}},
      {"xavier_uniform(gain=nan)", {"torchinit::xavier_uniform", "'gain'", "finite number > 0"}},
      // missing required arguments
      {"sparse",
       {"torchinit::sparse", "missing required argument 'sparsity'", "sparse(sparsity, std=0.01)"}},
      {"sparse(std=0.1)", {"torchinit::sparse", "missing required argument 'sparsity'"}},
      {"constant", {"torchinit::constant", "missing required argument 'val'", "constant(val)"}},
      // too many positionals, repeated keys
      {"uniform(0, 1, 2)",
       {"torchinit::uniform", "too many positional arguments", "uniform(a=0, b=1)"}},
      {"zeros(1)", {"torchinit::zeros", "too many positional arguments", "zeros()"}},
      {"normal(std=1, std=2)", {"normal", "'std'"}},
      // syntax, with the column and a caret
      {"normal(std=", {"column", "^"}},
      {"normal(std=0.1", {"column", "^"}},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(FailsUnchanged(at::empty({6, 4}), c.spec, c.parts));
  }
}

// ---- values the dtype cannot hold ----

TEST(Range, NeverWritesNonFiniteValues) {
  // Either a c10::Error that names the initializer (and leaves the tensor), or finite values:
  // init_ must not silently write inf or nan, nor throw something other than c10::Error.
  struct Case {
    std::string spec;
    at::ScalarType dtype;
  };
  for (const Case& c :
       {Case{"uniform(a=-1e308, b=1e308)", at::kDouble},  // b - a overflows
        Case{"uniform(a=-1e39, b=1e39)", at::kFloat},     // beyond float32
        Case{"normal(std=1e39)", at::kFloat}, Case{"xavier_uniform(gain=1e308)", at::kFloat},
        Case{"constant(val=1e300)", at::kFloat}, Case{"constant(val=70000)", at::kHalf}}) {
    SCOPED_TRACE(c.spec);
    const at::Tensor t = at::empty({6, 4}, at::TensorOptions().dtype(c.dtype));
    fill_pattern_(t);
    const at::Tensor before = t.clone();
    const std::string name = c.spec.substr(0, c.spec.find('('));
    try {
      torchinit::init_(t, c.spec, InitOptions().seed(1));
      const std::vector<double> x = torchinit::testutil::to_doubles(t);
      EXPECT_TRUE(std::all_of(x.begin(), x.end(), [](double v) { return std::isfinite(v); }))
          << "wrote non-finite values without an error";
    } catch (const c10::Error& e) {
      EXPECT_TRUE(ContainsAll(e.what_without_backtrace(), {name}));
      EXPECT_TRUE(at::equal(t, before));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "threw a " << typeid(e).name() << ", not a c10::Error: " << e.what();
    }
  }
}

TEST(InitSpecErrors, TorchBackendChecksTheSpecFirstToo) {
  EXPECT_TRUE(FailsUnchanged(at::empty({6, 4}), "kaiming_uniform(mode=fan_mid)",
                             {"kaiming_uniform", "must be one of fan_in, fan_out"},
                             InitOptions().backend(torchinit::Backend::Torch)));
}

TEST(InitSpecErrors, ErrorsReportTheColumnOfTheCulprit) {
  // "xavier_uniform(gain=foo)": the value starts at column 21.
  const std::string msg = error_of([] {
    const at::Tensor t = at::empty({4, 4});
    torchinit::init_(t, "xavier_uniform(gain=foo)");
  });
  EXPECT_TRUE(ContainsAll(msg, {"column 21", "xavier_uniform(gain=foo)\n", "^"}));
}

}  // namespace
