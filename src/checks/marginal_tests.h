// The statistics check() reports for a continuous marginal (mean and variance z-tests from the
// moments, KS and Anderson–Darling on a sorted subsample), shared by check() and the distributed
// check so their results compare field by field.
#pragma once

#include <c10/core/ScalarType.h>

#include <string>
#include <vector>

#include "torchinit/check.h"
#include "torchinit/stats.h"

namespace torchinit::detail {

// Explicit mantissa bits of a floating dtype (52, 23, 10, 7).
int mantissa_bits(at::ScalarType t);

// A z statistic of an observed quantity against its null mean and standard deviation.
Statistic z_statistic(const std::string& name, double observed, double expected, double sd,
                      double alpha, int64_t n);
// A statistic judged by its p-value.
Statistic p_statistic(const std::string& name, const std::string& symbol, double value, double p,
                      double alpha, int64_t n);

// Moments (when `moments_independent`) and shape tests of a sample against a continuous `d`, each
// at `alpha_each`; `sorted_sample` is check()'s evenly strided subsample, ascending. Marks `r`
// underpowered when n cannot detect the options' variance error.
void test_marginal(CheckResult& r, const std::vector<double>& sorted_sample,
                   const stats::Moments& m, const Distribution& d, double alpha_each,
                   const CheckOptions& o, bool moments_independent, at::ScalarType dtype);

}  // namespace torchinit::detail
