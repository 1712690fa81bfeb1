// torchinit::nn::make and the model registry: every built-in spec builds and runs, resolve()
// round-trips, and bad specs fail with the argument, expected vs got, and the column.
#include "torchinit/nn/make.h"

#include <ATen/ops/randn.h>
#include <c10/util/Exception.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

#include <functional>
#include <string>
#include <vector>

#include "test_util.h"
#include "torchinit/nn/mlp.h"
#include "torchinit/nn/registry.h"
#include "torchinit/nn/resnet.h"

namespace torchinit::nn {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

using torchinit::testutil::error_of;

// The error of make(spec).
std::string make_error(const std::string& spec) {
  return error_of([&] { make(spec); });
}

int64_t parameter_count(const torch::nn::AnyModule& m) {
  int64_t n = 0;
  for (const auto& p : m.ptr()->parameters()) n += p.numel();
  return n;
}

std::vector<int64_t> forward_shape(torch::nn::AnyModule& m, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  return m.forward(x).sizes().vec();
}

using Shape = std::vector<int64_t>;

TEST(Make, BuiltinsRunOnTheirShapes) {
  auto mlp = make("mlp(in=784, hidden=[256,256], out=10, act=relu)");
  EXPECT_EQ(forward_shape(mlp, at::randn({8, 784})), (Shape{8, 10}));
  EXPECT_EQ(mlp.ptr()->name(), "torchinit::nn::MLPImpl");

  auto conv2d = make("convnet(in=3, channels=[32,64], convs=2, classes=10, dims=2)");
  EXPECT_EQ(forward_shape(conv2d, at::randn({2, 3, 16, 16})), (Shape{2, 10}));
  auto conv1d = make("convnet(in=2, channels=[8], convs=1, kernel=5, classes=3, dims=1)");
  EXPECT_EQ(forward_shape(conv1d, at::randn({2, 2, 20})), (Shape{2, 3}));

  auto lstm = make("lstm(in=32, hidden=64, layers=2, out=10)");
  EXPECT_EQ(forward_shape(lstm, at::randn({4, 9, 32})), (Shape{4, 10}));
  auto gru = make("gru(in=6, hidden=8, layers=1, out=3, bidirectional=true)");
  EXPECT_EQ(forward_shape(gru, at::randn({4, 9, 6})), (Shape{4, 3}));
  auto rnn = make("rnn(in=6, hidden=8, layers=3, out=2, nonlinearity=relu, dropout=0.1)");
  EXPECT_EQ(forward_shape(rnn, at::randn({4, 9, 6})), (Shape{4, 2}));

  auto resnet = make("resnet(depth=18, classes=10, stem=cifar, width=8)");
  EXPECT_EQ(forward_shape(resnet, at::randn({2, 3, 32, 32})), (Shape{2, 10}));
  auto gray = make("resnet(depth=50, classes=5, width=4, in_channels=1)");
  EXPECT_EQ(forward_shape(gray, at::randn({1, 1, 64, 64})), (Shape{1, 5}));
}

TEST(Make, BuildsWhatTheOptionsBuild) {
  const auto mlp = make("mlp(in=20, hidden=[30, 40], out=5, act=leaky_relu(0.2), norm=layer)");
  EXPECT_EQ(parameter_count(mlp), 20 * 30 + 30 + 2 * 30 + 30 * 40 + 40 + 2 * 40 + 40 * 5 + 5);
  const auto& impl = *mlp.get<MLP>();
  EXPECT_EQ(impl.options.activation(), "leaky_relu(0.2)");
  EXPECT_EQ(impl.options.norm(), "layer");

  const auto resnet = make("resnet(depth=18, classes=10)");
  EXPECT_EQ(parameter_count(resnet), 11181642);  // torchvision resnet18(num_classes=10)
  EXPECT_TRUE(resnet.ptr()->named_parameters().contains("layer1.0.conv2.weight"));
  EXPECT_EQ(resnet.get<ResNet>()->options.stem(), "imagenet");

  // Positional arguments bind in schema order.
  EXPECT_EQ(make("resnet(34, 7, cifar, 8)").get<ResNet>()->options.depth(), 34);
  EXPECT_EQ(make(Spec::parse("mlp(4, [], 2)")).get<MLP>()->layers->size(), 1u);
}

TEST(Make, ResolveFillsDefaultsAndRoundTrips) {
  const ModelRegistry& r = ModelRegistry::global();
  EXPECT_EQ(r.resolve("mlp").str(),
            "mlp(in=784, hidden=[256, 256], out=10, act=relu, norm=none, dropout=0, bias=true)");
  EXPECT_EQ(r.resolve("resnet(50, stem=cifar)").str(),
            "resnet(depth=50, classes=1000, stem=cifar, width=64, in_channels=3)");
  EXPECT_EQ(r.resolve("rnn").str(),
            "rnn(in=32, hidden=64, layers=2, out=10, nonlinearity=tanh, bidirectional=false, "
            "dropout=0)");
  for (const ModelEntry& e : r.entries()) {
    SCOPED_TRACE(e.name);
    for (const std::string& text : {e.name, e.example}) {
      const Spec once = r.resolve(text);
      EXPECT_EQ(r.resolve(once.str()), once);
      EXPECT_EQ(r.resolve(once), once);
      EXPECT_EQ(Spec::parse(once.str()), once);
    }
  }
}

TEST(Make, RegistryListsEveryModel) {
  EXPECT_THAT(ModelRegistry::global().names(),
              ElementsAre("convnet", "gpt", "gru", "lstm", "mlp", "resnet", "rnn", "vit"));
  const std::string text = describe_models();
  for (const ModelEntry& e : ModelRegistry::global().entries()) {
    EXPECT_THAT(text, HasSubstr(signature(e)));
    EXPECT_THAT(text, HasSubstr("example: " + e.example));
    for (const ModelArg& a : e.args) EXPECT_FALSE(a.doc.empty()) << e.name << "." << a.name;
  }
  EXPECT_THAT(text, HasSubstr("resnet(depth=18, classes=1000, stem=imagenet, width=64, "
                              "in_channels=3)"));
  EXPECT_THAT(text, HasSubstr("depth        layers (one of 18, 34, 50, 101, 152)"));
}

TEST(Make, ExamplesBuild) {
  for (const ModelEntry& e : ModelRegistry::global().entries()) {
    if (e.name == "resnet") continue;  // full-width: built in the tests above at small widths
    EXPECT_NO_THROW(make(e.example)) << e.example;
  }
}

TEST(Make, UserModels) {
  ModelRegistry registry;
  ModelEntry entry;
  entry.name = "linear";
  entry.summary = "one Linear";
  entry.example = "linear(in=3, out=2)";
  entry.args = {ModelArg::integer("in", std::nullopt, "inputs"),
                ModelArg::integer("out", "1", "outputs")};
  entry.factory = [](const ModelArgs& a) {
    return torch::nn::AnyModule(torch::nn::Linear(a.integer("in"), a.integer("out")));
  };
  registry.add(entry);
  EXPECT_EQ(forward_shape(*std::make_unique<torch::nn::AnyModule>(registry.make("linear(in=3)")),
                          at::randn({5, 3})),
            (Shape{5, 1}));
  EXPECT_THAT(error_of([&] { registry.make("linear(out=2)"); }),
              AllOf(HasSubstr("torchinit::nn::make: linear needs argument 'in' (an integer >= 1)"),
                    HasSubstr("it takes linear(in, out=1)"), HasSubstr("at column 1")));
  EXPECT_THAT(error_of([&] { registry.add(entry); }), HasSubstr("'linear' is already registered"));
  ModelEntry bad = entry;
  bad.name = "bad";
  bad.args[1].default_value = "0";
  EXPECT_THAT(error_of([&] { registry.add(bad); }),
              HasSubstr("bad argument 'out' expects an integer >= 1, got 0"));
}

// ---- errors: the argument, expected vs got, the fix, the column with a caret ----

TEST(MakeErrors, UnknownModel) {
  const std::string e = make_error("resnt(depth=18)");
  EXPECT_THAT(e, StartsWith("torchinit::nn::make: unknown model 'resnt'; did you mean 'resnet'?"));
  EXPECT_THAT(e, HasSubstr("expected one of convnet, gpt, gru, lstm, mlp, resnet, rnn, vit"));
  EXPECT_THAT(e, HasSubstr(" at column 1\n  resnt(depth=18)\n  ^"));
  EXPECT_THAT(e, HasSubstr("torchinit list --models"));
}

TEST(MakeErrors, UnknownArgument) {
  const std::string e = make_error("resnet(dpeth=18)");
  EXPECT_THAT(e, StartsWith("torchinit::nn::make: resnet has no argument 'dpeth'; did you mean "
                            "'depth'?"));
  EXPECT_THAT(e, HasSubstr("it takes resnet(depth=18, classes=1000"));
  EXPECT_THAT(e, HasSubstr(" at column 8\n  resnet(dpeth=18)\n         ^"));
}

TEST(MakeErrors, OutOfRange) {
  EXPECT_THAT(make_error("resnet(depth=19)"),
              AllOf(StartsWith("torchinit::nn::make: resnet argument 'depth' expects one of 18, "
                               "34, 50, 101, 152, got 19"),
                    HasSubstr(" at column 14\n  resnet(depth=19)\n               ^")));
  EXPECT_THAT(make_error("mlp(hidden=[256, -3])"),
              AllOf(HasSubstr("mlp argument 'hidden' element 1 expects integers >= 1, got -3"),
                    HasSubstr("at column 18")));
  EXPECT_THAT(
      make_error("resnet(width=0)"),
      AllOf(HasSubstr("'width' expects an integer >= 1, got 0"), HasSubstr("at column 14")));
  EXPECT_THAT(
      make_error("mlp(dropout=1.5)"),
      AllOf(HasSubstr("'dropout' expects a number in [0, 1], got 1.5"), HasSubstr("at column 13")));
  EXPECT_THAT(make_error("convnet(dims=3)"),
              AllOf(HasSubstr("'dims' expects one of 1, 2, got 3"), HasSubstr("at column 14")));
  EXPECT_THAT(make_error("convnet(channels=[])"),
              AllOf(HasSubstr("'channels' expects a list of integers >= 1 with at least 1 "
                              "element, got []"),
                    HasSubstr("at column 18")));
}

TEST(MakeErrors, WrongTypes) {
  EXPECT_THAT(make_error("mlp(in=2.5)"),
              AllOf(HasSubstr("mlp argument 'in' expects an integer >= 1, got number 2.5"),
                    HasSubstr("at column 8")));
  EXPECT_THAT(make_error("mlp(hidden=256)"),
              AllOf(HasSubstr("'hidden' expects a list of integers >= 1, got number 256"),
                    HasSubstr("at column 12"), HasSubstr("hint: write a list, as in [256]")));
  EXPECT_THAT(make_error("mlp(out=[10])"),
              AllOf(HasSubstr("'out' expects an integer >= 1, got list [10]"),
                    HasSubstr("takes a single integer, not a list")));
  EXPECT_THAT(make_error("lstm(bidirectional=yes)"),
              AllOf(HasSubstr("lstm argument 'bidirectional' expects true or false, got "
                              "identifier yes"),
                    HasSubstr("at column 20")));
  EXPECT_THAT(make_error("resnet(stem=cfar)"),
              AllOf(HasSubstr("'stem' expects one of imagenet, cifar, got 'cfar'; did you mean "
                              "'cifar'?"),
                    HasSubstr("at column 13")));
  EXPECT_THAT(make_error("resnet(stem=3)"),
              HasSubstr("expects one of imagenet, cifar, got number 3"));
}

TEST(MakeErrors, Activations) {
  EXPECT_THAT(make_error("mlp(act=rleu)"),
              AllOf(HasSubstr("mlp argument 'act' expects an activation, got unknown name 'rleu'; "
                              "did you mean 'relu'?"),
                    HasSubstr("at column 9")));
  // Errors inside a nested activation spec point into the model spec.
  EXPECT_THAT(make_error("mlp(act=leaky_relu(slope=0.2))"),
              AllOf(StartsWith("torchinit::nn::make: mlp argument 'act': leaky_relu has no "
                               "argument 'slope'"),
                    HasSubstr(" at column 20\n  mlp(act=leaky_relu(slope=0.2))\n"
                              "                     ^")));
  EXPECT_THAT(make_error("convnet(act=elu(alpha=x))"),
              AllOf(HasSubstr("convnet argument 'act': elu argument 'alpha' expects a number"),
                    HasSubstr("at column 23")));
  EXPECT_THAT(make_error("mlp(act=3)"), HasSubstr("expects an activation (relu, leaky_relu(0.2)"));
}

TEST(MakeErrors, Combinations) {
  EXPECT_THAT(make_error("lstm(layers=1, dropout=0.5)"),
              AllOf(HasSubstr("lstm argument 'dropout' has no effect with layers=1"),
                    HasSubstr("use layers >= 2 or dropout=0"), HasSubstr("at column 24")));
  EXPECT_THAT(make_error("convnet(kernel=4)"),
              AllOf(HasSubstr("'kernel' expects an odd kernel size"), HasSubstr("use 5"),
                    HasSubstr("at column 16")));
  EXPECT_THAT(make_error("mlp(hidden=[], norm=batch)"),
              AllOf(HasSubstr("'norm' has no layer to follow"), HasSubstr("at column 21")));
  EXPECT_THAT(make_error("mlp(784, [256], 10, relu, none, 0, true, 5)"),
              AllOf(HasSubstr("mlp takes at most 7 arguments, got 8"), HasSubstr("at column 42")));
  EXPECT_THAT(make_error("resnet(18, depth=34)"),
              AllOf(HasSubstr("'depth' is given twice"), HasSubstr("at column 12")));
}

TEST(MakeErrors, SyntaxAndProgrammaticSpecs) {
  // Syntax errors come from the spec parser, with their own column.
  EXPECT_THAT(make_error("resnet(depth=18"),
              AllOf(StartsWith("torchinit::Spec::parse:"), HasSubstr("at column 16")));
  // A programmatic spec has no text to point into: no column, same message.
  const Spec spec("resnet", {SpecArg{"depth", SpecValue::of_number(19), 0}});
  EXPECT_THAT(error_of([&] { make(spec); }),
              AllOf(HasSubstr("'depth' expects one of 18, 34, 50, 101, 152, got 19"),
                    Not(HasSubstr("column"))));
}

}  // namespace
}  // namespace torchinit::nn
