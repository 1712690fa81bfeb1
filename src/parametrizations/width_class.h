// μP's table (parametrization.h): a parameter's width class from its Report row and the base
// model's row at the same path, and the multipliers of that class.
#pragma once

#include <string>

#include "torchinit/parametrization.h"
#include "torchinit/plan.h"

namespace torchinit::detail {

// The class, m (the fan-in's ratio for hidden and readout weights, the growing dimension's for
// vectors) and the fan-out's ratio. c10::Error when the shapes have different ranks or the base
// is larger in some dimension.
struct WidthClass {
  std::string name;  // finite, vector, hidden, readout
  double width_mult = 1;
  double fan_out_mult = 1;
};
WidthClass width_class(const ReportRow& row, const ReportRow& base);

// The multipliers of Table 8 (readout_multiplier: the readout has a forward-multiplier buffer)
// or, for a readout without one, of the equivalent Table 3 form.
Multipliers mup_multipliers(const WidthClass& c, OptimizerKind optimizer, bool readout_multiplier);

}  // namespace torchinit::detail
