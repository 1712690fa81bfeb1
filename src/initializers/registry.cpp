#include "torchinit/registry.h"

#include <c10/util/Exception.h>

#include <cmath>
#include <mutex>

#include "initializers/builtins.h"
#include "spec/spec_args.h"
#include "torchinit/gain.h"

namespace torchinit {
namespace {

using detail::where;

std::vector<std::string> arg_names(const RegistryEntry& e) {
  std::vector<std::string> names;
  for (const auto& a : e.args) names.push_back(a.name);
  return names;
}

std::string signature(const RegistryEntry& e) {
  std::string s = e.name + "(";
  for (size_t i = 0; i < e.args.size(); ++i) {
    s += (i ? ", " : "") + e.args[i].name;
    if (e.args[i].default_value) s += "=" + *e.args[i].default_value;
  }
  return s + ")";
}

// A default's value; column 0, as it is not in the user's text.
SpecValue parse_default(const std::string& text) {
  SpecValue v = Spec::parse("default(" + text + ")").args().at(0).value;
  v.column = 0;
  return v;
}

// Checks that `v` has the type the schema asks for; errors name the initializer and argument.
void check_type(const RegistryEntry& e, const ArgSchema& a, const SpecValue& v, const Spec& spec) {
  const std::string who = "torchinit::" + e.name + ": argument '" + a.name + "'";
  switch (a.type) {
    case ArgType::Number:
      TORCH_CHECK(v.kind == SpecValue::Kind::Number, who, " expects a number, got ",
                  SpecValue::kind_name(v.kind), " '", excerpt(v.str()), "'", where(spec, v.column));
      TORCH_CHECK(!std::isnan(v.number), who, " must not be nan", where(spec, v.column));
      return;
    case ArgType::Gain: {
      if (v.kind == SpecValue::Kind::Number) {
        TORCH_CHECK(std::isfinite(v.number) && v.number > 0, who,
                    " (a gain) must be a finite number > 0, got ", excerpt(v.str()),
                    where(spec, v.column));
        return;
      }
      TORCH_CHECK(v.kind == SpecValue::Kind::Identifier || v.kind == SpecValue::Kind::Spec, who,
                  " expects a number or a nonlinearity (relu, leaky_relu(0.2), …), got ",
                  SpecValue::kind_name(v.kind), where(spec, v.column));
      const Spec g = v.as_spec();
      const auto names = gain_names();
      const std::string suggestion = did_you_mean(g.name(), names);
      TORCH_CHECK(std::find(names.begin(), names.end(), g.name()) != names.end(), who,
                  ": unknown nonlinearity '", excerpt(g.name()), "';",
                  suggestion.empty() ? " known: " + c10::Join(", ", names) : suggestion,
                  where(spec, v.column));
      TORCH_CHECK(g.args().size() <= 1 &&
                      (g.args().empty() || g.args()[0].value.kind == SpecValue::Kind::Number),
                  who, ": a nonlinearity takes at most one number, as in leaky_relu(0.2), got ",
                  excerpt(g.str()), where(spec, v.column));
      // Out-of-range nonlinearity parameters (elu(-1), softplus(0)) fail here, with the
      // initializer's name and the column, rather than later inside a factory.
      std::optional<double> param;
      if (!g.args().empty()) param = g.args()[0].value.number;
      try {
        (void)calculate_gain(g.name(), param);
      } catch (const c10::Error& e) {
        TORCH_CHECK(false, who, ": ", e.what_without_backtrace(), where(spec, v.column));
      }
      return;
    }
    case ArgType::Choice: {
      const bool word = v.kind == SpecValue::Kind::Identifier || v.kind == SpecValue::Kind::String;
      const std::string got = word ? v.text : v.str();
      TORCH_CHECK(word && std::find(a.choices.begin(), a.choices.end(), got) != a.choices.end(),
                  who, " must be one of ", c10::Join(", ", a.choices), ", got '", excerpt(got),
                  "';", did_you_mean(got, a.choices), where(spec, v.column));
      return;
    }
  }
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
  const bool shown = !spec_.source().empty() && column > 0;
  // "argument 'b' at column 16: needs a < b, …" and the caret under the value.
  TORCH_CHECK(false, "torchinit::", initializer_.empty() ? spec_.name() : initializer_,
              ": argument '", name, "'", given(name) ? "" : " (default)",
              shown ? " at column " + std::to_string(column) : "", ": ", message,
              shown ? "\n" + caret(spec_.source(), column) : "");
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
    const Spec spec(entry.name);
    try {
      check_type(entry, a, parse_default(*a.default_value), spec);
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
  std::vector<std::string> out = names();
  std::shared_lock lock(mutex_);
  for (const auto& [alias, target] : aliases_) out.push_back(alias);
  return out;
}

std::shared_ptr<const Initializer> Registry::make(std::string_view spec_text) const {
  return make(Spec::parse(spec_text));
}

std::shared_ptr<const Initializer> Registry::make(const Spec& spec) const {
  const auto found = find(spec.name());
  TORCH_CHECK(found, "torchinit::Registry::make: unknown initializer '", excerpt(spec.name()), "';",
              did_you_mean(spec.name(), all_names()), where(spec, spec.column()),
              "\n(`torchinit list` shows every initializer)");
  const RegistryEntry& e = *found;
  const std::string who = "torchinit::" + e.name;

  // Bind positional arguments in declared order, then keywords.
  std::map<std::string, SpecValue> given;
  size_t position = 0;
  for (const SpecArg& arg : spec.args()) {
    std::string key = arg.key;
    if (key.empty()) {
      TORCH_CHECK(position < e.args.size(), who, ": too many positional arguments; it takes ",
                  signature(e), where(spec, arg.column));
      key = e.args[position++].name;
    }
    const auto schema = std::find_if(e.args.begin(), e.args.end(),
                                     [&](const ArgSchema& a) { return a.name == key; });
    TORCH_CHECK(schema != e.args.end(), who, ": unknown argument '", excerpt(key), "';",
                did_you_mean(key, arg_names(e)), " it takes ", signature(e),
                where(spec, arg.column));
    TORCH_CHECK(given.count(key) == 0, who, ": argument '", key, "' given twice",
                where(spec, arg.column));
    check_type(e, *schema, arg.value, spec);
    given[key] = arg.value;
  }

  Args args;
  std::vector<std::string> given_names;
  for (const auto& [name, value] : given) given_names.push_back(name);
  args.set_origin(e.name, spec, std::move(given_names));
  std::vector<SpecArg> resolved;
  for (const ArgSchema& a : e.args) {
    auto it = given.find(a.name);
    TORCH_CHECK(it != given.end() || a.default_value, who, ": missing required argument '", a.name,
                "'; it takes ", signature(e), where(spec, spec.column()));
    const SpecValue v = it != given.end() ? it->second : parse_default(*a.default_value);
    args.set(a.name, v);
    resolved.push_back(SpecArg{a.name, v, 0});
  }
  std::shared_ptr<Initializer> init = e.factory(args);
  init->set_spec(Spec(e.name, std::move(resolved)));
  return init;
}

}  // namespace torchinit
