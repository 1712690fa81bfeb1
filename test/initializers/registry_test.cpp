// Registry: user initializers, duplicate names, aliases, positional arguments in declared order,
// the resolved spec with every default, and the docs every built-in carries.
#include "torchinit/registry.h"

#include <ATen/ops/empty.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "test_util.h"
#include "torchinit/init.h"
#include "torchinit/random.h"

namespace {

using torchinit::ArgSchema;
using torchinit::ArgType;
using torchinit::Distribution;
using torchinit::InitOptions;
using torchinit::Registry;
using torchinit::RegistryEntry;
using torchinit::testutil::ContainsAll;
using torchinit::testutil::error_of;
using torchinit::testutil::same_bytes;

// A user initializer: U(-scale/sqrt(fan_in), scale/sqrt(fan_in)).
class ScaledUniform final : public torchinit::Initializer {
 public:
  explicit ScaledUniform(double scale) : scale_(scale) {}
  void validate(const torchinit::ParamInfo& p) const override { (void)p.fans("test_scaled"); }
  Distribution theory(const torchinit::ParamInfo& p) const override {
    const double b = scale_ / std::sqrt(double(p.fans().fan_in));
    return Distribution::uniform(-b, b);
  }
  void fill(at::Tensor& t, const torchinit::ParamInfo& p,
            const torchinit::Stream& s) const override {
    const Distribution d = theory(p);
    if (t.scalar_type() == at::kFloat) {
      torchinit::fill_uniform(t.data_ptr<float>(), 0, t.numel(), s, d.param("a"), d.param("b"));
    } else {
      torchinit::fill_uniform(t.data_ptr<double>(), 0, t.numel(), s, d.param("a"), d.param("b"));
    }
  }
  void fill_torch(at::Tensor& t, const torchinit::ParamInfo& p) const override {
    const Distribution d = theory(p);
    t.uniform_(d.param("a"), d.param("b"));
  }

