// Variance scaling, the general case (Keras/JAX `variance_scaling`, mlpack's rules): weights with
// variance scale/fan, fan = fan_in, fan_out or (fan_in+fan_out)/2, drawn from a uniform, a normal
// or a normal truncated at ±2 std. The named schemes are instances of it:
//   xavier_*  (Glorot & Bengio 2010)   var = gain^2 · 2/(fan_in+fan_out)
//   kaiming_* (He et al. 2015)         var = gain^2 / fan_mode, gain from the nonlinearity
//   lecun_*   (LeCun et al. 1998)      var = 1/fan_in
// Each named scheme computes std with torch.nn.init's exact arithmetic, so the LibTorch backend
// reproduces torch::nn::init's bytes.
#include <cmath>
#include <functional>

#include "initializers/builtins.h"
#include "initializers/fill_helpers.h"
#include "torchinit/elementwise_initializer.h"
#include "torchinit/gain.h"
#include "torchinit/registry.h"

namespace torchinit::detail {
namespace {

// CutNormal: N(0, std^2) cut at ±cutoff·std with no correction of the cut (OLMo, torchtitan).
enum class Shape { Uniform, Normal, TruncatedNormal, CutNormal };

// Keras/JAX: the std of N(0,1) truncated to [-2, 2]; dividing by it makes the post-truncation
// std exact.
constexpr double kTruncatedStd = 0.87962566103423978;

class VarianceScaling final : public ElementwiseInitializer {
 public:
  // std_of(fans) gives the target std; `gain` < 0 when the scheme has none.
  VarianceScaling(std::string who, Shape shape, std::function<double(const Fans&)> std_of,
                  double gain, double cutoff = 0)
      : who_(std::move(who)),
        shape_(shape),
        std_of_(std::move(std_of)),
        gain_(gain),
        cutoff_(cutoff) {}

  void validate(const ParamInfo& p) const override {
    if (p.module_fans) return;  // a bias inside a module: the module's weight lends its fans
    require_dims(p, 2, 8, who_.c_str(),
                 "fans need [out, in, ...]; for a bias or a 1-D tensor use zeros, normal(std=...) "
                 "or uniform(a=..., b=...)");
  }
  Distribution theory(const ParamInfo& p) const override {
    const double s = target_std(p);
    switch (shape_) {
      case Shape::Uniform: {
        const double bound = std::sqrt(3.0) * s;
        return Distribution::uniform(-bound, bound);
      }
      case Shape::Normal:
        return Distribution::normal(0, s);
      case Shape::TruncatedNormal:
        return Distribution::truncated_normal(0, s / kTruncatedStd, -2 * s / kTruncatedStd,
                                              2 * s / kTruncatedStd);
      case Shape::CutNormal:
        return Distribution::truncated_normal(0, s, -cutoff_ * s, cutoff_ * s);
    }
    return Distribution::normal(0, s);
  }
  // Theory (hence the scale) from the full parameter `p`, also when filling a shard.
  ElementFill element_fill(const ParamInfo& p) const override {
    const Distribution d = theory(p);
    switch (shape_) {
      case Shape::Uniform:
        return uniform_elements(d.param("a"), d.param("b"));
      case Shape::Normal:
        return normal_elements(0, d.param("std"));
      case Shape::TruncatedNormal:
      case Shape::CutNormal:
        return trunc_normal_elements(0, d.param("std"), d.param("a"), d.param("b"));
    }
    return normal_elements(0, d.param("std"));
  }
  void fill_torch(at::Tensor& t, const ParamInfo& p) const override {
    const Distribution d = theory(p);
    switch (shape_) {
      case Shape::Uniform:
        t.uniform_(d.param("a"), d.param("b"));
        return;
      case Shape::Normal:
        t.normal_(0, d.param("std"));
        return;
      case Shape::TruncatedNormal:
      case Shape::CutNormal:
        make_trunc_normal(0, d.param("std"), d.param("a"), d.param("b"))->fill_torch(t, p);
        return;
    }
  }
  std::vector<std::pair<std::string, double>> details(const ParamInfo& p) const override {
    const Fans f = p.fans(who_.c_str());
    std::vector<std::pair<std::string, double>> out = {{"fan_in", double(f.fan_in)},
                                                       {"fan_out", double(f.fan_out)}};
    if (gain_ > 0) out.emplace_back("gain", gain_);
    out.emplace_back("std", target_std(p));
    if (shape_ == Shape::Uniform) out.emplace_back("bound", std::sqrt(3.0) * target_std(p));
    return out;
  }

 private:
  double target_std(const ParamInfo& p) const { return std_of_(p.fans(who_.c_str())); }

