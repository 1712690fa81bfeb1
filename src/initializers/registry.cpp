#include "torchinit/registry.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "initializers/builtins.h"
#include "spec/spec_args.h"
#include "torchinit/gain.h"

namespace torchinit {
namespace {

constexpr const char* kMakeWho = "torchinit::Registry::make";

// A default's value; column 0, as it is not in the user's text.
SpecValue parse_default(const std::string& text) {
  SpecValue v = Spec::parse("default(" + text + ")").args().at(0).value;
  v.column = 0;
  return v;
}

// A gain: a finite number > 0 or a nonlinearity calculate_gain knows, with at most one number.
void check_gain(const SpecValue& v, const detail::ArgCheck& check) {
  constexpr const char* kExpects = "a finite number > 0 or a nonlinearity";
  if (v.kind == SpecValue::Kind::Number) {
    if (!(std::isfinite(v.number) && v.number > 0)) {
      check.expected(kExpects, excerpt(v.str()), v.column);
    }
    return;
  }
  if (v.kind != SpecValue::Kind::Identifier && v.kind != SpecValue::Kind::Spec) {
    check.expected(std::string(kExpects) + " (relu, leaky_relu(0.2), …)", detail::got(v), v.column);
  }
  const Spec g = v.as_spec();
  const auto names = gain_names();
  if (std::find(names.begin(), names.end(), g.name()) == names.end()) {
    const std::string suggestion = did_you_mean(g.name(), names);
    check.expected(kExpects, "unknown nonlinearity '" + excerpt(g.name()) + "'", v.column,
                   suggestion.empty() ? " known: " + c10::Join(", ", names) : suggestion);
  }
  if (g.args().size() > 1 ||
      (!g.args().empty() && g.args()[0].value.kind != SpecValue::Kind::Number)) {
    check.expected("a nonlinearity with at most one number, as in leaky_relu(0.2)",
                   excerpt(g.str()), v.column);
  }
  // Out-of-range nonlinearity parameters (elu(-1), softplus(0)) fail here, with the
  // initializer's name and the column, rather than later inside a factory.
  std::optional<double> param;
  if (!g.args().empty()) param = g.args()[0].value.number;
  try {
    (void)calculate_gain(g.name(), param);
  } catch (const c10::Error& e) {
    check.expected("a nonlinearity with a valid parameter", excerpt(g.str()), v.column,
                   std::string(" ") + e.what_without_backtrace());
  }
}

// The binder's parameter for a schema argument.
detail::SpecParam param_of(const ArgSchema& a) {
  detail::SpecParam p;
  p.name = a.name;
  if (a.default_value) {
    p.default_value = parse_default(*a.default_value);
    p.default_text = *a.default_value;
  }
  switch (a.type) {
    case ArgType::Number:
      p.expects = "a number";
      p.check = [](const SpecValue& v, const detail::ArgCheck& check) {
        if (v.kind != SpecValue::Kind::Number) check.expected("a number", detail::got(v), v.column);
        if (std::isnan(v.number)) check.expected("a number, not nan", "nan", v.column);
      };
      break;
    case ArgType::Gain:
      p.expects = "a finite number > 0 or a nonlinearity";
      p.check = check_gain;
      break;
    case ArgType::Choice:
      p.expects = "one of " + c10::Join(", ", a.choices);
      p.check = [choices = a.choices](const SpecValue& v, const detail::ArgCheck& check) {
        detail::check_choice(v, choices, check);
      };
      break;
  }
  return p;
}

std::vector<detail::SpecParam> params_of(const RegistryEntry& e) {
  std::vector<detail::SpecParam> params;
  for (const ArgSchema& a : e.args) params.push_back(param_of(a));
  return params;
}

}  // namespace

double Args::number(const std::string& name) const { return value(name).number; }

double Args::gain(const std::string& name) const {
  const SpecValue& v = value(name);
  if (v.kind == SpecValue::Kind::Number) return v.number;
  const Spec g = v.as_spec();
  std::optional<double> param;
  if (!g.args().empty()) param = g.args()[0].value.number;
  return calculate_gain(g.name(), param);
}

const std::string& Args::choice(const std::string& name) const { return value(name).text; }

bool Args::given(const std::string& name) const {
  return std::find(given_.begin(), given_.end(), name) != given_.end();
}

void Args::fail(const std::string& name, const std::string& message) const {
  const auto it = values_.find(name);
  const bool from_text = given(name) && it != values_.end() && it->second.column > 0;
  const int column = from_text ? it->second.column : spec_.column();
  // The binder's form (spec_args.h), the factory's sentence after a colon, and the caret under
  // the value (under the spec's name when `name` took its default).
  TORCH_CHECK(false, kMakeWho, ": ", initializer_.empty() ? spec_.name() : initializer_,
              " argument '", name, "'", given(name) ? "" : " (default)", ": ", message,
              detail::where(spec_.source(), column));
}

void Args::set_origin(std::string initializer, Spec spec, std::vector<std::string> given) {
  initializer_ = std::move(initializer);
  spec_ = std::move(spec);
  given_ = std::move(given);
}

const SpecValue& Args::value(const std::string& name) const {
  auto it = values_.find(name);
  TORCH_CHECK(it != values_.end(), "torchinit::Args: no argument '", name, "' (internal error)");
  return it->second;
}

Registry& Registry::global() {
  static Registry* registry = [] {
    auto* r = new Registry();  // never destroyed: safe to use from other statics' destructors
    detail::register_builtins(*r);
    return r;
  }();
  return *registry;
}

void Registry::add(RegistryEntry entry) {
  constexpr const char* who = "torchinit::Registry::add";
  TORCH_CHECK(!entry.name.empty() && entry.factory, who, ": an entry needs a name and a factory");
  // What no spec could name would be registered for nothing.
  const auto nameable = [&](const std::string& n, const std::string& what) {
    TORCH_CHECK(is_identifier(n), who, ": the ", what, " '", excerpt(n),
                "' is not a spec identifier; use letters, digits, '_' and '.', starting with a "
                "letter or '_' (and not inf or nan)");
  };
  nameable(entry.name, "name");
  for (const auto& alias : entry.aliases) nameable(alias, "alias of " + entry.name);
  for (size_t i = 0; i < entry.args.size(); ++i) {
    const ArgSchema& a = entry.args[i];
    nameable(a.name, "argument of " + entry.name);
    for (size_t j = 0; j < i; ++j)
      TORCH_CHECK(entry.args[j].name != a.name, who, ": ", entry.name, " declares the argument '",
                  a.name, "' twice; give each argument one name");
    TORCH_CHECK(a.type != ArgType::Choice || !a.choices.empty(), who, ": the argument '", a.name,
                "' of ", entry.name, " is a Choice without choices; list them in ArgSchema");
    if (!a.default_value) continue;
    // Fail now, not at the first spec that leaves the argument out.
    try {
      detail::check_default(kMakeWho, entry.name, param_of(a));
    } catch (const c10::Error& e) {
      TORCH_CHECK(false, who, ": the default '", excerpt(*a.default_value), "' of argument '",
                  a.name, "' of ", entry.name, " is invalid (", e.what_without_backtrace(),
                  "); give a default of the argument's type");
    }
  }
  std::unique_lock lock(mutex_);
  const auto taken = [&](const std::string& n) {
    return entries_.count(n) > 0 || aliases_.count(n) > 0;
  };
  TORCH_CHECK(!taken(entry.name), who, ": the name '", entry.name,
              "' is already registered; pick another name");
  for (size_t i = 0; i < entry.aliases.size(); ++i) {
    const std::string& alias = entry.aliases[i];
    const bool repeated = std::find(entry.aliases.begin(), entry.aliases.begin() + i, alias) !=
                          entry.aliases.begin() + i;
    TORCH_CHECK(!taken(alias) && alias != entry.name && !repeated, who, ": the alias '", alias,
                "' of ", entry.name, " is already registered");
  }
  for (const auto& alias : entry.aliases) aliases_[alias] = entry.name;
  const std::string name = entry.name;
  entries_.emplace(name, std::move(entry));
}

std::optional<RegistryEntry> Registry::find(std::string_view name) const {
  std::shared_lock lock(mutex_);
  auto alias = aliases_.find(name);
  auto it = entries_.find(alias != aliases_.end() ? std::string_view(alias->second) : name);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Registry::names() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, entry] : entries_) out.push_back(name);
  return out;
}

