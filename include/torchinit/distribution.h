// Distribution: what an initializer promises about the values it writes. A family with its
// parameters, the first four moments, the CDF of one element, and for the structured families
// (orthogonal, sparse, eye, dirac, …) the structure that the checks verify beyond the marginal.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "torchinit/structure.h"

namespace torchinit {

// Compatibility view of typed_structure() for code written before it: every structure's numbers
// in one struct, zero where a field does not apply. New code reads typed_structure().
struct Structure {
  int64_t rows = 0;  // orthogonal, sparse, eye: the 2-D view [size(0), numel/size(0)]
  int64_t cols = 0;
  double gain = 1;                   // orthogonal: W W^T = gain^2 I (rows <= cols), W^T W otherwise
  int64_t zeros_per_column = 0;      // sparse: exactly this many zeros in every column
  int64_t groups = 1;                // dirac
  std::vector<int64_t> shape;        // dirac, delta_orthogonal: the full weight shape
  std::vector<double> block_values;  // block_constant: equal blocks along dim 0, one value each
};

class Distribution {
 public:
  enum class Kind { Constant, Uniform, Normal, TruncatedNormal, Orthogonal, LogUniform, Mixture };

  // Families. Parameters are validated (std > 0, a < b, …) with c10::Error.
  static Distribution constant(double value);
  static Distribution uniform(double a, double b);
  static Distribution normal(double mean, double std);
  static Distribution truncated_normal(double mean, double std, double a, double b);
  // Marginal of one element of a Haar (semi-)orthogonal matrix times gain: the coordinate of a
  // uniform unit vector in R^n, n = max(rows, cols), so (x/gain)^2 ~ Beta(1/2, (n-1)/2).
  static Distribution orthogonal(int64_t rows, int64_t cols, double gain);
  // sparse(): zeros_per_column exact zeros per column, the rest N(0, std).
  static Distribution sparse(int64_t rows, int64_t cols, int64_t zeros_per_column, double std);
  static Distribution eye(int64_t rows, int64_t cols);
  static Distribution dirac(std::vector<int64_t> shape, int64_t groups);
  // sign·ln(U), U ~ U(lo, hi), 0 < lo < hi (chrono's gate biases).
  static Distribution log_uniform(double lo, double hi, double sign = 1);
  // chrono(t_max) LSTM bias [4H]: gate f = ln U, U ~ U(1, t_max - 1); gate i = -f; g, o = 0.
  static Distribution chrono(double t_max);
  // Equal blocks along dim 0, block b constant at values[b] (LSTM gate biases).
  static Distribution block_constant(std::vector<double> values);
  // Delta-orthogonal conv kernel [out, in, k…]: zero but at the center tap, which is a
  // (semi-)orthogonal [out, in] matrix times gain.
  static Distribution delta_orthogonal(std::vector<int64_t> shape, double gain);
  // Mixture of (weight, component), weights summing to 1; family "composite" unless renamed.
  static Distribution mixture(std::vector<std::pair<double, Distribution>> components,
                              std::string family = "composite");

  // This distribution as the marginal of a new structured family `family`: kind, parameters,
  // moments and CDF stay; typed_structure() becomes `structure`, and check() runs its check
  // (torchinit/custom_structure.h). c10::Error if this distribution already has a structure.
  Distribution with_structure(std::shared_ptr<const structure::Custom> structure,
                              std::string family) const;

  const std::string& family() const { return family_; }
  Kind kind() const { return kind_; }
  double mean() const { return mean_; }
  double variance() const { return mu2_; }
  // sqrt(variance()), computed without squaring where the variance underflows (a normal with
  // std 1e-200 has std() 1e-200 and variance() 0).
  double std() const;
  double third_central_moment() const { return mu3_; }
  double fourth_central_moment() const { return mu4_; }
  double cdf(double x) const;
  // Every element is determined (constant, eye, dirac): checks compare values exactly.
  bool is_exact() const;
  // The family's parameters in declaration order (a, b / mean, std / …).
  const std::vector<std::pair<std::string, double>>& params() const { return params_; }
  double param(const std::string& name) const;  // c10::Error if absent
  // What the family promises beyond the marginal: structure::None for unstructured families.
  const TypedStructure& typed_structure() const { return typed_structure_; }
  // The compatibility view of typed_structure() (see Structure).
  const Structure& structure() const { return structure_; }
  const std::vector<std::pair<double, Distribution>>& components() const { return components_; }
  // "uniform(a=-0.1, b=0.1)", "normal(mean=0, std=0.05)", …
  std::string str() const;

 private:
  Distribution(Kind kind, std::string family);
  // `sd`: the standard deviation computed directly, used where mu2 is below DBL_MIN.
  void set_moments(double mean, double mu2, double mu3, double mu4,
                   double sd = std::numeric_limits<double>::quiet_NaN());
  // Sets typed_structure() and fills structure() from it.
  void set_structure(TypedStructure s);

  Kind kind_ = Kind::Constant;
  std::string family_;
  std::vector<std::pair<std::string, double>> params_;
  double mean_ = 0, mu2_ = 0, mu3_ = 0, mu4_ = 0, sd_ = 0;
  TypedStructure typed_structure_;
  Structure structure_;  // filled from typed_structure_
  std::vector<std::pair<double, Distribution>> components_;
};

}  // namespace torchinit
