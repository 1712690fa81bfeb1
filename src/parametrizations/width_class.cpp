#include "parametrizations/width_class.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <functional>
#include <numeric>

namespace torchinit::detail {
namespace {

constexpr const char* kWidthWho = "torchinit::Parametrization::mup";

int64_t numel(const std::vector<int64_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

double ratio(int64_t model, int64_t base) { return double(model) / double(base); }

}  // namespace

WidthClass width_class(const ReportRow& row, const ReportRow& base) {
  const std::string shape = fmt::format("[{}]", fmt::join(row.shape, ", "));
  const std::string base_shape = fmt::format("[{}]", fmt::join(base.shape, ", "));
  TORCH_CHECK(row.shape.size() == base.shape.size(), kWidthWho, ": ", row.path, " is ", shape,
              " in the model and ", base_shape,
              " in the base model; the base must be the same architecture at a smaller width");
  for (size_t d = 0; d < row.shape.size(); ++d)
    TORCH_CHECK(row.shape[d] >= base.shape[d], kWidthWho,
                ": the base model is wider than the model at ", row.path, " (", base_shape, " > ",
                shape, "); give a base model of width at most the model's");
  WidthClass c;
  // Biases, norms and embeddings have one growing dimension at most: vectors. Fans say nothing
  // here (a bias borrows its layer's fans; an embedding's rows are its vocabulary).
  if (row.shape.size() <= 1 || row.role == "embedding" || row.fans.fan_in == 0 ||
      base.fans.fan_in == 0) {
    c.width_mult = ratio(numel(row.shape), numel(base.shape));
    c.name = c.width_mult == 1 ? "finite" : "vector";
    return c;
  }
  const double in = ratio(row.fans.fan_in, base.fans.fan_in);
  const double out = ratio(row.fans.fan_out, base.fans.fan_out);
  c.fan_out_mult = out;
  if (in == 1) {
    c.name = out == 1 ? "finite" : "vector";
    c.width_mult = out;
  } else {
    c.name = out == 1 ? "readout" : "hidden";
    c.width_mult = in;
  }
  return c;
}

Multipliers mup_multipliers(const WidthClass& c, OptimizerKind optimizer, bool readout_multiplier) {
  const bool adam = optimizer == OptimizerKind::Adam;
  const double m = c.width_mult;
  Multipliers x;
  x.width_class = c.name;
  x.width_mult = m;
  if (c.name == "vector") {
    x.lr = adam ? 1 : m;
  } else if (c.name == "hidden") {
    x.init_scale = 1 / std::sqrt(m);
    x.lr = adam ? 1 / m : c.fan_out_mult / m;
  } else if (c.name == "readout" && readout_multiplier) {
    x.forward = 1 / m;
    x.lr = adam ? 1 : m;
  } else if (c.name == "readout") {
    // αW with α = 1/m folded into W: init ασ; Adam lr α·η; SGD lr α²·(η·m) = η/m.
    x.width_class = "readout (folded)";
    x.init_scale = 1 / m;
    x.lr = 1 / m;
  }
  x.weight_decay = 1 / x.lr;
  return x;
}

}  // namespace torchinit::detail
