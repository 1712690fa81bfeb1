#include "plans/resolve.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

#include "initializers/validate.h"
#include "plans/selector.h"
#include "plans/tied_params.h"
#include "torchinit/registry.h"

namespace torchinit::detail {
namespace {

bool has_fans(const ParamInfo& p) { return p.dim() >= 2 || p.module_fans.has_value(); }

// The first rule matching one path and its initializer (torch_default resolved).
struct Match {
  int rule = -1;
  std::shared_ptr<const Initializer> init;
};

class Matcher {
 public:
  explicit Matcher(const Plan& plan) : plan_(plan) {}
  // A `torch_default` rule skips parameters that have no LibTorch default.
  Match first(const ParamInfo& info) {
    for (size_t i = 0; i < plan_.rules().size(); ++i) {
      if (!matches(plan_.rules()[i].selector, info)) continue;
      const auto& init = plan_.rules()[i].initializer;  // built when the rule was added
      if (init) return Match{int(i), init};
      if (info.torch_default.empty()) continue;
      auto& cached = defaults_[info.torch_default];
      if (!cached) cached = Registry::global().make(info.torch_default);
      return Match{int(i), cached};
    }
    return {};
  }
  std::string describe(const std::string& path, const Match& m) const {
    if (m.rule < 0) return path + ": no rule";
    return fmt::format("{}: {} -> {}", path, rule_text(plan_.rules()[m.rule], m.rule),
                       m.init->spec().str());
  }

