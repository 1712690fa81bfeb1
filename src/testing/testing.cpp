#include "torchinit/testing.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>

#include "torchinit/init.h"

namespace torchinit::test {
namespace {

std::string describe(const at::Tensor& t) {
  return fmt::format("tensor [{}] {}", fmt::join(t.sizes(), ", "), c10::toString(t.scalar_type()));
}

::testing::AssertionResult from_check(const at::Tensor& tensor, const CheckResult& r) {
  if (r.passed()) return ::testing::AssertionSuccess() << describe(tensor) << ": " << r.summary();
  return ::testing::AssertionFailure() << describe(tensor) << ": " << r.summary();
}

class FollowsTheoryMatcher : public ::testing::MatcherInterface<const at::Tensor&> {
 public:
  FollowsTheoryMatcher(std::string spec, CheckOptions options)
      : spec_(std::move(spec)), options_(options) {}
  bool MatchAndExplain(const at::Tensor& t,
                       ::testing::MatchResultListener* listener) const override {
    const CheckResult r = check(t, spec_, options_);
    *listener << r.summary();
    return r.passed();
  }
  void DescribeTo(std::ostream* os) const override {
    *os << "follows the theory of " << spec_ << " (alpha=" << options_.alpha() << ")";
  }
  void DescribeNegationTo(std::ostream* os) const override {
    *os << "does not follow the theory of " << spec_;
  }

 private:
  std::string spec_;
  CheckOptions options_;
};

}  // namespace

::testing::AssertionResult MatchesTheory(const at::Tensor& tensor, std::string_view spec,
                                         const CheckOptions& options) {
  return from_check(tensor, check(tensor, spec, options));
}

::testing::AssertionResult MatchesTheory(const at::Tensor& tensor, const Distribution& theory,
                                         const CheckOptions& options) {
  return from_check(tensor, check(tensor, theory, options));
}

::testing::AssertionResult HasVarianceNear(const at::Tensor& tensor, double variance,
                                           const CheckOptions& options) {
  validate_check_options(options, "torchinit::test::HasVarianceNear");
  const stats::Moments m = tensor_moments(tensor);
  if (m.n < 4)
    return ::testing::AssertionFailure()
           << describe(tensor) << ": " << m.n << " elements cannot estimate a variance";
  const double s2 = m.sample_variance();
  // Plug-in estimate of Var(s^2) = (mu4 - sigma^4 (n-3)/(n-1)) / n.
  const double n = double(m.n);
  const double mu4 = m.central_moment(4);
  const double sd = std::sqrt(std::max(0.0, (mu4 - s2 * s2 * (n - 3) / (n - 1)) / n));
  const double zc = stats::normal_quantile_two_sided(options.alpha());
  const double lo = variance - zc * sd, hi = variance + zc * sd;
  const std::string msg =
      fmt::format("{}: variance {:.6g} {} [{:.6g}, {:.6g}] (n={}, alpha={:.3g})", describe(tensor),
                  s2, s2 >= lo && s2 <= hi ? "in" : "outside", lo, hi, m.n, options.alpha());
  if (s2 >= lo && s2 <= hi) return ::testing::AssertionSuccess() << msg;
  return ::testing::AssertionFailure() << msg;
}

::testing::AssertionResult IsOrthogonal(const at::Tensor& tensor, double gain) {
  if (tensor.dim() < 2 || tensor.numel() == 0)
    return ::testing::AssertionFailure()
           << describe(tensor) << ": orthogonality needs a 2+-D tensor";
  const Distribution d =
      Distribution::orthogonal(tensor.size(0), tensor.numel() / tensor.size(0), gain);
  const CheckResult r = check(tensor, d);
  const Statistic* s = r.find("orthogonality");
  if (s != nullptr && s->passed)
    return ::testing::AssertionSuccess() << describe(tensor) << ": " << s->detail;
  return ::testing::AssertionFailure()
         << describe(tensor) << ": " << (s != nullptr ? s->detail : r.summary());
}

::testing::Matcher<const at::Tensor&> FollowsTheory(std::string spec, CheckOptions options) {
  return ::testing::MakeMatcher(new FollowsTheoryMatcher(std::move(spec), options));
}

}  // namespace torchinit::test

namespace at {
void PrintTo(const Tensor& tensor, std::ostream* os) {
  *os << (tensor.defined() ? fmt::format("tensor [{}] {}", fmt::join(tensor.sizes(), ", "),
                                         c10::toString(tensor.scalar_type()))
                           : std::string("undefined tensor"));
}
}  // namespace at
