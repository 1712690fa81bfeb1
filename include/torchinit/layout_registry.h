// Layouts of your own module types: how torchinit reads the parameters of a module class it
// does not know (roles, fans, what its constructor draws), declared once per C++ type.
//
//   // weight_v [out, in], weight_g [out, 1], bias [out]
//   struct WeightNormLinearImpl : torch::nn::Module {
//     int64_t in, out; …
//   };
//   torchinit::LayoutRegistry::global().add<WeightNormLinearImpl>(
//       [](const WeightNormLinearImpl& m) {
//         torchinit::ModuleDesc d;
//         d.type = "WeightNormLinear";
//         // role, what the constructor draws (for torch_default), fans lent to a 1-D tensor
//         d.params["weight_v"] = torchinit::ParamDesc("weight", "normal(std=0.05)");
//         d.params["weight_g"] = torchinit::ParamDesc("norm_scale", "ones");
//         d.params["bias"] = torchinit::ParamDesc("bias", "zeros", torchinit::Fans{m.in, m.out});
//         return d;
//       });
//
// Or describe your class as a LibTorch type it behaves like (d.type = "Linear", d.in_features
// = …): its parameters then follow that type's rules (module_desc.h). A module whose class (or
// a base class) has a declared layout uses it before LibTorch's types are tried; among several
// matching declarations the module's exact class wins, then the latest added. Thread-safe: the
// registry may be read while another thread adds to it.
#pragma once

#include <c10/util/Type.h>

#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <typeindex>
#include <vector>

#include "torchinit/module_desc.h"

namespace torch::nn {
class Module;
}

namespace torchinit {

class LayoutRegistry {
 public:
  // nullopt when the module is not of the declared type.
  using Describe = std::function<std::optional<ModuleDesc>(const torch::nn::Module&)>;

  // The process-wide registry (empty until you add to it).
  static LayoutRegistry& global();

  // Declares the layout of modules of class T (and classes derived from T). c10::Error if T
  // already has one (remove<T>() first).
  template <typename T>
  void add(std::function<ModuleDesc(const T&)> describe) {
    add(std::type_index(typeid(T)), c10::demangle(typeid(T).name()),
        [describe = std::move(describe)](const torch::nn::Module& m) -> std::optional<ModuleDesc> {
          const auto* t = dynamic_cast<const T*>(&m);
          if (t == nullptr) return std::nullopt;
          return describe(*t);
        });
  }
  // The same description for every module of class T.
  template <typename T>
  void add(ModuleDesc desc) {
    add<T>(std::function<ModuleDesc(const T&)>([desc](const T&) { return desc; }));
  }
  // Drops T's declaration; false when it had none.
  template <typename T>
  bool remove() {
    return remove(std::type_index(typeid(T)));
  }

  // The declared description of `module`, or nullopt when no declaration matches.
  std::optional<ModuleDesc> describe(const torch::nn::Module& module) const;

  void add(std::type_index type, std::string type_name, Describe describe);
  bool remove(std::type_index type);

 private:
  struct Entry {
    std::type_index type;
    std::string type_name;
    std::shared_ptr<const Describe> describe;
  };
  mutable std::shared_mutex mutex_;
  std::vector<Entry> entries_;  // in the order added
};

}  // namespace torchinit
