#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "torchinit/plan.h"
#include "torchinit/spec.h"

namespace torchinit {

const ReportRow& Report::at(std::string_view path) const {
  for (const auto& r : rows_)
    if (r.path == path || std::find(r.aliases.begin(), r.aliases.end(), path) != r.aliases.end())
      return r;
  std::vector<std::string> paths;
  for (const auto& r : rows_) {
    paths.push_back(r.path);
    paths.insert(paths.end(), r.aliases.begin(), r.aliases.end());
  }
  TORCH_CHECK(false, "torchinit::Report::at: no parameter '", path, "';",
              did_you_mean(path, paths));
}

std::string Report::table() const {
  std::string out = fmt::format("{:<36} {:<18} {:<18} {:<10} {:>7} {:>7}  {}\n", "parameter",
                                "shape", "module", "role", "fan_in", "fan_out", "spec -> theory");
  std::vector<std::string> notes;
  for (const auto& r : rows_) {
    out += fmt::format("{:<36} {:<18} {:<18} {:<10} {:>7} {:>7}  {}{}\n", r.path,
                       fmt::format("[{}]", fmt::join(r.shape, ",")), r.module_type, r.role,
                       r.fans.fan_in, r.fans.fan_out, r.spec.empty() ? "(unmatched)" : r.spec,
                       r.spec.empty()
                           ? ""
                           : " -> " + r.theory.str() +
                                 (r.blocks > 1 ? fmt::format(" per block x{}", r.blocks) : ""));
    if (!r.aliases.empty())
      out += fmt::format("    also {} (tied: initialized once, as {})\n",
                         fmt::join(r.aliases, ", "), r.path);
    if (r.padding_idx)
      out += fmt::format("    padding row {} = 0 (theory: the other rows)\n", *r.padding_idx);
    if (!r.multipliers.width_class.empty()) {
      const Multipliers& m = r.multipliers;
      out += fmt::format("    {}: {} m={:g} init x{:g} forward x{:g} lr x{:g} weight_decay x{:g}\n",
                         parametrization_, m.width_class, m.width_mult, m.init_scale, m.forward,
                         m.lr, m.weight_decay);
    }
    if (!r.note.empty() && std::find(notes.begin(), notes.end(), r.note) == notes.end())
      notes.push_back(r.note);
  }
  for (const auto& [path, value] : buffers_)
    out += fmt::format("{}: buffer {} = {:g}\n", parametrization_, path, value);
  for (const auto& n : notes) out += "note: " + n + "\n";
  for (const auto& w : warnings_) out += "warning: " + w + "\n";
  return out;
}

std::string Report::json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : rows_) {
    rows.push_back({{"path", r.path},
                    {"aliases", r.aliases},
                    {"shape", r.shape},
                    {"module_type", r.module_type},
                    {"role", r.role},
                    {"fan_in", r.fans.fan_in},
                    {"fan_out", r.fans.fan_out},
                    {"spec", r.spec},
                    {"theory", r.theory.str()},
                    {"mean", r.theory.mean()},
                    {"variance", r.theory.variance()},
                    {"key", r.key},
                    {"blocks", r.blocks},
                    {"padding_idx", r.padding_idx ? nlohmann::json(*r.padding_idx) : nullptr},
                    {"note", r.note}});
    const Multipliers& m = r.multipliers;
    if (!m.width_class.empty())  // only under a parametrization: plain reports keep their form
      rows.back()["multipliers"] = {{"width_class", m.width_class},
                                    {"width_mult", m.width_mult},
                                    {"init_scale", m.init_scale},
                                    {"forward", m.forward},
                                    {"lr", m.lr},
                                    {"weight_decay", m.weight_decay}};
  }
  nlohmann::json out{{"seed", seed_}, {"rows", rows}, {"warnings", warnings_}};
  if (!parametrization_.empty()) {
    out["parametrization"] = parametrization_;
    out["buffers"] = nlohmann::json::object();
    for (const auto& [path, value] : buffers_) out["buffers"][path] = value;
  }
  return out.dump(2);
}

}  // namespace torchinit