 private:
  double scale_;
};

RegistryEntry scaled_entry(const std::string& name, std::vector<std::string> aliases) {
  return {
      name,
      std::move(aliases),
      {ArgSchema("scale", ArgType::Number, "1", "bound times sqrt(fan_in)")},
      {"Scaled uniform (test).", "U(-s/sqrt(fan_in), s/sqrt(fan_in))", "none"},
      [](const torchinit::Args& a) { return std::make_shared<ScaledUniform>(a.number("scale")); }};
}

// Registered once per process (the registry is global and has no removal).
void ensure_user_initializer() {
  static std::once_flag once;
  std::call_once(once, [] {
    Registry::global().add(scaled_entry("test_scaled_uniform", {"test_scaled_alias"}));
  });
}

TEST(UserInitializer, UsableThroughInitAndTheory) {
  ensure_user_initializer();
  const at::Tensor t = at::empty({128, 256});
  torchinit::init_(t, "test_scaled_uniform(scale=3)", InitOptions().seed(1).key("u"));
  const Distribution d = torchinit::theory("test_scaled_uniform(scale=3)", {128, 256});
  EXPECT_EQ(d.family(), "uniform");
  EXPECT_DOUBLE_EQ(d.param("b"), 3 / std::sqrt(256.0));
  EXPECT_TRUE(torchinit::testutil::SamplesMatch(t, d));
  // Through its alias, with a positional argument, and in listings.
  const at::Tensor u = at::empty({128, 256});
  torchinit::init_(u, "test_scaled_alias(3)", InitOptions().seed(1).key("u"));
  EXPECT_TRUE(same_bytes(t, u));
  const auto names = Registry::global().names();
  EXPECT_NE(std::find(names.begin(), names.end(), "test_scaled_uniform"), names.end());
  const auto all = Registry::global().all_names();
  EXPECT_NE(std::find(all.begin(), all.end(), "test_scaled_alias"), all.end());
  EXPECT_EQ(Registry::global().make("test_scaled_alias")->spec().str(),
            "test_scaled_uniform(scale=1)");
  // Its own validate runs before any write.
  const at::Tensor v = at::empty({5});
  torchinit::testutil::fill_pattern_(v);
  const at::Tensor before = v.clone();
  EXPECT_TRUE(ContainsAll(error_of([&] { torchinit::init_(v, "test_scaled_uniform"); }),
                          {"test_scaled", "[5]"}));
  EXPECT_TRUE(at::equal(v, before));
}

TEST(UserInitializer, DuplicateNamesAndAliasesAreErrors) {
  ensure_user_initializer();
  auto& r = Registry::global();
  EXPECT_TRUE(ContainsAll(error_of([&] { r.add(scaled_entry("uniform", {})); }),
                          {"'uniform' is already registered", "pick another name"}));
  EXPECT_TRUE(ContainsAll(error_of([&] { r.add(scaled_entry("glorot_uniform", {})); }),
                          {"'glorot_uniform' is already registered"}));
  EXPECT_TRUE(ContainsAll(error_of([&] { r.add(scaled_entry("test_scaled_uniform", {})); }),
                          {"'test_scaled_uniform' is already registered"}));
  EXPECT_TRUE(ContainsAll(error_of([&] { r.add(scaled_entry("test_fresh_1", {"he_normal"})); }),
                          {"alias 'he_normal'", "already registered"}));
  EXPECT_TRUE(ContainsAll(error_of([&] { r.add(scaled_entry("test_fresh_2", {"normal"})); }),
                          {"alias 'normal'", "already registered"}));
  EXPECT_TRUE(ContainsAll(error_of([&] { r.add(scaled_entry("test_fresh_3", {"test_fresh_3"})); }),
                          {"alias 'test_fresh_3'"}));
  // A failed add registers nothing.
  EXPECT_FALSE(r.find("test_fresh_1"));
  EXPECT_FALSE(r.find("test_fresh_2"));
  EXPECT_FALSE(r.find("test_fresh_3"));
  // Bad defaults are caught at add time.
  RegistryEntry bad = scaled_entry("test_bad_default", {});
  bad.args[0].default_value = "1 +";
  EXPECT_FALSE(error_of([&] { r.add(bad); }).empty());
  EXPECT_FALSE(r.find("test_bad_default"));
}

// Names no spec could write are refused at add time (they used to register and then never match).
TEST(UserInitializer, NamesAndArgumentsMustBeSpecIdentifiers) {
  auto& r = Registry::global();
  const std::vector<std::string> bad_names = {"bad name(!", "",    "9lives",
                                              "a-b",        "inf", std::string("x\0y", 3)};
  for (const std::string& name : bad_names) {
    const std::string message = error_of([&] { r.add(scaled_entry(name, {})); });
    EXPECT_TRUE(ContainsAll(message, {"torchinit::Registry::add"})) << message;
    if (!name.empty()) {
      EXPECT_TRUE(ContainsAll(message, {"not a spec identifier"})) << message;
    }
    EXPECT_EQ(message.find('\0'), std::string::npos);
    EXPECT_FALSE(r.find(name));
  }
  EXPECT_TRUE(ContainsAll(error_of([&] { r.add(scaled_entry("test_ok_1", {"bad alias"})); }),
                          {"alias of test_ok_1 'bad alias'", "not a spec identifier"}));
  RegistryEntry bad_arg = scaled_entry("test_ok_2", {});
  bad_arg.args[0].name = "sc ale";
  EXPECT_TRUE(ContainsAll(error_of([&] { r.add(bad_arg); }),
                          {"argument of test_ok_2 'sc ale'", "not a spec identifier"}));
  RegistryEntry twice = scaled_entry("test_ok_3", {});
  twice.args.push_back(twice.args[0]);
  EXPECT_TRUE(ContainsAll(error_of([&] { r.add(twice); }), {"'scale' twice"}));
  RegistryEntry wrong_type = scaled_entry("test_ok_4", {});
  wrong_type.args[0].default_value = "relu";  // a Number argument
  EXPECT_TRUE(ContainsAll(error_of([&] { r.add(wrong_type); }),
                          {"default 'relu'", "'scale'", "expects a number"}));
  RegistryEntry repeated_alias = scaled_entry("test_ok_5", {"test_ok_5a", "test_ok_5a"});
  EXPECT_TRUE(ContainsAll(error_of([&] { r.add(repeated_alias); }), {"alias 'test_ok_5a'"}));
  for (const char* name : {"test_ok_1", "test_ok_2", "test_ok_3", "test_ok_4", "test_ok_5"})
    EXPECT_FALSE(r.find(name)) << name;
}

// ---- aliases ----

TEST(Aliases, ResolveToTheSameBytes) {
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"glorot_uniform", "xavier_uniform"},
      {"glorot_normal", "xavier_normal"},
      {"he_uniform", "kaiming_uniform"},
      {"he_normal", "kaiming_normal"},
      {"truncated_normal", "trunc_normal"},
      {"random_uniform", "uniform"},
      {"random_normal", "normal"},
      {"zero", "zeros"},
      {"one", "ones"},
      {"identity", "eye"}};
  for (const auto& [alias, name] : pairs) {
    EXPECT_EQ(Registry::global().find(alias)->name, name) << alias;
    EXPECT_EQ(Registry::global().make(alias)->name(), name) << alias;
    const InitOptions o = InitOptions().seed(31).key("alias");
    const at::Tensor a = at::empty({32, 16}), b = at::empty({32, 16});
    torchinit::init_(a, alias, o);
    torchinit::init_(b, name, o);
    EXPECT_TRUE(same_bytes(a, b)) << alias << " vs " << name;
  }
  EXPECT_FALSE(Registry::global().find("no_such_initializer"));
}

