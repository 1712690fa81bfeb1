// Signal propagation through a network: the per-layer pre-activation variance (forward) and
// gradient variance (backward) that mean-field theory predicts from a Report, against what a
// batch measures, layer by layer, with a diagnosis.
//
//   auto mlp = torchinit::nn::MLP(
//       torchinit::nn::MLPOptions(256, std::vector<int64_t>(20, 256), 10));
//   torchinit::Report rep = torchinit::Plan::preset("he").apply(*mlp, {});
//   torchinit::Propagation p = torchinit::propagate(*mlp, rep, {512, 256});
//   std::cout << p.table();              // measured vs predicted per layer
//   p.verdict();                         // "stable", "vanishing" or "exploding"
//
// Measurement: an N(0, 1) batch of `input_shape` runs through the network with a probe
// (nn/probe.h); every Linear/Conv output (the pre-activation of the next nonlinearity) and every
// residual block output is a layer. Backward: L = <g, output> with g ~ N(0, 1), so the output
// gradient has variance 1; the gradient of L with respect to each layer's output is taken with
// torch::autograd::grad (no parameter's .grad is touched).
//
// Prediction (Poole et al. 2016): with sigma_w2 = fan_in Var(w) and sigma_b2 = Var(b) from each
// layer's row of the Report and phi the activation between two layers,
//   q^1 = sigma_w2 E[x^2] + sigma_b2  (E[x^2] = 1),
//   q^l = sigma_w2 E[phi(sqrt(q^{l-1}) z)^2] + sigma_b2,
// and backward, from the output (gradient variance 1),
//   g^l = g^{l+1} fan_out^{l+1} Var(w^{l+1}) E[phi'(sqrt(q^l) z)^2].
// A step the theory does not cover (a norm, pooling, dropout, a residual block) ends the
// prediction: later layers are measured only (predicted = NaN, theory_note says why).
//
// Comparison, with the statistics of the checks (stats.h), at family-wise `alpha` (Bonferroni
// over layers):
//   - local: given the measured input of a Linear layer (a, its mean square E[a^2]), each output
//     unit j has a mean square s_j over the batch that is iid across units with mean
//     sigma_w2 E[a^2] + sigma_b2; z = stats::mean_z of the s_j against that mean, with their
//     sample standard deviation. This tests the layer's theory exactly, at any depth.
//   - chain: the mean-field q^l against the measured second moment. A finite-width network
//     drifts from q^l by a random factor; ln(measured / predicted) has standard deviation at
//     most chain_sd, accumulated from the unit-to-unit dispersion of every layer so far (of s_j
//     and of the activations' per-unit mean squares, added as if independent: conservative).
// Diagnosis: the per-layer growth factor is exp(slope) of a least-squares line through
// ln(second moment) over the layers (gradients: the same over ln(gradient variance), from the layer
// below the output); stable when it lies within [1/(1+tol), 1+tol], or when the total change it
// implies is within what finite width alone produces (z at alpha times the accumulated unit-to-unit
// dispersion, as for the chain); else vanishing or exploding (a non-finite or zero value decides at
// once).
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace torch::nn {
class Module;
class AnyModule;
}  // namespace torch::nn

namespace torchinit {

class Report;

struct PropagationOptions {
  // Seed of the N(0, 1) input batch and of the output cotangent g.
  TORCH_ARG(uint64_t, seed) = 0;
  // Family-wise false-alarm probability of the per-layer comparisons.
  TORCH_ARG(double, alpha) = 1e-3;
  // Per-layer growth factor within [1/(1+tol), 1+tol] is "stable".
  TORCH_ARG(double, growth_tolerance) = 0.05;
  // Also measure gradients (one backward pass).
  TORCH_ARG(bool, backward) = true;
};

constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

// One layer: a Linear/Conv output (pre-activation) or a residual block output.
struct LayerSignal {
  std::string path;        // module path, e.g. "layers.4"
  std::string type;        // Linear, Conv2d, BasicBlock, ...
  std::string activation;  // activation spec between the previous layer and this one
  int64_t units = 0;       // output features (channels for convs)
  int64_t n = 0;           // elements measured
  // Measured, forward.
  double mean = 0, variance = 0, second_moment = 0;
  double growth = kNoValue;  // second_moment / previous layer's
  // Theory of this layer, from the Report.
  double sigma_w2 = kNoValue, sigma_b2 = kNoValue;
  // Local test (Linear layers with theory).
  double local_predicted = kNoValue, local_z = kNoValue;
  bool local_agrees = true;
  // Mean-field chain from the input.
  double predicted = kNoValue, chain_sd = kNoValue;
  bool chain_agrees = true;
  // Backward: mean square of dL/d(output of this layer).
  double grad_variance = kNoValue, predicted_grad_variance = kNoValue;
  double grad_growth = kNoValue;
};

class Propagation {
 public:
  const std::vector<LayerSignal>& layers() const { return layers_; }
  // "stable", "vanishing" or "exploding": the forward verdict, or the backward one when the
  // forward signal is stable.
  const std::string& verdict() const { return verdict_; }
  const std::string& forward_verdict() const { return forward_verdict_; }
  const std::string& backward_verdict() const { return backward_verdict_; }  // "" if not measured
  double forward_growth() const { return forward_growth_; }
  double backward_growth() const { return backward_growth_; }
  // Where the theory stopped ("" when it covers every layer).
  const std::string& theory_note() const { return theory_note_; }
  double alpha() const { return alpha_; }
  double growth_tolerance() const { return tolerance_; }
  // Every local and chain comparison agrees.
  bool agrees() const;
  // One line: verdict, growth factors, layers, agreement.
  std::string summary() const;
  std::string table() const;
  std::string json() const;

 private:
  friend Propagation propagate_impl(torch::nn::Module&, const Report*, std::vector<int64_t>,
                                    const PropagationOptions&);
  std::vector<LayerSignal> layers_;
  std::string verdict_, forward_verdict_, backward_verdict_, theory_note_;
  double forward_growth_ = kNoValue, backward_growth_ = kNoValue;
  double alpha_ = 0, tolerance_ = 0;
};

// Measures `module` on an N(0, 1) batch of `input_shape` and compares with the theory of
// `report` (from Plan::apply on this module). The module's train/eval mode is used as it is;
// its parameters and their .grad are not changed. c10::Error before any work for an input shape
// that is empty, has a size < 1 or more than 2^63 - 1 elements, an alpha outside (0, 1) or a
// growth tolerance that is not a finite number > 0.
Propagation propagate(torch::nn::Module& module, const Report& report,
                      std::vector<int64_t> input_shape, const PropagationOptions& options = {});
Propagation propagate(const torch::nn::AnyModule& module, const Report& report,
                      std::vector<int64_t> input_shape, const PropagationOptions& options = {});
// Measurement and diagnosis without theory (every predicted value NaN).
Propagation propagate(torch::nn::Module& module, std::vector<int64_t> input_shape,
                      const PropagationOptions& options = {});

// The growth factor exp(slope) of a least-squares line through ln(values) (values > 0 and
// finite); NaN for fewer than two values.
double growth_factor(const std::vector<double>& values);
// "stable", "vanishing" or "exploding" for a sequence of per-layer variances: a non-finite value
// is exploding, a zero vanishing; otherwise the growth factor g against [1/(1+tol), 1+tol], where
// a growth only counts when the fitted total log change |ln g| (n-1) exceeds z * drift_sd, the
// spread that finite width alone gives ln(last/first) (drift_sd = 0: no such allowance).
std::string diagnose(const std::vector<double>& variances, double tolerance, double drift_sd = 0,
                     double z = 0);

}  // namespace torchinit
