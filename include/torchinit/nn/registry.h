// Registry of named models for one-line specs such as `resnet(depth=18, classes=10, stem=cifar)`:
// names, summaries, examples and argument schemas with defaults. Built-ins (mlp, convnet, rnn,
// lstm, gru, resnet) are registered inside ModelRegistry::global(), a function-local static, so
// static linking keeps them.
//
//   torch::nn::AnyModule net = torchinit::nn::ModelRegistry::global().make("lstm(out=5)");
#pragma once

#include <torch/nn/modules/container/any.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "torchinit/spec.h"

namespace torchinit::nn {

enum class ModelArgType {
  Int,         // an integer in [min, max], or one of `choices` when given
  Number,      // a finite real number in [min, max]
  Bool,        // true or false
  Choice,      // one identifier of `choices`
  IntList,     // a list of at least min_size integers, each in [min, max]
  Activation,  // an activation spec: relu, leaky_relu(0.2), ... (nn/activation_module.h)
};

// The name of a type for docs and errors: "int", "number", "bool", "choice", "int list",
// "activation".
const char* model_arg_type_name(ModelArgType type);

// One argument of a model: the builders below fill in the constraints of each type.
struct ModelArg {
  // The default upper bound of sizes: widths, channels, classes (int32 range).
  static constexpr double kMaxSize = 2147483647;

  std::string name;
  ModelArgType type = ModelArgType::Int;
  std::optional<std::string> default_value;  // spec text of the default; nullopt = required
  std::string doc;
  std::vector<std::string> choices;  // Choice: identifiers; Int: allowed values (empty = any)
  double min = 1;                    // Int, IntList elements, Number
  double max = kMaxSize;             // Int, IntList elements, Number
  int64_t min_size = 0;              // IntList

  static ModelArg integer(std::string name, std::optional<std::string> default_value,
                          std::string doc, double min = 1, double max = kMaxSize);
  static ModelArg integer_of(std::string name, std::optional<std::string> default_value,
                             std::string doc, std::vector<std::string> allowed);
  static ModelArg number(std::string name, std::optional<std::string> default_value,
                         std::string doc, double min, double max);
  static ModelArg boolean(std::string name, std::optional<std::string> default_value,
                          std::string doc);
  static ModelArg choice(std::string name, std::optional<std::string> default_value,
                         std::string doc, std::vector<std::string> choices);
  static ModelArg int_list(std::string name, std::optional<std::string> default_value,
                           std::string doc, int64_t min_size, double min = 1,
                           double max = kMaxSize);
  static ModelArg activation(std::string name, std::optional<std::string> default_value,
                             std::string doc);

  // "int >= 1", "one of 18, 34, 50", "number in [0, 1]", "list of >= 1 ints >= 1", ...
  std::string describe() const;
};

// The arguments of one make() call, bound to the model's schema and validated: every schema
// argument is present (given or default). Factories read them by name and may reject
// combinations with fail(), which points at the argument in the spec text.
class ModelArgs {
 public:
  int64_t integer(const std::string& name) const;
  double number(const std::string& name) const;
  bool boolean(const std::string& name) const;
  const std::string& choice(const std::string& name) const;
  std::vector<int64_t> int_list(const std::string& name) const;
  std::string activation(const std::string& name) const;  // spec text, e.g. "leaky_relu(0.2)"
  const SpecValue& value(const std::string& name) const;

  // Throws c10::Error "torchinit::nn::make: <model> argument '<name>' <message>" with the column
  // of that argument (of the model name when it was defaulted) and a caret under it.
  [[noreturn]] void fail(const std::string& name, const std::string& message) const;

 private:
  friend class ModelRegistry;

  struct Bound {
    SpecValue value;
    int column = 0;  // of the value in source_; 0 for a default
  };
  std::string model_;
  std::string source_;
  int model_column_ = 0;
  std::map<std::string, Bound> values_;
};

using ModelFactory = std::function<torch::nn::AnyModule(const ModelArgs&)>;

struct ModelEntry {
  std::string name;
  std::string summary;  // one line
  std::string example;  // a spec that make() accepts
  std::vector<ModelArg> args;
  ModelFactory factory;
};

// `name(arg=default, ...)`, required arguments without `=`.
std::string signature(const ModelEntry& entry);

class ModelRegistry {
 public:
  // The process-wide registry with every built-in model.
  static ModelRegistry& global();

  // Adds a model; c10::Error if the name is taken or a default does not parse. Thread-safe.
  void add(ModelEntry entry);
  // Binds and validates the spec, then builds the model. c10::Error with column, caret and a
  // did-you-mean for unknown models or arguments, wrong types and out-of-range values.
  torch::nn::AnyModule make(const Spec& spec) const;
  torch::nn::AnyModule make(std::string_view spec_text) const;
  // The canonical spec make() builds: every argument by keyword, in schema order, defaults
  // filled in. Validates like make() without building; resolve(resolve(s)) == resolve(s).
  Spec resolve(const Spec& spec) const;
  Spec resolve(std::string_view spec_text) const;
  // The entry of a name; nullopt when unknown.
  std::optional<ModelEntry> find(std::string_view name) const;
  // Model names, sorted.
  std::vector<std::string> names() const;
  // Every entry, sorted by name (for `torchinit list --models`).
  std::vector<ModelEntry> entries() const;

 private:
  // The entry and bound arguments of a spec; throws like make().
  std::pair<ModelEntry, ModelArgs> bind(const Spec& spec) const;

  mutable std::shared_mutex mutex_;
  std::map<std::string, ModelEntry, std::less<>> entries_;
};

// Text listing of every model: signature, summary, example and one line per argument with its
// type and doc. What `torchinit list --models` prints.
std::string describe_models();

}  // namespace torchinit::nn