  std::string who_;
  Shape shape_;
  std::function<double(const Fans&)> std_of_;
  double gain_;
  double cutoff_;  // CutNormal only
};

int64_t fan_of(const Fans& f, const std::string& mode) {
  return mode == "fan_in" ? f.fan_in : f.fan_out;
}

// sqrt(scale / fan), fan = fan_in, fan_out or (fan_in + fan_out) / 2 (variance_scaling's modes).
std::function<double(const Fans&)> scaled_std(double scale, const std::string& mode) {
  return [scale, mode](const Fans& f) {
    const double fan = mode == "fan_avg" ? (f.fan_in + f.fan_out) / 2.0 : double(fan_of(f, mode));
    return std::sqrt(scale / fan);
  };
}

std::shared_ptr<Initializer> xavier(Shape shape, const char* who, const Args& args) {
  const double gain = args.gain("gain");
  return std::make_shared<VarianceScaling>(
      who, shape,
      [gain](const Fans& f) { return gain * std::sqrt(2.0 / double(f.fan_in + f.fan_out)); }, gain);
}

std::shared_ptr<Initializer> kaiming(Shape shape, const char* who, const Args& args) {
  const double a = args.number("a");
  const std::string mode = args.choice("mode");
  const std::string nonlinearity = args.choice("nonlinearity");
  args.check(std::isfinite(a), "a", "a must be finite, got ", a);
  // As in PyTorch, `a` is the negative slope and only leaky_relu reads it.
  const double gain =
      nonlinearity == "leaky_relu" ? calculate_gain(nonlinearity, a) : calculate_gain(nonlinearity);
  // sqrt(2 / (1 + a^2)) underflows to 0 for |a| near 1e154: no variance left to scale.
  args.check(gain > 0, "a", "the gain of leaky_relu with a=", a,
             " is 0 (a^2 overflows); use a slope with |a| < 1e150");
  return std::make_shared<VarianceScaling>(
      who, shape, [gain, mode](const Fans& f) { return gain / std::sqrt(double(fan_of(f, mode))); },
      gain);
}

std::shared_ptr<Initializer> lecun(Shape shape, const char* who) {
  return std::make_shared<VarianceScaling>(
      who, shape, [](const Fans& f) { return 1.0 / std::sqrt(double(f.fan_in)); }, -1.0);
}

std::shared_ptr<Initializer> variance_scaling(const Args& args) {
  const double scale = args.number("scale");
  args.check(std::isfinite(scale) && scale > 0, "scale", "scale must be a finite number > 0, got ",
             scale);
  const std::string mode = args.choice("mode"), dist = args.choice("distribution");
  const Shape shape = dist == "uniform"            ? Shape::Uniform
                      : dist == "truncated_normal" ? Shape::TruncatedNormal
                                                   : Shape::Normal;
  return std::make_shared<VarianceScaling>("variance_scaling", shape, scaled_std(scale, mode),
                                           -1.0);
}

// N(0, s^2) with s = sqrt(scale/fan), cut at ±cutoff·s as OLMo's "mitchell" init and torchtitan
// do (trunc_normal_ with a = -cutoff·s, b = cutoff·s). Unlike Keras's truncated_normal the cut is
// not compensated, so the std after it is a little below s (0.9866 s at 3 s); theory says so.
std::shared_ptr<Initializer> scaled_trunc_normal(const Args& args) {
  const double scale = args.number("scale"), cutoff = args.number("cutoff");
  args.check(std::isfinite(scale) && scale > 0, "scale", "scale must be a finite number > 0, got ",
             scale);
  args.check(std::isfinite(cutoff) && cutoff > 0, "cutoff",
             "cutoff (in stds) must be a finite number > 0, got ", cutoff);
  const std::string mode = args.choice("mode");
  return std::make_shared<VarianceScaling>("scaled_trunc_normal", Shape::CutNormal,
                                           scaled_std(scale, mode), -1.0, cutoff);
}

// Fixup (Zhang et al. 2019): He normal scaled by L^(-1/(2m-2)) for the layers of residual
// branches with m layers in a network of L branches; zero the branches' last layers and the
// classifier with other rules.
std::shared_ptr<Initializer> fixup(const Args& args) {
  const double layers = args.number("layers"), m = args.number("m");
  args.check(layers >= 1 && layers == std::floor(layers) && std::isfinite(layers), "layers",
             "layers (residual branches) must be a positive integer, got ", layers);
  args.check(m >= 2 && m == std::floor(m) && std::isfinite(m), "m",
             "m (layers per branch) must be an integer >= 2, got ", m);
  const double gain = args.gain("gain");
  const double scale = std::pow(layers, -1.0 / (2 * m - 2));
  return std::make_shared<VarianceScaling>(
      "fixup", Shape::Normal,
      [gain, scale](const Fans& f) { return scale * gain / std::sqrt(double(f.fan_in)); }, gain);
}

std::vector<ArgSchema> kaiming_args() {
  return {{"a", ArgType::Number, "0", "negative slope of leaky_relu"},
          {"mode",
           ArgType::Choice,
           "fan_in",
           "fan_in keeps forward variance, fan_out backward",
           {"fan_in", "fan_out"}},
          {"nonlinearity", ArgType::Choice, "leaky_relu", "the activation after this layer",
           gain_names()}};
}

const char* kGlorot =
    "Glorot & Bengio 2010, Understanding the difficulty of training deep "
    "feedforward neural networks";
const char* kHe = "He et al. 2015, Delving deep into rectifiers";
const char* kLeCun = "LeCun et al. 1998, Efficient BackProp; Klambauer et al. 2017, SELU";

}  // namespace

void register_variance_scaling(Registry& r) {
  const ArgSchema gain{"gain", ArgType::Gain, "1",
                       "a number or a nonlinearity: relu, leaky_relu(0.2)"};
  r.add({"xavier_uniform",
         {"glorot_uniform"},
         {gain},
         {"Glorot uniform.", "U(-b, b), b = gain·sqrt(6/(fan_in+fan_out))", kGlorot},
         [](const Args& a) { return xavier(Shape::Uniform, "xavier_uniform", a); }});
  r.add({"xavier_normal",
         {"glorot_normal"},
         {gain},
         {"Glorot normal (untruncated, as PyTorch).",
          "N(0, s^2), s = gain·sqrt(2/(fan_in+fan_out))", kGlorot},
         [](const Args& a) { return xavier(Shape::Normal, "xavier_normal", a); }});
  r.add({"kaiming_uniform",
         {"he_uniform"},
         kaiming_args(),
         {"He uniform.",
          "U(-b, b), b = gain·sqrt(3/fan_mode), gain = calculate_gain(nonlinearity, a)", kHe},
         [](const Args& a) { return kaiming(Shape::Uniform, "kaiming_uniform", a); }});
  r.add({"kaiming_normal",
         {"he_normal"},
         kaiming_args(),
         {"He normal (untruncated, as PyTorch).", "N(0, s^2), s = gain/sqrt(fan_mode)", kHe},
         [](const Args& a) { return kaiming(Shape::Normal, "kaiming_normal", a); }});
  r.add({"lecun_uniform",
         {},
         {},
         {"LeCun uniform.", "U(-b, b), b = sqrt(3/fan_in)", kLeCun},
         [](const Args&) { return lecun(Shape::Uniform, "lecun_uniform"); }});
  r.add({"lecun_normal",
         {},
         {},
         {"LeCun normal (untruncated, as in the SELU paper).", "N(0, 1/fan_in)", kLeCun},
         [](const Args&) { return lecun(Shape::Normal, "lecun_normal"); }});
  r.add({"fixup",
         {},
         {{"layers", ArgType::Number, std::nullopt, "number of residual branches L"},
          {"m", ArgType::Number, "2", "layers per residual branch"},
          {"gain", ArgType::Gain, "relu", "He gain of the branch nonlinearity"}},
         {"Fixup residual-branch init (He normal scaled down with depth).",
          "N(0, s^2), s = gain/sqrt(fan_in) · L^(-1/(2m-2))",
          "Zhang et al. 2019, Fixup initialization: residual learning without normalization"},
         fixup});
  r.add({"scaled_trunc_normal",
         {},
         {{"scale", ArgType::Number, "1", "target variance (before the cut) times fan"},
          {"mode", ArgType::Choice, "fan_in", "which fan", {"fan_in", "fan_out", "fan_avg"}},
          {"cutoff", ArgType::Number, "3", "the cut, in stds"}},
         {"Fan-scaled normal cut at ±cutoff std without rescaling (OLMo, torchtitan).",
          "N(0, s^2) on [-c s, c s], s = sqrt(scale/fan)",
          "Groeneveld et al. 2024, OLMo (the \"mitchell\" init); torchtitan"},
         scaled_trunc_normal});
  r.add({"variance_scaling",
         {},
         {{"scale", ArgType::Number, "1", "target variance times fan"},
          {"mode", ArgType::Choice, "fan_in", "which fan", {"fan_in", "fan_out", "fan_avg"}},
          {"distribution",
           ArgType::Choice,
           "truncated_normal",
           "sample shape",
           {"truncated_normal", "normal", "untruncated_normal", "uniform"}}},
         {"Keras/JAX variance scaling; the general case of xavier, kaiming and lecun.",
          "var = scale/fan; uniform: U(-sqrt(3·var), sqrt(3·var)); truncated_normal: "
          "N(0, (sqrt(var)/0.8796…)^2) cut at ±2 of its std",
          "Keras VarianceScaling; Klambauer et al. 2017"},
         variance_scaling});
}

}  // namespace torchinit::detail
