#include "torchinit/module_layout.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/rnn.h>

namespace torchinit {
namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }
bool is_norm(const std::string& type) {
  return type.find("Norm") != std::string::npos;  // BatchNorm*, LayerNorm, GroupNorm, InstanceNorm*
}

// Groups and transposition of a convolution, from its options.
template <typename Conv>
bool read_conv(const torch::nn::Module& m, Layout& layout) {
  const auto* conv = dynamic_cast<const Conv*>(&m);
  if (conv == nullptr) return false;
  layout.groups = conv->options.groups();
  layout.transposed = conv->options.transposed();
  if (layout.transposed) {
    layout.in_dim = 0;
    layout.out_dim = 1;
  }
  return true;
}

void read_conv_layout(const torch::nn::Module& m, Layout& layout) {
  read_conv<torch::nn::Conv1dImpl>(m, layout) || read_conv<torch::nn::Conv2dImpl>(m, layout) ||
      read_conv<torch::nn::Conv3dImpl>(m, layout) ||
      read_conv<torch::nn::ConvTranspose1dImpl>(m, layout) ||
      read_conv<torch::nn::ConvTranspose2dImpl>(m, layout) ||
      read_conv<torch::nn::ConvTranspose3dImpl>(m, layout);
}

int64_t gates_of(const std::string& type) {
  if (type == "LSTM") return 4;
  if (type == "GRU") return 3;
  return 1;  // RNN
}

// Describes the direct parameters of one module.
void describe(const torch::nn::Module& m, const std::string& prefix,
              std::vector<ModuleParam>& out) {
  const std::string type = short_type_name(m.name());
  const auto params = m.named_parameters(/*recurse=*/false);
  // The module's weight fans, lent to its biases (LibTorch's default bias bound uses them).
  std::optional<Fans> weight_fans;
  std::vector<ModuleParam> mine;
  for (const auto& item : params) {
    ModuleParam p;
    p.tensor = item.value();
    p.info.path = prefix.empty() ? item.key() : prefix + "." + item.key();
    p.info.module_type = type;
    p.info.shape = item.value().sizes().vec();
    const std::string& name = item.key();
    const bool recurrent = type == "RNN" || type == "LSTM" || type == "GRU";
    if (is_norm(type)) {
      p.info.role = name == "weight" ? "norm_scale" : "norm_shift";
    } else if (type == "Embedding" || type == "EmbeddingBag") {
      p.info.role = "embedding";
    } else if (recurrent && starts_with(name, "weight_ih")) {
      p.info.role = "input";
      p.info.layout.blocks = gates_of(type);
    } else if (recurrent && starts_with(name, "weight_hh")) {
      p.info.role = "recurrent";
      p.info.layout.blocks = gates_of(type);
    } else if (type == "MultiheadAttention" && name == "in_proj_weight") {
      p.info.role = "weight";
      p.info.layout.blocks = 3;  // fused Q, K, V
    } else if (p.info.dim() >= 2) {
      p.info.role = "weight";
      if (type.find("Conv") != std::string::npos) read_conv_layout(m, p.info.layout);
    } else {
      p.info.role = "bias";
    }
    mine.push_back(std::move(p));
  }
  // Fans lent to 1-D parameters: the module's first weight (per block for stacked layouts).
  for (const auto& p : mine) {
    if (p.info.dim() >= 2 && !weight_fans) {
      // For recurrent modules the biases belong to weight_hh's blocks: fan_in = fan_out = hidden.
      const bool stacked = p.info.layout.blocks > 1;
      weight_fans = stacked ? p.info.block(0).fans() : p.info.fans();
      if (p.info.role == "input") {
        const int64_t hidden = p.info.shape[0] / p.info.layout.blocks;
        weight_fans = Fans{hidden, hidden};
      }
    }
  }
  for (auto& p : mine) {
    if (p.info.dim() < 2) p.info.module_fans = weight_fans;
    out.push_back(std::move(p));
  }
}

}  // namespace

std::string short_type_name(const std::string& module_name) {
  std::string s = module_name;
  const auto colon = s.rfind("::");
  if (colon != std::string::npos) s = s.substr(colon + 2);
  if (s.size() > 4 && s.compare(s.size() - 4, 4, "Impl") == 0) s.resize(s.size() - 4);
  return s;
}

std::vector<ModuleParam> module_params(const torch::nn::Module& module) {
  std::vector<ModuleParam> out;
  describe(module, "", out);
  // include_self=false: the top module need not live in a shared_ptr.
  for (const auto& item : module.named_modules(/*name_prefix=*/"", /*include_self=*/false))
    describe(*item.value(), item.key(), out);
  return out;
}

}  // namespace torchinit