 private:
  const Plan& plan_;
  std::map<std::string, std::shared_ptr<const Initializer>> defaults_;
};

}  // namespace

std::vector<Planned> resolve(const Plan& plan, std::vector<ModuleParam> params,
                             const ApplyOptions& options, Report& report, bool writes) {
  constexpr const char* who = "torchinit::Plan::apply";
  Matcher matcher(plan);
  const std::vector<TiedGroup> groups = tie_groups(params);
  std::vector<int> hits(plan.rules().size(), 0);
  std::vector<Planned> planned;
  std::vector<std::string> unmatched, conflicts;
  // Notes of unmatched parameters (unknown module types), each with the paths it concerns.
  std::vector<std::pair<std::string, std::vector<std::string>>> unmatched_notes;
  std::string example;  // a rule that would match the first unmatched parameter with a note
  for (const TiedGroup& g : groups) {
    Planned p;
    p.param = params[g.canonical];
    const Match canonical = matcher.first(p.param.info);
    p.rule = canonical.rule;
    p.init = canonical.init;
    p.padding_idx = p.param.info.padding_idx;
    if (canonical.rule >= 0) ++hits[canonical.rule];
    bool alias_matched = false;
    for (const size_t a : g.aliases) {
      const ParamInfo& alias = params[a].info;
      p.aliases.push_back(alias.path);
      if (!p.padding_idx) p.padding_idx = alias.padding_idx;
      const Match m = matcher.first(alias);
      if (m.rule < 0) continue;
      ++hits[m.rule];
      alias_matched = true;
      if (canonical.rule >= 0 && m.init->spec().str() == canonical.init->spec().str()) continue;
      const std::string what = fmt::format(
          "{} and {} are one tensor (tied weights) whose rules disagree: {}; {}. A tied tensor "
          "is initialized once, under its first path in named_parameters order ({}), by that "
          "path's rule",
          p.param.info.path, alias.path, matcher.describe(p.param.info.path, canonical),
          matcher.describe(alias.path, m), p.param.info.path);
      const std::string fix =
          canonical.rule >= 0
              ? fmt::format(
                    "give {} a rule with the same spec before rule {} (e.g. `{} = {}`), "
                    "or use ApplyOptions().strict(false) to keep {}'s rule",
                    alias.path, m.rule + 1, alias.path, canonical.init->spec().str(),
                    p.param.info.path)
              : fmt::format("give {} a rule (e.g. `{} = {}`)", p.param.info.path, p.param.info.path,
                            m.init->spec().str());
      conflicts.push_back(what + "; " + fix);
      if (!options.strict())
        report.warn(what + (canonical.rule >= 0
                                ? fmt::format("; {}'s rule was used", p.param.info.path)
                                : fmt::format("; the tensor was left unchanged ({})", fix)));
    }
    if (canonical.rule < 0 && !alias_matched) {
      unmatched.push_back(p.param.info.path);
      const std::string& note = p.param.info.note;
      if (!note.empty()) {
        auto it = std::find_if(unmatched_notes.begin(), unmatched_notes.end(),
                               [&](const auto& n) { return n.first == note; });
        if (it == unmatched_notes.end()) {
          unmatched_notes.push_back({note, {}});
          it = unmatched_notes.end() - 1;
        }
        it->second.push_back(p.param.info.path);
        if (example.empty()) {
          const auto dot = p.param.info.path.rfind('.');
          example = fmt::format(
              "@{}.{} = …", p.param.info.module_class,
              dot == std::string::npos ? p.param.info.path : p.param.info.path.substr(dot + 1));
        }
      }
    }
    planned.push_back(std::move(p));
  }
  TORCH_CHECK(!options.strict() || conflicts.empty(), who, ": ",
              fmt::format("{}", fmt::join(conflicts, "\n")), ". No parameter was changed.");
  if (options.strict() && !unmatched.empty()) {
    std::string notes;
    for (const auto& [note, paths] : unmatched_notes)
      notes += fmt::format("\n{}: {}", fmt::join(paths, ", "), note);
    TORCH_CHECK(false, who, ": no rule matches ", unmatched.size(),
                " parameter(s): ", fmt::format("{}", fmt::join(unmatched, ", ")),
                "; add a rule (e.g. `", example.empty() ? ":bias = zeros" : example,
                "`) or use ApplyOptions().strict(false)", notes);
  }
  for (size_t i = 0; i < hits.size(); ++i)
    if (hits[i] == 0) report.warn(rule_text(plan.rules()[i], int(i)) + " matches no parameter");
  // Required groups (Rule::required): at least one rule of each must have matched.
  std::map<std::string, std::vector<int>> groups_of;
  for (size_t i = 0; i < hits.size(); ++i)
    if (!plan.rules()[i].required.empty()) groups_of[plan.rules()[i].required].push_back(int(i));
  for (const auto& [why, members] : groups_of) {
    if (std::any_of(members.begin(), members.end(), [&](int i) { return hits[i] > 0; })) continue;
    std::vector<std::string> texts;
    for (const int i : members) texts.push_back(rule_text(plan.rules()[i], i));
    const std::string what = fmt::format("{} {} no parameter, and {}", fmt::join(texts, ", "),
                                         members.size() == 1 ? "matches" : "match", why);
    TORCH_CHECK(!options.strict(), who, ": ", what, ". No parameter was changed.");
    report.warn(what);
  }
  for (const auto& p : planned) {
    if (!p.init) continue;
    const ParamInfo& info = p.param.info;
    try {
      for (int64_t b = 0; b < info.layout.blocks; ++b) {
        const ParamInfo unit = info.layout.blocks > 1 ? info.block(b) : info;
        if (!writes && p.param.tensor.defined() && p.param.tensor.is_meta())
          validate_init_without_storage(p.param.tensor, *p.init, unit);
        else
          validate_init(p.param.tensor, *p.init, unit, options.backend());
      }
    } catch (const c10::Error& e) {
      TORCH_CHECK(false, who, ": ", rule_text(plan.rules()[p.rule], p.rule), " cannot apply to ",
                  info.path, " ", info.shape_str(), ": ", e.what_without_backtrace(),
                  info.note.empty() ? "" : "\nNote: " + info.path + ": " + info.note,
                  "\nNo parameter was changed.");
    }
  }
  for (const auto& p : planned) {
    const ParamInfo& info = p.param.info;
    ReportRow row;
    row.path = info.path;
    row.aliases = p.aliases;
    row.shape = info.shape;
    row.module_type = info.module_type;
    row.role = info.role;
    row.blocks = info.layout.blocks;
    row.key = hash_key(info.path);
    row.rule = p.rule;
    row.padding_idx = p.padding_idx;
    row.note = info.note;
    if (p.init && p.param.tensor.numel() > 0) {
      const ParamInfo unit = info.layout.blocks > 1 ? info.block(0) : info;
      if (has_fans(unit)) row.fans = unit.fans();
      row.spec = p.init->spec().str();
      row.theory = p.init->theory(unit);
    } else if (p.init) {
      row.spec = p.init->spec().str();
    }
    report.add(std::move(row));
  }
  return planned;
}

std::vector<Planned> resolve(const Plan& plan, const torch::nn::Module& module,
                             const ApplyOptions& options, Report& report) {
  return resolve(plan, module_params(module), options, report);
}

void zero_padding_row(const at::Tensor& tensor, const ParamInfo& full, int64_t row,
                      const Slice& slice) {
  const int64_t row_len = full.numel() / full.shape[0];
  if (slice.is_flat()) {
    const auto [f0, f1] = slice.flat_range();
    const int64_t lo = std::max(f0, row * row_len), hi = std::min(f1, (row + 1) * row_len);
    if (lo < hi) tensor.view({-1}).narrow(0, lo - f0, hi - lo).zero_();
    return;
  }
  const auto box = slice.resolve(full.shape, "torchinit::Plan::apply_sharded");
  if (row >= box[0].first && row < box[0].second) tensor.select(0, row - box[0].first).zero_();
}

std::string block_key(const std::string& path, int64_t b, int64_t blocks) {
  return blocks > 1 ? fmt::format("{}[{}]", path, b) : path;
}

std::string rule_text(const Rule& r, int index) {
  return fmt::format("rule {}{} `{} = {}`", index + 1,
                     r.line > 0 ? fmt::format(" (line {})", r.line) : "", r.selector, r.spec.str());
}

}  // namespace torchinit::detail
