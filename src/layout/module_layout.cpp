#include "torchinit/module_layout.h"

#include <torch/nn/functional/instancenorm.h>  // instancenorm.h uses it without including it
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/parameterdict.h>
#include <torch/nn/modules/container/parameterlist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/instancenorm.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/modules/transformer.h>

#include "torchinit/layout_registry.h"

namespace torchinit {
namespace {

namespace tnn = torch::nn;

// Fills `d` when `m` is a T (or derives from one); `fill` reads T's options.
template <typename T, typename Fill>
bool as(const tnn::Module& m, ModuleDesc& d, const char* type, Fill fill) {
  const auto* t = dynamic_cast<const T*>(&m);
  if (t == nullptr) return false;
  d.type = type;
  fill(*t);
  return true;
}

template <typename Conv>
bool as_conv(const tnn::Module& m, ModuleDesc& d, const char* type) {
  return as<Conv>(m, d, type, [&](const Conv& c) {
    d.in_features = c.options.in_channels();
    d.out_features = c.options.out_channels();
    const auto k = c.options.kernel_size();
    d.kernel_size.assign(k->begin(), k->end());
    d.groups = c.options.groups();
    d.transposed = c.options.transposed();
  });
}

template <typename Rnn>
bool as_rnn(const tnn::Module& m, ModuleDesc& d, const char* type) {
  return as<Rnn>(m, d, type, [&](const Rnn& r) {
    d.in_features = r.options_base.input_size();
    d.hidden_size = r.options_base.hidden_size();
    d.num_layers = r.options_base.num_layers();
    d.bidirectional = r.options_base.bidirectional();
    d.proj_size = r.options_base.proj_size();
  });
}

template <typename Cell>
bool as_cell(const tnn::Module& m, ModuleDesc& d, const char* type) {
  return as<Cell>(m, d, type, [&](const Cell& c) {
    d.in_features = c.options_base.input_size();
    d.hidden_size = c.options_base.hidden_size();
  });
}

template <typename Embedding>
bool as_embedding(const tnn::Module& m, ModuleDesc& d, const char* type) {
  return as<Embedding>(m, d, type, [&](const Embedding& e) {
    d.num_embeddings = e.options.num_embeddings();
    d.embedding_dim = e.options.embedding_dim();
    if (e.options.padding_idx().has_value()) d.padding_idx = *e.options.padding_idx();
  });
}

template <typename Norm>
bool as_norm(const tnn::Module& m, ModuleDesc& d, const char* type) {
  return as<Norm>(m, d, type, [](const Norm&) {});
}

bool describe_libtorch(const tnn::Module& m, ModuleDesc& d) {
  return as<tnn::LinearImpl>(m, d, "Linear",
                             [&](const tnn::LinearImpl& l) {
                               d.in_features = l.options.in_features();
                               d.out_features = l.options.out_features();
                             }) ||
         as<tnn::BilinearImpl>(m, d, "Bilinear",
                               [&](const tnn::BilinearImpl& b) {
                                 d.in_features = b.options.in1_features();
                                 d.in2_features = b.options.in2_features();
                                 d.out_features = b.options.out_features();
                               }) ||
         as_conv<tnn::Conv1dImpl>(m, d, "Conv1d") || as_conv<tnn::Conv2dImpl>(m, d, "Conv2d") ||
         as_conv<tnn::Conv3dImpl>(m, d, "Conv3d") ||
         as_conv<tnn::ConvTranspose1dImpl>(m, d, "ConvTranspose1d") ||
         as_conv<tnn::ConvTranspose2dImpl>(m, d, "ConvTranspose2d") ||
         as_conv<tnn::ConvTranspose3dImpl>(m, d, "ConvTranspose3d") ||
         as_embedding<tnn::EmbeddingImpl>(m, d, "Embedding") ||
         as_embedding<tnn::EmbeddingBagImpl>(m, d, "EmbeddingBag") ||
         as_norm<tnn::BatchNorm1dImpl>(m, d, "BatchNorm1d") ||
         as_norm<tnn::BatchNorm2dImpl>(m, d, "BatchNorm2d") ||
         as_norm<tnn::BatchNorm3dImpl>(m, d, "BatchNorm3d") ||
         as_norm<tnn::InstanceNorm1dImpl>(m, d, "InstanceNorm1d") ||
         as_norm<tnn::InstanceNorm2dImpl>(m, d, "InstanceNorm2d") ||
         as_norm<tnn::InstanceNorm3dImpl>(m, d, "InstanceNorm3d") ||
         as_norm<tnn::LayerNormImpl>(m, d, "LayerNorm") ||
         as_norm<tnn::GroupNormImpl>(m, d, "GroupNorm") ||
         as<tnn::PReLUImpl>(m, d, "PReLU",
                            [&](const tnn::PReLUImpl& p) {
                              d.num_parameters = p.options.num_parameters();
                              d.init = p.options.init();
                            }) ||
         as_rnn<tnn::RNNImpl>(m, d, "RNN") || as_rnn<tnn::LSTMImpl>(m, d, "LSTM") ||
         as_rnn<tnn::GRUImpl>(m, d, "GRU") || as_cell<tnn::RNNCellImpl>(m, d, "RNNCell") ||
         as_cell<tnn::LSTMCellImpl>(m, d, "LSTMCell") ||
         as_cell<tnn::GRUCellImpl>(m, d, "GRUCell") ||
         as<tnn::MultiheadAttentionImpl>(m, d, "MultiheadAttention",
                                         [&](const tnn::MultiheadAttentionImpl& a) {
                                           d.embed_dim = a.options.embed_dim();
                                           d.num_heads = a.options.num_heads();
                                           d.kdim = a.options.kdim();
                                           d.vdim = a.options.vdim();
                                           d.bias = a.options.bias();
                                           d.add_bias_kv = a.options.add_bias_kv();
                                         }) ||
         // No parameters of its own, but it re-initializes its descendants (module_desc.cpp).
         as<tnn::TransformerImpl>(m, d, "Transformer", [](const tnn::TransformerImpl&) {}) ||
         // Containers of the user's own tensors: no layout (module_desc.cpp says so).
         as<tnn::ParameterListImpl>(m, d, "ParameterList", [](const tnn::ParameterListImpl&) {}) ||
         as<tnn::ParameterDictImpl>(m, d, "ParameterDict", [](const tnn::ParameterDictImpl&) {});
}

// Appends the parameters of `m` and its descendants, in named_parameters order.
void walk(const tnn::Module& m, const std::string& prefix, const std::string& attribute,
          std::vector<std::string> ancestors, std::vector<ModuleParam>& out) {
  ModuleDesc desc = describe_module(m);
  desc.ancestor_types = ancestors;
  desc.attribute = attribute;
  for (const auto& item : m.named_parameters(/*recurse=*/false)) {
    ModuleParam p;
    p.tensor = item.value();
    p.info = describe_parameter(desc, item.key(), item.value().sizes().vec());
    p.info.path = prefix.empty() ? item.key() : prefix + "." + item.key();
    out.push_back(std::move(p));
  }
  ancestors.push_back(desc.type);
  for (const auto& child : m.named_children())
    walk(*child.value(), prefix.empty() ? child.key() : prefix + "." + child.key(), child.key(),
         ancestors, out);
}

}  // namespace

std::string short_type_name(const std::string& module_name) {
  std::string s = module_name;
  const auto colon = s.rfind("::");
  if (colon != std::string::npos) s = s.substr(colon + 2);
  if (s.size() > 4 && s.compare(s.size() - 4, 4, "Impl") == 0) s.resize(s.size() - 4);
  return s;
}

ModuleDesc describe_module(const tnn::Module& module) {
  const std::string class_name = short_type_name(module.name());
  ModuleDesc d;
  if (auto declared = LayoutRegistry::global().describe(module)) {
    d = std::move(*declared);
  } else if (!describe_libtorch(module, d)) {
    d.type = class_name;
  }
  if (d.type.empty()) d.type = class_name;
  if (d.class_name.empty()) d.class_name = class_name;
  return d;
}

std::vector<ModuleParam> module_params(const tnn::Module& module) {
  std::vector<ModuleParam> out;
  walk(module, "", "", {}, out);
  return out;
}

}  // namespace torchinit
