// Plans: ordered rules `selector = spec`, first match wins, applied to every parameter of a
// module. Selectors:
//   path glob        layer1.*.conv2.weight    (* matches any run of characters, ? one)
//   module type      @Conv2d.weight, @LSTM.weight_hh*   (type, then a glob on the parameter name;
//                    the type glob matches the layout's type or the module's C++ class name)
//   role             :weight, :bias, :input, :recurrent, :embedding, :norm_scale, :norm_shift,
//                    :slope, :bias_kv, :unknown (module_desc.h says what each one is)
// The spec `torch_default` stands for LibTorch's reset_parameters of each parameter it matches
// (ParamInfo::torch_default, from the module's type and options); it does not match parameters
// of module types torchinit does not know, which have no LibTorch default. Report rows show the
// spec it resolved to.
//
// Tied weights: a tensor reachable by several paths (the same TensorImpl, or the same storage,
// offset, sizes and strides) is initialized once, under its canonical path: the first in
// named_parameters order. That path is its stream key and its first matching rule decides the
// spec; the row lists the other paths as aliases (Report::at finds it by any of them). When an
// alias's first matching rule resolves to a different spec, strict mode (the default) is an
// error naming both paths and both rules, and non-strict mode keeps the canonical path's rule
// and adds a warning. Parameters that are different but overlapping views of one storage are
// an error.
//
// Embedding/EmbeddingBag padding_idx: whatever the rule, the padding row is zero after apply();
// the row says so and check(module, report) checks that row exactly.
//
//   auto plan = torchinit::Plan::parse(R"(
//       @Conv2d.weight = kaiming_normal(mode=fan_out, nonlinearity=relu)
//       *.bias         = zeros
//   )");
//   torchinit::Report rep = plan.apply(*net, torchinit::ApplyOptions().seed(42));
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "torchinit/check.h"
#include "torchinit/distribution.h"
#include "torchinit/init.h"
#include "torchinit/layout.h"
#include "torchinit/shard.h"
#include "torchinit/spec.h"

namespace torch::nn {
class Module;
class AnyModule;
}  // namespace torch::nn

namespace torchinit {

struct ApplyOptions {
  // One seed for every parameter (each has its own key, its path); drawn from LibTorch's default
  // generator when unset.
  TORCH_ARG(std::optional<uint64_t>, seed) = std::nullopt;
  // A parameter that no rule matches is an error (else it is left as it is).
  TORCH_ARG(bool, strict) = true;
  TORCH_ARG(Backend, backend) = Backend::Philox;
};

// A parametrization's multipliers of one parameter (parametrization.h); a plain plan leaves them
// at 1 with an empty width_class.
struct Multipliers {
  // "" (no parametrization), "finite" (no dimension grows with width), "vector" (one does:
  // input and embedding weights, biases, norms), "hidden" (fan-in and fan-out grow) or "readout"
  // (fan-in grows, fan-out does not).
  std::string width_class;
  double width_mult = 1;    // m: the growing dimension over the base model's (the fan-in's)
  double init_scale = 1;    // this parameter's init std over the base model's
  double forward = 1;       // forward multiplier of the weight (Projection's `multiplier` buffer)
  double lr = 1;            // learning-rate multiplier (param_groups())
  double weight_decay = 1;  // weight-decay multiplier (param_groups())
};

struct ReportRow {
  std::string path;
  std::vector<int64_t> shape;
  std::string module_type;
  std::string role;
  Fans fans;         // of one block for stacked layouts; {0, 0} where fans do not apply
  std::string spec;  // resolved, every argument shown; "" when unmatched (non-strict)
  Distribution theory = Distribution::constant(0);  // of one element (of one block)
  uint64_t key = 0;                                 // hash of the stream key (the path)
  int64_t blocks = 1;
  int rule = -1;  // index of the matching rule, -1 when none
  // Other paths of the same tensor (tied weights), in named_parameters order; `path` is the
  // canonical one.
  std::vector<std::string> aliases;
  // Embedding padding row held at zero (theory describes the other rows).
  std::optional<int64_t> padding_idx;
  // Why the layout may not be what you expect (a module type torchinit does not know).
  std::string note;
  Multipliers multipliers;  // set by a Parametrization
};

class Report {
 public:
  const std::vector<ReportRow>& rows() const { return rows_; }
  // The row of `path`, its canonical path or one of its aliases.
  const ReportRow& at(std::string_view path) const;
  // Rules that matched no parameter (likely typos), and tied parameters whose rules disagree
  // (non-strict mode).
  const std::vector<std::string>& warnings() const { return warnings_; }
  uint64_t seed() const { return seed_; }
  // The parametrization that wrote the multipliers ("mup(optimizer=adam)"), "" for a plain plan.
  const std::string& parametrization() const { return parametrization_; }
  // Module-level forward multipliers it set (buffer path → value), e.g.
  // layers.0.attn.logit_multiplier.
  const std::vector<std::pair<std::string, double>>& buffers() const { return buffers_; }
  std::string table() const;
  std::string json() const;

