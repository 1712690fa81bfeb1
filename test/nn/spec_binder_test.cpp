// One spec-argument binder behind Registry::make, nn::make (ModelRegistry), activation() and
// nn::activation_module(): the same mistake gives a message of the same form, word for word,
// from each of the four entry points, with the same " at column N" and caret.
#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "test_util.h"
#include "torchinit/activation.h"
#include "torchinit/nn/activation_module.h"
#include "torchinit/nn/make.h"
#include "torchinit/nn/registry.h"
#include "torchinit/registry.h"
#include "torchinit/spec.h"

namespace {

using torchinit::testutil::error_of;

struct BinderEntryPoint {
  std::string who;  // the function named at the start of its errors
  std::function<void(const std::string&)> call;
};

const std::vector<BinderEntryPoint>& binder_entry_points() {
  static const std::vector<BinderEntryPoint> points = {
      {"torchinit::Registry::make",
       [](const std::string& s) { (void)torchinit::Registry::global().make(s); }},
      {"torchinit::nn::make", [](const std::string& s) { (void)torchinit::nn::make(s); }},
      {"torchinit::activation", [](const std::string& s) { (void)torchinit::activation(s); }},
      {"torchinit::nn::activation_module",
       [](const std::string& s) { (void)torchinit::nn::activation_module(s); }},
  };
  return points;
}

// "<who>: <what> at column N\n<caret under column N>": the whole message, nothing else.
std::string binder_message(const std::string& who, const std::string& what, const std::string& spec,
                           int column) {
  return who + ": " + what + " at column " + std::to_string(column) + "\n" +
         torchinit::caret(spec, column);
}

struct BinderCase {
  size_t entry_point;  // index into binder_entry_points()
  std::string spec;
  std::string what;  // the message between "<who>: " and " at column"
  int column;
};

void expect_binder_messages(const std::vector<BinderCase>& cases) {
  for (const BinderCase& c : cases) {
    const BinderEntryPoint& point = binder_entry_points().at(c.entry_point);
    SCOPED_TRACE(point.who + " " + c.spec);
    EXPECT_EQ(error_of([&] { point.call(c.spec); }),
              binder_message(point.who, c.what, c.spec, c.column));
  }
}

constexpr size_t kBindRegistry = 0, kBindModels = 1, kBindActivation = 2, kBindActivationModule = 3;

TEST(SpecBinder, UnknownArgumentHasOneFormWithDidYouMeanAndSignature) {
  const std::string resnet =
      torchinit::nn::signature(*torchinit::nn::ModelRegistry::global().find("resnet"));
  const std::string leaky =
      "leaky_relu has no argument 'negative_slop'; did you mean "
      "'negative_slope'? it takes leaky_relu(negative_slope=0.01)";
  expect_binder_messages({
      {kBindRegistry, "xavier_uniform(gian=2)",
       "xavier_uniform has no argument 'gian'; did you mean 'gain'? it takes "
       "xavier_uniform(gain=1)",
       16},
      {kBindModels, "resnet(dpeth=18)",
       "resnet has no argument 'dpeth'; did you mean 'depth'? it takes " + resnet, 8},
      {kBindActivation, "leaky_relu(negative_slop=0.2)", leaky, 12},
      {kBindActivationModule, "leaky_relu(negative_slop=0.2)", leaky, 12},
  });
}

TEST(SpecBinder, WrongTypeAndRangeHaveOneForm) {
  const std::string elu = "elu argument 'alpha' expects a number, got identifier relu";
  const std::string beta = "softplus argument 'beta' expects a finite number > 0, got 0";
  expect_binder_messages({
      {kBindRegistry, "normal(std=relu)",
       "normal argument 'std' expects a number, got identifier relu", 12},
      {kBindRegistry, "kaiming_uniform(mode=fan_mid)",
       "kaiming_uniform argument 'mode' expects one of fan_in, fan_out, got 'fan_mid'; did you "
       "mean 'fan_in'?",
       22},
      {kBindModels, "mlp(dropout=x)",
       "mlp argument 'dropout' expects a number in [0, 1], got identifier x", 13},
      {kBindModels, "mlp(dropout=1.5)",
       "mlp argument 'dropout' expects a number in [0, 1], got 1.5", 13},
      {kBindModels, "resnet(stem=cfar)",
       "resnet argument 'stem' expects one of imagenet, cifar, got 'cfar'; did you mean 'cifar'?",
       13},
      {kBindActivation, "elu(alpha=relu)", elu, 11},
      {kBindActivationModule, "elu(alpha=relu)", elu, 11},
      {kBindActivation, "softplus(beta=0)", beta, 15},
      {kBindActivationModule, "softplus(beta=0)", beta, 15},
  });
}

TEST(SpecBinder, ExtraAndRepeatedArgumentsHaveOneForm) {
  const std::string relu =
      "relu takes no arguments, got 1; remove the extra argument; it takes "
      "relu()";
  const std::string twice = "elu argument 'alpha' is given twice; keep one";
  const std::string mlp =
      torchinit::nn::signature(*torchinit::nn::ModelRegistry::global().find("mlp"));
  expect_binder_messages({
      {kBindRegistry, "zeros(1)",
       "zeros takes no arguments, got 1; remove the extra argument; it takes zeros()", 7},
      {kBindRegistry, "uniform(0, 1, 2)",
       "uniform takes at most 2 arguments, got 3; remove the extra argument; it takes "
       "uniform(a=0, b=1)",
       15},
      {kBindModels, "mlp(784, [256], 10, relu, none, 0, true, 5)",
       "mlp takes at most 7 arguments, got 8; remove the extra argument; it takes " + mlp, 42},
      {kBindActivation, "relu(1)", relu, 6},
      {kBindActivationModule, "relu(1)", relu, 6},
      {kBindActivation, "elu(1, alpha=2)", twice, 8},
      {kBindActivationModule, "elu(1, alpha=2)", twice, 8},
      {kBindRegistry, "normal(0, mean=1)", "normal argument 'mean' is given twice; keep one", 11},
      {kBindModels, "resnet(18, depth=34)", "resnet argument 'depth' is given twice; keep one", 12},
  });
}

// Activations have no required argument; the two registries with some give one form.
TEST(SpecBinder, MissingRequiredArgumentHasOneForm) {
  torchinit::nn::ModelRegistry models;
  torchinit::nn::ModelEntry entry;
  entry.name = "needs_in";
  entry.args = {torchinit::nn::ModelArg::integer("in", std::nullopt, "inputs"),
                torchinit::nn::ModelArg::integer("out", "1", "outputs")};
  entry.factory = [](const torchinit::nn::ModelArgs&) { return torch::nn::AnyModule(); };
  models.add(entry);
  const std::string spec = "needs_in(out=2)";
  EXPECT_EQ(error_of([&] { models.make(spec); }),
            binder_message("torchinit::nn::make",
                           "needs_in needs argument 'in' (an integer >= 1); it takes "
                           "needs_in(in, out=1)",
                           spec, 1));
  expect_binder_messages({
      {kBindRegistry, "sparse(std=0.1)",
       "sparse needs argument 'sparsity' (a number); it takes sparse(sparsity, std=0.01)", 1},
  });
}

// A spec built in code has no text to point into: the same message without the location.
TEST(SpecBinder, SpecsBuiltInCodeGiveTheMessageWithoutLocation) {
  const torchinit::Spec spec("elu",
                             {torchinit::SpecArg{"alpa", torchinit::SpecValue::of_number(1), 0}});
  const std::string what =
      ": elu has no argument 'alpa'; did you mean 'alpha'? it takes "
      "elu(alpha=1)";
  EXPECT_EQ(error_of([&] { torchinit::activation(spec); }), "torchinit::activation" + what);
  EXPECT_EQ(error_of([&] { torchinit::nn::activation_module(spec); }),
            "torchinit::nn::activation_module" + what);
}

}  // namespace
