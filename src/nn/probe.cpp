#include "torchinit/nn/probe.h"

#include <c10/util/Exception.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>

namespace torchinit::nn {

std::string short_type_name(const torch::nn::Module& module) {
  const std::string& name = module.name();
  const auto colon = name.rfind("::");
  std::string type = colon == std::string::npos ? name : name.substr(colon + 2);
  // Modules without a name of their own report their demangled class, e.g. LinearImpl.
  if (type.size() > 4 && type.compare(type.size() - 4, 4, "Impl") == 0)
    type.resize(type.size() - 4);
  return type;
}

namespace {

// Records a Probed child's steps under the child's path.
class Prefixed : public Probe {
 public:
  Prefixed(Probe& inner, std::string prefix) : inner_(inner), prefix_(std::move(prefix)) {}
  void record(const std::string& path, const std::string& type, const at::Tensor& out,
              const torch::nn::Module* module) override {
    inner_.record(prefix_ + "." + path, type, out, module);
  }

 private:
  Probe& inner_;
  std::string prefix_;
};

}  // namespace

at::Tensor forward_probed(torch::nn::Module& module, const at::Tensor& input, Probe& probe,
                          const std::string& prefix) {
  if (auto* probed = dynamic_cast<Probed*>(&module)) {
    if (prefix.empty()) return probed->forward_probed(input, probe);
    Prefixed prefixed(probe, prefix);
    return probed->forward_probed(input, prefixed);
  }
  auto* sequential = dynamic_cast<torch::nn::SequentialImpl*>(&module);
  TORCH_CHECK(sequential != nullptr, "torchinit::nn::forward_probed: cannot walk a ", module.name(),
              (prefix.empty() ? std::string() : " at '" + prefix + "'"),
              "; expected torch::nn::Sequential or a module implementing torchinit::nn::Probed ",
              "(torchinit's MLP, ConvNet and ResNet do). Wrap the layers in a Sequential, or ",
              "implement Probed, to probe them");
  const auto names = sequential->named_children();
  at::Tensor x = input;
  size_t i = 0;
  for (auto& child : *sequential) {
    const std::string path = (prefix.empty() ? "" : prefix + ".") + names[i++].key();
    torch::nn::Module& m = *child.ptr();
    // Containers and Probed modules report their own steps.
    if (dynamic_cast<torch::nn::SequentialImpl*>(&m) || dynamic_cast<Probed*>(&m)) {
      x = forward_probed(m, x, probe, path);
      continue;
    }
    x = child.forward(x);
    probe.record(path, short_type_name(m), x, &m);
  }
  return x;
}

}  // namespace torchinit::nn
