#include "torchinit/nn/probe.h"

#include <c10/util/Exception.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>

#include "torchinit/nn/conv_net.h"
#include "torchinit/nn/mlp.h"
#include "torchinit/nn/resnet.h"

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

at::Tensor forward_probed(torch::nn::Module& module, const at::Tensor& input, Probe& probe,
                          const std::string& prefix) {
  if (auto* mlp = dynamic_cast<MLPImpl*>(&module)) return mlp->forward_probed(input, probe);
  if (auto* conv = dynamic_cast<ConvNetImpl*>(&module)) return conv->forward_probed(input, probe);
  if (auto* resnet = dynamic_cast<ResNetImpl*>(&module)) {
    return resnet->forward_probed(input, probe);
  }
  auto* sequential = dynamic_cast<torch::nn::SequentialImpl*>(&module);
  TORCH_CHECK(sequential != nullptr, "torchinit::nn::forward_probed: cannot walk a ", module.name(),
              (prefix.empty() ? std::string() : " at '" + prefix + "'"),
              "; expected torch::nn::Sequential or torchinit's MLP, ConvNet or ResNet. Wrap the ",
              "layers in a Sequential to probe them");
  const auto names = sequential->named_children();
  at::Tensor x = input;
  size_t i = 0;
  for (auto& child : *sequential) {
    const std::string path = (prefix.empty() ? "" : prefix + ".") + names[i++].key();
    torch::nn::Module& m = *child.ptr();
    if (dynamic_cast<torch::nn::SequentialImpl*>(&m) || dynamic_cast<MLPImpl*>(&m) ||
        dynamic_cast<ConvNetImpl*>(&m) || dynamic_cast<ResNetImpl*>(&m)) {
      // Nested containers report their own steps; torchinit's models name them from the root
      // of the model, so re-prefix through a forwarding probe.
      struct Prefixed : Probe {
        Probe& inner;
        std::string prefix;
        Prefixed(Probe& p, std::string s) : inner(p), prefix(std::move(s)) {}
        void record(const std::string& p, const std::string& type, const at::Tensor& out,
                    const torch::nn::Module* mod) override {
          inner.record(prefix + "." + p, type, out, mod);
        }
      } prefixed(probe, path);
      const bool is_sequential = dynamic_cast<torch::nn::SequentialImpl*>(&m) != nullptr;
      x = is_sequential ? forward_probed(m, x, probe, path) : forward_probed(m, x, prefixed);
      continue;
    }
    x = child.forward(x);
    probe.record(path, short_type_name(m), x, &m);
  }
  return x;
}

}  // namespace torchinit::nn