std::vector<std::string> Registry::all_names() const {
  std::shared_lock lock(mutex_);  // one lock: names and aliases from the same moment
  std::vector<std::string> out;
  for (const auto& [name, entry] : entries_) out.push_back(name);
  for (const auto& [alias, target] : aliases_) out.push_back(alias);
  return out;
}

std::shared_ptr<const Initializer> Registry::make(std::string_view spec_text) const {
  return make(Spec::parse(spec_text));
}

std::shared_ptr<const Initializer> Registry::make(const Spec& spec) const {
  const auto found = find(spec.name());
  TORCH_CHECK(found, kMakeWho, ": unknown initializer '", excerpt(spec.name()), "';",
              did_you_mean(spec.name(), all_names()), detail::where(spec, spec.column()),
              "\n(`torchinit list` shows every initializer)");
  const RegistryEntry& e = *found;
  const detail::BoundArgs bound = detail::bind(spec, kMakeWho, e.name, params_of(e));

  Args args;
  std::vector<std::string> given_names;
  std::vector<SpecArg> resolved;
  for (size_t i = 0; i < e.args.size(); ++i) {
    const std::string& name = e.args[i].name;
    if (bound.given[i]) given_names.push_back(name);
    args.set(name, bound.values[i]);
    resolved.push_back(SpecArg{name, bound.values[i], 0});
  }
  std::sort(given_names.begin(), given_names.end());
  args.set_origin(e.name, spec, std::move(given_names));
  std::shared_ptr<Initializer> init = e.factory(args);
  init->set_spec(Spec(e.name, std::move(resolved)));
  return init;
}

}  // namespace torchinit