  void add(ReportRow row) { rows_.push_back(std::move(row)); }
  void warn(std::string w) { warnings_.push_back(std::move(w)); }
  void set_seed(uint64_t s) { seed_ = s; }
  std::vector<ReportRow>& mutable_rows() { return rows_; }
  void set_parametrization(std::string name) { parametrization_ = std::move(name); }
  void add_buffer(std::string path, double value) { buffers_.emplace_back(std::move(path), value); }

 private:
  std::vector<ReportRow> rows_;
  std::string parametrization_;
  std::vector<std::pair<std::string, double>> buffers_;
  std::vector<std::string> warnings_;
  uint64_t seed_ = 0;
};

struct Rule {
  std::string selector;
  Spec spec;
  int line = 0;  // 1-based line in the parsed text, 0 when added programmatically
  // The spec's initializer, built and validated once, when the rule is added; explain, apply and
  // apply_sharded use it as it is. Null for `torch_default`, which resolves per parameter.
  std::shared_ptr<const Initializer> initializer;
  // Non-empty: the rules sharing this text form a group of which at least one must match a
  // parameter, and the text says why (presets that scale residual projections set it). A group
  // that matches nothing is an error in strict mode, a warning otherwise. Programmatic only:
  // str() and json() do not carry it.
  std::string required;
};

class Plan {
 public:
  Plan() = default;
  // Appends a rule; c10::Error for a malformed selector or spec.
  Plan& rule(std::string selector, std::string_view spec);
  // Marks the last rule as a member of the required group `why` (Rule::required).
  Plan& required(std::string why);
  // Text (one `selector = spec` per line, `#` comments) or JSON ([{"selector":…, "spec":…}] or
  // {"rules": […]}). Errors carry the line and column.
  static Plan parse(std::string_view text);
  // torch_default, he, xavier, lecun_selu, orthogonal_rnn, resnet, gpt2 (see presets()).
  static Plan preset(std::string_view name, int64_t layers = 0);
  static std::vector<std::string> presets();

  const std::vector<Rule>& rules() const { return rules_; }
  std::string str() const;
  std::string json() const;

  // Initializes every parameter; the whole plan is validated before any tensor is written.
  Report apply(torch::nn::Module& module, const ApplyOptions& options = {}) const;
  // The same table without touching any weight.
  Report explain(const torch::nn::Module& module, const ApplyOptions& options = {}) const;
  // For models from nn::make (AnyModule has no operator*: the DESIGN sketch `plan.apply(*net)`
  // is written `plan.apply(net)`).
  Report apply(const torch::nn::AnyModule& module, const ApplyOptions& options = {}) const;
  Report explain(const torch::nn::AnyModule& module, const ApplyOptions& options = {}) const;
  // For a module whose parameters are shards: each parameter named in `shards` gets its slice
  // of the full parameter's values (init_shard_), the others are whole. Rows, keys, fans and
  // theory are the full parameters' (module layout from the module types, shapes from
  // `shards`), so the bytes equal slicing apply() on the full module.
  Report apply_sharded(torch::nn::Module& module, const ShardMap& shards,
                       const ApplyOptions& options = {}) const;

 private:
  std::vector<Rule> rules_;
};

// Every parameter of `module` against its row of `report`, at family-wise alpha (Bonferroni over
// parameters and blocks). A tied tensor is checked once, under its canonical path; an embedding's
// padding row is checked to be exactly zero and its other rows against the theory.
ModuleCheck check(const torch::nn::Module& module, const Report& report,
                  const CheckOptions& options = {});
ModuleCheck check(const torch::nn::AnyModule& module, const Report& report,
                  const CheckOptions& options = {});

// A plan from a preset name, a file holding rules (text or JSON), or inline rules
// ("sel = spec; sel = spec"); used by the CLI.
Plan load_plan(const std::string& preset_file_or_rules, int64_t layers = 0);

}  // namespace torchinit
