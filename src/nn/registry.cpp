#include "torchinit/nn/registry.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <sstream>
#include <utility>

#include "spec/spec_args.h"
#include "torchinit/nn/activation_module.h"

namespace torchinit::nn {
namespace detail {
// Defined in builtin_models.cpp; called once, by ModelRegistry::global().
void register_builtin_models(ModelRegistry& registry);
}  // namespace detail

namespace {

constexpr const char* kMakeWho = "torchinit::nn::make";

using torchinit::detail::ArgCheck;
using torchinit::detail::got;
using torchinit::detail::where;

std::string spec_number(double x) { return SpecValue::of_number(x).str(); }

SpecValue parse_default(const std::string& text) {
  return Spec::parse("default(" + text + ")").args().at(0).value;
}

bool is_integer(const SpecValue& v) {
  return v.kind == SpecValue::Kind::Number && std::isfinite(v.number) &&
         std::floor(v.number) == v.number;
}

// ">= 1" or "in [0, 1]" for the bounds of an argument.
std::string range_text(double min, double max) {
  if (max >= ModelArg::kMaxSize) return ">= " + spec_number(min);
  return "in [" + spec_number(min) + ", " + spec_number(max) + "]";
}

// An integer for an Int argument or an IntList element; `element` names the element in errors.
void check_integer(const std::string& element, const ModelArg& a, const SpecValue& v,
                   const ArgCheck& check) {
  const std::string expects =
      element + "expects " +
      (a.type == ModelArgType::IntList ? "integers " + range_text(a.min, a.max) : a.describe());
  if (!is_integer(v)) {
    check.fail(expects + ", got " + got(v), v.column,
               v.kind == SpecValue::Kind::List && a.type == ModelArgType::Int
                   ? "\nhint: this argument takes a single integer, not a list"
                   : "");
  }
  const bool allowed =
      a.choices.empty()
          ? v.number >= a.min && v.number <= a.max
          : std::any_of(a.choices.begin(), a.choices.end(),
                        [&](const std::string& c) { return parse_default(c).number == v.number; });
  if (!allowed) check.fail(expects + ", got " + v.str(), v.column);
}

// Checks that `v` has the type and range the schema asks for.
void check_value(const ModelArg& a, const SpecValue& v, const ArgCheck& check) {
  switch (a.type) {
    case ModelArgType::Int:
      check_integer("", a, v, check);
      return;
    case ModelArgType::Number:
      if (v.kind != SpecValue::Kind::Number || std::isnan(v.number)) {
        check.expected(a.describe(), got(v), v.column);
      }
      if (!(v.number >= a.min && v.number <= a.max)) {
        check.expected(a.describe(), v.str(), v.column);
      }
      return;
    case ModelArgType::Bool:
      if (v.kind != SpecValue::Kind::Identifier || (v.text != "true" && v.text != "false")) {
        check.expected(a.describe(), got(v), v.column);
      }
      return;
    case ModelArgType::Choice:
      torchinit::detail::check_choice(v, a.choices, check);
      return;
    case ModelArgType::IntList: {
      if (v.kind != SpecValue::Kind::List) {
        check.expected(a.describe(), got(v), v.column, "",
                       v.kind == SpecValue::Kind::Number
                           ? "\nhint: write a list, as in [" + v.str() + "]"
                           : "");
      }
      if (static_cast<int64_t>(v.list.size()) < a.min_size) {
        check.expected(a.describe(), v.str(), v.column);
      }
      for (size_t i = 0; i < v.list.size(); ++i) {
        check_integer("element " + std::to_string(i) + " ", a, v.list[i], check);
      }
      return;
    }
    case ModelArgType::Activation: {
      if (v.kind == SpecValue::Kind::Identifier) {
        const std::vector<std::string> names = activation_names();
        if (std::find(names.begin(), names.end(), v.text) == names.end()) {
          check.expected(
              "an activation", "unknown name '" + excerpt(v.text) + "'", v.column,
              did_you_mean(v.text, names) + " expected one of " + c10::Join(", ", names));
        }
        return;
      }
      if (v.kind != SpecValue::Kind::Spec || !v.spec) {
        check.expected(a.describe(), got(v), v.column);
      }
      check_activation(*v.spec, check.context());  // a parsed nested spec carries its columns
      return;
    }
  }
}

// The binder's parameters of a model's schema.
std::vector<torchinit::detail::SpecParam> params_of(const ModelEntry& e) {
  std::vector<torchinit::detail::SpecParam> params;
  for (const ModelArg& a : e.args) {
    torchinit::detail::SpecParam p;
    p.name = a.name;
    if (a.default_value) {
      p.default_value = parse_default(*a.default_value);
      p.default_text = *a.default_value;
    }
    p.expects = a.describe();
    p.check = [a](const SpecValue& v, const ArgCheck& check) { check_value(a, v, check); };
    params.push_back(std::move(p));
  }
  return params;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

}  // namespace

// ---- ModelArg ----

const char* model_arg_type_name(ModelArgType type) {
  switch (type) {
    case ModelArgType::Int:
      return "int";
    case ModelArgType::Number:
      return "number";
    case ModelArgType::Bool:
      return "bool";
    case ModelArgType::Choice:
      return "choice";
    case ModelArgType::IntList:
      return "int list";
    case ModelArgType::Activation:
      return "activation";
  }
  return "?";
}

ModelArg ModelArg::integer(std::string name, std::optional<std::string> default_value,
                           std::string doc, double min, double max) {
  ModelArg a;
  a.name = std::move(name);
  a.type = ModelArgType::Int;
  a.default_value = std::move(default_value);
  a.doc = std::move(doc);
  a.min = min;
  a.max = max;
  return a;
}

ModelArg ModelArg::integer_of(std::string name, std::optional<std::string> default_value,
                              std::string doc, std::vector<std::string> allowed) {
  ModelArg a = integer(std::move(name), std::move(default_value), std::move(doc));
  a.choices = std::move(allowed);
  return a;
}

ModelArg ModelArg::number(std::string name, std::optional<std::string> default_value,
                          std::string doc, double min, double max) {
  ModelArg a = integer(std::move(name), std::move(default_value), std::move(doc), min, max);
  a.type = ModelArgType::Number;
  return a;
}

ModelArg ModelArg::boolean(std::string name, std::optional<std::string> default_value,
                           std::string doc) {
  ModelArg a = integer(std::move(name), std::move(default_value), std::move(doc));
  a.type = ModelArgType::Bool;
  return a;
}

ModelArg ModelArg::choice(std::string name, std::optional<std::string> default_value,
                          std::string doc, std::vector<std::string> choices) {
  ModelArg a = integer(std::move(name), std::move(default_value), std::move(doc));
  a.type = ModelArgType::Choice;
  a.choices = std::move(choices);
  return a;
}

ModelArg ModelArg::int_list(std::string name, std::optional<std::string> default_value,
                            std::string doc, int64_t min_size, double min, double max) {
  ModelArg a = integer(std::move(name), std::move(default_value), std::move(doc), min, max);
  a.type = ModelArgType::IntList;
  a.min_size = min_size;
  return a;
}

ModelArg ModelArg::activation(std::string name, std::optional<std::string> default_value,
                              std::string doc) {
  ModelArg a = integer(std::move(name), std::move(default_value), std::move(doc));
  a.type = ModelArgType::Activation;
  return a;
}

std::string ModelArg::describe() const {
  const auto range = [&] { return range_text(min, max); };
  switch (type) {
    case ModelArgType::Int:
      if (!choices.empty()) return "one of " + c10::Join(", ", choices);
      return "an integer " + range();
    case ModelArgType::Number:
      return "a number " + range();
    case ModelArgType::Bool:
      return "true or false";
    case ModelArgType::Choice:
      return "one of " + c10::Join(", ", choices);
    case ModelArgType::IntList:
      return "a list of integers " + range() +
             (min_size > 0 ? " with at least " + std::to_string(min_size) + " element" +
                                 (min_size > 1 ? "s" : "")
                           : "");
    case ModelArgType::Activation:
      return "an activation (relu, leaky_relu(0.2), tanh, gelu, ...)";
  }
  return "?";
}

// ---- ModelArgs ----

const SpecValue& ModelArgs::value(const std::string& name) const {
  const auto it = values_.find(name);
  TORCH_CHECK(it != values_.end(), "torchinit::nn::ModelArgs: ", model_, " has no argument '", name,
              "' (internal error: the factory reads an argument its schema lacks)");
  return it->second.value;
}

int64_t ModelArgs::integer(const std::string& name) const {
  return static_cast<int64_t>(value(name).number);
}

double ModelArgs::number(const std::string& name) const { return value(name).number; }

bool ModelArgs::boolean(const std::string& name) const { return value(name).text == "true"; }

const std::string& ModelArgs::choice(const std::string& name) const { return value(name).text; }

std::vector<int64_t> ModelArgs::int_list(const std::string& name) const {
  std::vector<int64_t> out;
  for (const SpecValue& v : value(name).list) out.push_back(static_cast<int64_t>(v.number));
  return out;
}

std::string ModelArgs::activation(const std::string& name) const {
  const SpecValue& v = value(name);
  return v.kind == SpecValue::Kind::Spec ? v.spec->str() : v.text;
}

void ModelArgs::fail(const std::string& name, const std::string& message) const {
  const auto it = values_.find(name);
  const int column =
      it != values_.end() && it->second.column > 0 ? it->second.column : model_column_;
  torchinit::detail::ArgCheck(source_, kMakeWho, model_, name).fail(message, column);
}

// ---- ModelRegistry ----

std::string signature(const ModelEntry& e) {
  return torchinit::detail::signature(e.name, params_of(e));
}

ModelRegistry& ModelRegistry::global() {
  static ModelRegistry* registry = [] {
    auto* r = new ModelRegistry();  // never destroyed: usable from other statics' destructors
    detail::register_builtin_models(*r);
    return r;
  }();
  return *registry;
}

void ModelRegistry::add(ModelEntry entry) {
  TORCH_CHECK(!entry.name.empty() && entry.factory,
              "torchinit::nn::ModelRegistry::add: an entry needs a name and a factory");
  // Fail now, not at first use.
  for (const auto& p : params_of(entry)) torchinit::detail::check_default(kMakeWho, entry.name, p);
  std::unique_lock lock(mutex_);
  TORCH_CHECK(entries_.count(entry.name) == 0, "torchinit::nn::ModelRegistry::add: the name '",
              entry.name, "' is already registered; pick another name");
  const std::string name = entry.name;
  entries_.emplace(name, std::move(entry));
}

std::optional<ModelEntry> ModelRegistry::find(std::string_view name) const {
  std::shared_lock lock(mutex_);
  const auto it = entries_.find(name);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> ModelRegistry::names() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, entry] : entries_) out.push_back(name);
  return out;
}