TEST(Aliases, NamesAreSortedCanonicalAndAllNamesAddAliases) {
  const auto names = Registry::global().names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::find(names.begin(), names.end(), "glorot_uniform"), names.end());
  const auto all = Registry::global().all_names();
  for (const char* n :
       {"glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "xavier_uniform",
        "kaiming_normal", "lecun_uniform", "lecun_normal", "variance_scaling"}) {
    EXPECT_NE(std::find(all.begin(), all.end(), n), all.end()) << n;
  }
}

// ---- arguments ----

TEST(Arguments, PositionalInDeclaredOrder) {
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"uniform(-0.5, 0.5)", "uniform(a=-0.5, b=0.5)"},
      {"normal(0.1, 0.2)", "normal(mean=0.1, std=0.2)"},
      {"trunc_normal(0, 0.5, -1, 1)", "trunc_normal(mean=0, std=0.5, a=-1, b=1)"},
      {"kaiming_normal(0.2, fan_out, leaky_relu)",
       "kaiming_normal(a=0.2, mode=fan_out, nonlinearity=leaky_relu)"},
      {"kaiming_uniform(0.1, mode=fan_out)", "kaiming_uniform(a=0.1, mode=fan_out)"},
      {"sparse(0.3, 0.05)", "sparse(sparsity=0.3, std=0.05)"},
      {"xavier_uniform(relu)", "xavier_uniform(gain=relu)"},
      {"constant(0.7)", "constant(val=0.7)"}};
  for (const auto& [positional, keywords] : pairs) {
    EXPECT_EQ(Registry::global().make(positional)->spec(),
              Registry::global().make(keywords)->spec())
        << positional;
    const InitOptions o = InitOptions().seed(2).key("pos");
    const at::Tensor a = at::empty({20, 10}), b = at::empty({20, 10});
    torchinit::init_(a, positional, o);
    torchinit::init_(b, keywords, o);
    EXPECT_TRUE(same_bytes(a, b)) << positional;
  }
}

TEST(Arguments, ResolvedSpecShowsEveryArgumentWithDefaults) {
  const std::vector<std::pair<std::string, std::string>> want = {
      {"kaiming_uniform", "kaiming_uniform(a=0, mode=fan_in, nonlinearity=leaky_relu)"},
      {"he_normal(mode=fan_out)", "kaiming_normal(a=0, mode=fan_out, nonlinearity=leaky_relu)"},
      {"trunc_normal", "trunc_normal(mean=0, std=1, a=-2, b=2)"},
      {"trunc_normal(std=0.02)", "trunc_normal(mean=0, std=0.02, a=-2, b=2)"},
      {"uniform", "uniform(a=0, b=1)"},
      {"normal", "normal(mean=0, std=1)"},
      {"xavier_uniform(gain=leaky_relu(0.2))", "xavier_uniform(gain=leaky_relu(0.2))"},
      {"glorot_normal", "xavier_normal(gain=1)"},
      {"orthogonal", "orthogonal(gain=1)"},
      {"sparse(0.1)", "sparse(sparsity=0.1, std=0.01)"},
      {"dirac", "dirac(groups=1)"},
      {"variance_scaling", "variance_scaling(scale=1, mode=fan_in, distribution=truncated_normal)"},
      {"zeros", "zeros"},
      {"constant(val=2)", "constant(val=2)"}};
  for (const auto& [spec, resolved] : want) {
    EXPECT_EQ(Registry::global().make(spec)->spec().str(), resolved) << spec;
    EXPECT_EQ(Registry::global().make(spec)->name(), resolved.substr(0, resolved.find('(')));
  }
}

TEST(Arguments, GainAcceptsNumbersAndNonlinearities) {
  const std::vector<int64_t> shape = {40, 60};
  const double base = torchinit::theory("xavier_normal", shape).std();
  EXPECT_DOUBLE_EQ(torchinit::theory("xavier_normal(gain=relu)", shape).std(),
                   base * std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(torchinit::theory("xavier_normal(gain=leaky_relu(0.2))", shape).std(),
                   base * std::sqrt(2.0 / (1 + 0.2 * 0.2)));
  EXPECT_DOUBLE_EQ(torchinit::theory("xavier_normal(gain=tanh)", shape).std(), base * 5.0 / 3);
  EXPECT_DOUBLE_EQ(torchinit::theory("xavier_normal(gain=2.5)", shape).std(), base * 2.5);
}

// ---- docs ----

TEST(Docs, EveryBuiltInHasSummaryFormulaPaperAndArgumentDocs) {
  for (const std::string& name : Registry::global().names()) {
    const auto e = Registry::global().find(name);
    ASSERT_TRUE(e) << name;
    EXPECT_EQ(e->name, name);
    EXPECT_FALSE(e->doc.summary.empty()) << name;
    EXPECT_FALSE(e->doc.formula.empty()) << name;
    EXPECT_FALSE(e->doc.paper.empty()) << name;
    for (const auto& a : e->args) EXPECT_FALSE(a.doc.empty()) << name << "." << a.name;
  }
}

}  // namespace
