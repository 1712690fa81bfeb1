// Registry of named initializers: canonical names (torch.nn.init's), aliases (Keras/JAX names),
// argument schemas with defaults, and docs (formula and paper). Built-ins are registered inside
// Registry::global() (a function-local static) so static linking keeps them.
#pragma once

#include <c10/util/StringUtil.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "torchinit/initializer.h"
#include "torchinit/spec.h"

namespace torchinit {

enum class ArgType {
  Number,  // a real number (inf allowed where the initializer says so)
  Gain,    // a number, a nonlinearity name (relu) or a nonlinearity with its parameter
           // (leaky_relu(0.2))
  Choice,  // one identifier of ArgSchema::choices
};

struct ArgSchema {
  ArgSchema(std::string name, ArgType type, std::optional<std::string> default_value,
            std::string doc, std::vector<std::string> choices = {})
      : name(std::move(name)),
        type(type),
        default_value(std::move(default_value)),
        doc(std::move(doc)),
        choices(std::move(choices)) {}

  std::string name;
  ArgType type = ArgType::Number;
  std::optional<std::string> default_value;  // spec text of the default; nullopt = required
  std::string doc;
  std::vector<std::string> choices;  // for Choice
};

struct InitializerDoc {
  std::string summary;  // one line
  std::string formula;  // e.g. "U(-b, b), b = gain·sqrt(6/(fan_in+fan_out))"
  std::string paper;    // e.g. "Glorot & Bengio 2010, Understanding the difficulty…"
};

// Arguments bound to a schema: every schema argument present (given or default).
class Args {
 public:
  double number(const std::string& name) const;
  double gain(const std::string& name) const;  // resolves nonlinearity names via calculate_gain
  const std::string& choice(const std::string& name) const;
  const SpecValue& value(const std::string& name) const;
  // Whether the spec gave `name` (false when it took its default).
  bool given(const std::string& name) const;
  void set(const std::string& name, SpecValue v) { values_[name] = std::move(v); }

  // Range checks of factories: unless `ok`, a c10::Error "torchinit::Registry::make:
  // <initializer> argument '<name>': <message> at column N" with a caret under the value of
  // `name` in the spec text (under the spec's name, and "(default)" after the argument, when
  // `name` took its default; no column for a spec built in code): the form of the binder's own
  // errors.
  template <typename... Message>
  void check(bool ok, const std::string& name, const Message&... message) const {
    if (!ok) fail(name, c10::str(message...));
  }
  [[noreturn]] void fail(const std::string& name, const std::string& message) const;
  // Set by Registry::make: the initializer's canonical name, the spec being bound (its source
  // and columns) and the arguments it gave, for given(), check() and fail().
  void set_origin(std::string initializer, Spec spec, std::vector<std::string> given);

 private:
  std::map<std::string, SpecValue> values_;
  std::string initializer_;
  Spec spec_;
  std::vector<std::string> given_;
};

using Factory = std::function<std::shared_ptr<Initializer>(const Args&)>;

struct RegistryEntry {
  std::string name;
  std::vector<std::string> aliases;
  std::vector<ArgSchema> args;
  InitializerDoc doc;
  Factory factory;
};

class Registry {
 public:
  // The process-wide registry with every built-in initializer.
  static Registry& global();

  // Adds a user initializer; c10::Error if the name or an alias is taken, or if the name, an
  // alias or an argument name is not a spec identifier ([A-Za-z_][A-Za-z0-9_.]*, not inf or
  // nan: no spec could name it), an argument name repeats, or a default does not parse or does
  // not have its argument's type. Thread-safe.
  void add(RegistryEntry entry);
  // Binds a spec to its schema and builds the initializer. c10::Error with column, caret and a
  // did-you-mean for unknown names or arguments, wrong types and out-of-range values.
  std::shared_ptr<const Initializer> make(const Spec& spec) const;
  std::shared_ptr<const Initializer> make(std::string_view spec_text) const;
  // The entry for a name or alias; nullptr when unknown.
  std::optional<RegistryEntry> find(std::string_view name) const;
  // Canonical names, sorted.
  std::vector<std::string> names() const;
  // Canonical names and aliases.
  std::vector<std::string> all_names() const;

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, RegistryEntry, std::less<>> entries_;
  std::map<std::string, std::string, std::less<>> aliases_;  // alias -> canonical
};

}  // namespace torchinit