std::vector<ModelEntry> ModelRegistry::entries() const {
  std::shared_lock lock(mutex_);
  std::vector<ModelEntry> out;
  for (const auto& [name, entry] : entries_) out.push_back(entry);
  return out;
}

std::pair<ModelEntry, ModelArgs> ModelRegistry::bind(const Spec& spec) const {
  const std::optional<ModelEntry> found = find(spec.name());
  TORCH_CHECK(found, kMakeWho, ": unknown model '", excerpt(spec.name()), "';",
              did_you_mean(spec.name(), names()), " expected one of ", c10::Join(", ", names()),
              where(spec, spec.column()),
              "\nhint: `torchinit list --models` describes every model and its arguments");
  const ModelEntry& e = *found;
  const torchinit::detail::BoundArgs bound =
      torchinit::detail::bind(spec, kMakeWho, e.name, params_of(e));
  ModelArgs args;
  args.model_ = e.name;
  args.source_ = spec.source();
  args.model_column_ = spec.column();
  for (size_t i = 0; i < e.args.size(); ++i) {
    const SpecValue& v = bound.values[i];
    args.values_[e.args[i].name] = ModelArgs::Bound{v, bound.given[i] ? v.column : 0};
  }
  return {e, std::move(args)};
}

Spec ModelRegistry::resolve(const Spec& spec) const {
  const auto [entry, args] = bind(spec);
  std::vector<SpecArg> resolved;
  for (const ModelArg& a : entry.args) resolved.push_back(SpecArg{a.name, args.value(a.name), 0});
  return Spec(entry.name, std::move(resolved));
}

Spec ModelRegistry::resolve(std::string_view spec_text) const {
  return resolve(Spec::parse(spec_text));
}

torch::nn::AnyModule ModelRegistry::make(const Spec& spec) const {
  const auto [entry, args] = bind(spec);
  return entry.factory(args);
}

torch::nn::AnyModule ModelRegistry::make(std::string_view spec_text) const {
  return make(Spec::parse(spec_text));
}

std::string describe_models() {
  std::vector<std::string> lines;
  for (const ModelEntry& e : ModelRegistry::global().entries()) {
    lines.push_back(signature(e));
    lines.push_back("    " + e.summary);
    lines.push_back("    example: " + e.example);
    size_t width = 0;
    for (const ModelArg& a : e.args) width = std::max(width, a.name.size());
    for (const ModelArg& a : e.args) {
      lines.push_back("    " + a.name + std::string(width - a.name.size() + 2, ' ') + a.doc + " (" +
                      a.describe() + ")");
    }
    lines.push_back("");
  }
  return join_lines(lines);
}

}  // namespace torchinit::nn
