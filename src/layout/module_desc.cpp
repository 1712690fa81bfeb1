// The layout rules of every LibTorch 1.13 module type with parameters, and LibTorch's
// reset_parameters for each of their parameters (torch/csrc/api/src/nn/modules/*.cpp):
//   Linear, Conv*      weight kaiming_uniform_(a=sqrt 5); bias U(±1/sqrt(fan_in)), fan_in of the
//                      weight by torch.nn.init's convention (ConvTranspose: size(1)·k)
//   Bilinear           weight and bias U(±1/sqrt(in1_features)) (bound from weight.size(1))
//   Embedding(Bag)     N(0, 1); Embedding zeroes its padding row
//   norms              weight 1, bias 0
//   PReLU              weight = init (0.25)
//   RNN/LSTM/GRU,      every parameter U(±1/sqrt(hidden_size))
//   and their cells
//   MultiheadAttention xavier_uniform_ over the fused [3E, E] in_proj_weight or over each of
//                      q/k/v_proj_weight; in_proj_bias and out_proj.bias 0; bias_k, bias_v
//                      xavier_normal_
//   Transformer        xavier_uniform_ over every parameter with 2+ dims below it
// Bounds are computed with LibTorch's own arithmetic (1 / std::sqrt(n), sqrt(3)·gain·
// sqrt(2/(in+out))) and written as exact numbers, so Backend::Torch gives LibTorch's bytes.
#include "torchinit/module_desc.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

namespace torchinit {
namespace {

// sqrt(5) as Python prints math.sqrt(5): LibTorch's kaiming_uniform_(a=sqrt(5)).
constexpr const char* kKaimingSqrt5 = "kaiming_uniform(a=2.23606797749979)";
constexpr const char* kKaimingSqrt5FanOut = "kaiming_uniform(a=2.23606797749979, mode=fan_out)";

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }
bool one_of(const std::string& s, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return s == n; });
}

bool is_conv(const std::string& t) {
  return one_of(
      t, {"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"});
}
bool is_norm(const std::string& t) {
  return one_of(t, {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d",
                    "InstanceNorm3d", "LayerNorm", "GroupNorm"});
}
bool is_rnn(const std::string& t) { return one_of(t, {"RNN", "LSTM", "GRU"}); }
bool is_cell(const std::string& t) { return one_of(t, {"RNNCell", "LSTMCell", "GRUCell"}); }
int64_t gates_of(const std::string& t) {
  if (t == "LSTM" || t == "LSTMCell") return 4;
  if (t == "GRU" || t == "GRUCell") return 3;
  return 1;
}

// U(-bound, bound) with the bound printed exactly (shortest round-trip text).
std::string uniform_spec(double bound) { return fmt::format("uniform(a={}, b={})", -bound, bound); }
// LibTorch's 1 / std::sqrt(n) bound (Linear/Conv biases, Bilinear, RNNs).
std::string inverse_sqrt_uniform(int64_t n) { return uniform_spec(1 / std::sqrt(double(n))); }
// torch::nn::init::xavier_uniform_ over a whole tensor with torch.nn.init's fans.
std::string whole_xavier_uniform(const std::vector<int64_t>& shape) {
  const Fans f = ParamInfo::from_shape(shape).fans();
  const double std = 1.0 * std::sqrt(2.0 / double(f.fan_in + f.fan_out));
  return uniform_spec(std::sqrt(3.0) * std);
}

std::string shape_str(const std::vector<int64_t>& shape) {
  return ParamInfo::from_shape(shape).shape_str();
}

// c10::Error when the description contradicts a parameter's shape.
void require(bool ok, const ModuleDesc& desc, const std::string& name,
             const std::vector<int64_t>& shape, const std::string& expected) {
  TORCH_CHECK(ok, "torchinit::describe_parameter: ", desc.type, " parameter '", name,
              "' has shape ", shape_str(shape), ", expected ", expected,
              " from its ModuleDesc; fix the description (or the module)");
}

ParamInfo base(const ModuleDesc& desc, const std::string& name, std::vector<int64_t> shape) {
  ParamInfo p;
  p.path = name;
  p.module_type = desc.type;
  p.module_class = desc.display_class();
  p.shape = std::move(shape);
  return p;
}

// Roles from the parameter name only, the tensor convention, no LibTorch default.
ParamInfo by_name_only(const ModuleDesc& desc, const std::string& name, std::vector<int64_t> shape,
                       const std::string& why) {
  ParamInfo p = base(desc, name, std::move(shape));
  p.role = name == "weight" ? "weight" : name == "bias" ? "bias" : "unknown";
  p.note = fmt::format(
      "{}: role from the parameter name only (weight, bias, else unknown), fans by the tensor "
      "convention, no LibTorch default; declare the layout of {} with "
      "torchinit::LayoutRegistry::global().add<YourImpl>(…) (layout_registry.h)",
      why, desc.display_class());
  return p;
}

ParamInfo unexpected(const ModuleDesc& desc, const std::string& name, std::vector<int64_t> shape) {
  return by_name_only(desc, name, std::move(shape),
                      fmt::format("LibTorch's {} has no parameter '{}'", desc.type, name));
}

// The weight of a convolution described by `desc`: its ParamInfo (for its bias's fans).
ParamInfo conv_weight(const ModuleDesc& desc, const std::string& name, std::vector<int64_t> shape) {
  ParamInfo p = base(desc, name, std::move(shape));
  p.layout.groups = desc.groups;
  p.layout.transposed = desc.transposed;
  if (desc.transposed) {
    p.layout.in_dim = 0;
    p.layout.out_dim = 1;
  }
  p.torch_default = desc.transposed ? kKaimingSqrt5FanOut : kKaimingSqrt5;
  return p;
}

ParamInfo describe_conv(const ModuleDesc& desc, const std::string& name,
                        std::vector<int64_t> shape) {
  if (name == "weight") return conv_weight(desc, name, std::move(shape));
  if (name != "bias") return unexpected(desc, name, std::move(shape));
  require(
      desc.in_features > 0 && desc.out_features > 0 && !desc.kernel_size.empty() && desc.groups > 0,
      desc, name, shape, "in_channels, out_channels, kernel_size and groups in the desc");
  std::vector<int64_t> w = {desc.out_features, desc.in_features / desc.groups};
  if (desc.transposed) w = {desc.in_features, desc.out_features / desc.groups};
  w.insert(w.end(), desc.kernel_size.begin(), desc.kernel_size.end());
  ParamInfo p = base(desc, name, std::move(shape));
  p.role = "bias";
  p.module_fans = conv_weight(desc, "weight", w).fans();
  // torch.nn.init's fan_in of the weight: size(1)·k (for ConvTranspose, out/groups·k).
  p.torch_default = inverse_sqrt_uniform(ParamInfo::from_shape(w).fans().fan_in);
  return p;
}

ParamInfo describe_linear(const ModuleDesc& desc, const std::string& name,
                          std::vector<int64_t> shape) {
  ParamInfo p = base(desc, name, std::move(shape));
  if (name == "weight") {
    require(p.dim() == 2 && (desc.in_features == 0 || p.shape[1] == desc.in_features), desc, name,
            p.shape, fmt::format("[out_features, {}]", desc.in_features));
    p.torch_default = kKaimingSqrt5;
  } else if (name == "bias") {
    require(desc.in_features > 0, desc, name, p.shape, "in_features > 0 in the desc");
    p.role = "bias";
    p.module_fans = Fans{desc.in_features, desc.out_features > 0 ? desc.out_features : p.numel()};
    p.torch_default = inverse_sqrt_uniform(desc.in_features);
  } else {
    return unexpected(desc, name, p.shape);
  }
  return p;
}

ParamInfo describe_bilinear(const ModuleDesc& desc, const std::string& name,
                            std::vector<int64_t> shape) {
  ParamInfo p = base(desc, name, std::move(shape));
  if (name == "weight") {
    require(p.dim() == 3, desc, name, p.shape, "[out, in1, in2]");
    p.torch_default = inverse_sqrt_uniform(p.shape[1]);  // LibTorch: 1/sqrt(weight.size(1))
  } else if (name == "bias") {
    require(desc.in_features > 0 && desc.in2_features > 0, desc, name, p.shape,
            "in1_features and in2_features in the desc");
    p.role = "bias";
    p.module_fans = ParamInfo::from_shape({p.numel(), desc.in_features, desc.in2_features}).fans();
    p.torch_default = inverse_sqrt_uniform(desc.in_features);
  } else {
    return unexpected(desc, name, p.shape);
  }
  return p;
}

ParamInfo describe_embedding(const ModuleDesc& desc, const std::string& name,
                             std::vector<int64_t> shape) {
  if (name != "weight") return unexpected(desc, name, std::move(shape));
  ParamInfo p = base(desc, name, std::move(shape));
  require(p.dim() == 2, desc, name, p.shape, "[num_embeddings, embedding_dim]");
  p.role = "embedding";
  p.torch_default = "normal";
  if (desc.padding_idx) {
    const int64_t rows = p.shape[0];
    const int64_t idx = *desc.padding_idx < 0 ? *desc.padding_idx + rows : *desc.padding_idx;
    require(idx >= 0 && idx < rows, desc, name, p.shape,
            fmt::format("padding_idx {} inside [-{}, {})", *desc.padding_idx, rows, rows));
    p.padding_idx = idx;
  }
  return p;
}

ParamInfo describe_recurrent(const ModuleDesc& desc, const std::string& name,
                             std::vector<int64_t> shape) {
  ParamInfo p = base(desc, name, std::move(shape));
  const int64_t gates = gates_of(desc.type);
  const bool ih = starts_with(name, "weight_ih"), hh = starts_with(name, "weight_hh");
  const bool bias = starts_with(name, "bias_ih") || starts_with(name, "bias_hh");
  const bool proj = desc.type == "LSTM" && starts_with(name, "weight_hr");
  if (!ih && !hh && !bias && !proj) return unexpected(desc, name, p.shape);
  // hidden_size from the desc, or from the rows of a gate stack.
  int64_t hidden = desc.hidden_size;
  if (hidden == 0 && !proj && p.dim() >= 1) hidden = p.shape[0] / gates;
  if (hidden == 0 && proj && p.dim() == 2) hidden = p.shape[1];
  require(hidden > 0, desc, name, p.shape, "hidden_size > 0 in the desc");
  if (proj) {
    require(p.dim() == 2 && p.shape[1] == hidden, desc, name, p.shape,
            fmt::format("[proj_size, {}]", hidden));
    p.role = "recurrent";  // LSTM's projection of h inside the recurrence (proj_size > 0)
  } else {
    require(p.dim() == (bias ? 1 : 2) && p.shape[0] == gates * hidden, desc, name, p.shape,
            fmt::format("{} rows ({} gates of hidden_size {})", gates * hidden, gates, hidden));
    if (bias) {
      p.role = "bias";
      p.module_fans = Fans{hidden, hidden};  // one gate block of weight_hh
    } else {
      p.role = ih ? "input" : "recurrent";
      p.layout.blocks = gates;
    }
  }
  p.torch_default = inverse_sqrt_uniform(hidden);  // every parameter U(±1/sqrt(hidden_size))
  return p;
}

ParamInfo describe_attention(const ModuleDesc& desc, const std::string& name,
                             std::vector<int64_t> shape) {
  ParamInfo p = base(desc, name, std::move(shape));
  const int64_t e = desc.embed_dim > 0 ? desc.embed_dim : (p.dim() >= 1 ? p.shape.back() : 0);
  if (name == "in_proj_weight") {
    require(p.dim() == 2 && p.shape[0] == 3 * e, desc, name, p.shape,
            fmt::format("[{}, {}] (fused Q, K, V)", 3 * e, e));
    p.layout.blocks = 3;
    p.torch_default = whole_xavier_uniform(p.shape);  // xavier_uniform_ over the stack
  } else if (one_of(name, {"q_proj_weight", "k_proj_weight", "v_proj_weight"})) {
    require(p.dim() == 2, desc, name, p.shape, "[embed_dim, kdim or vdim]");
    p.torch_default = "xavier_uniform";
  } else if (name == "in_proj_bias") {
    require(p.dim() == 1 && p.shape[0] % 3 == 0, desc, name, p.shape, "[3·embed_dim]");
    p.role = "bias";
    p.module_fans = Fans{p.shape[0] / 3, p.shape[0] / 3};  // one of the Q/K/V blocks
    p.torch_default = "zeros";
  } else if (name == "bias_k" || name == "bias_v") {
    p.role = "bias_kv";
    p.torch_default = "xavier_normal";  // [1, 1, E]: fan_in = fan_out = E
  } else {
    return unexpected(desc, name, p.shape);
  }
  return p;
}

// LibTorch's defaults that depend on where the module sits.
void apply_enclosing_defaults(const ModuleDesc& desc, ParamInfo& p) {
  const bool in_transformer = std::find(desc.ancestor_types.begin(), desc.ancestor_types.end(),
                                        "Transformer") != desc.ancestor_types.end();
  if (in_transformer && p.dim() > 1 && !p.torch_default.empty()) {
    // TransformerImpl::reset_parameters: xavier_uniform_ on every parameter with 2+ dims.
    const Fans whole = ParamInfo::from_shape(p.shape).fans();
    const bool convention = p.layout.blocks == 1 && p.fans().fan_in == whole.fan_in &&
                            p.fans().fan_out == whole.fan_out;
    p.torch_default = convention ? "xavier_uniform" : whole_xavier_uniform(p.shape);
  }
  const bool out_proj = !desc.ancestor_types.empty() &&
                        desc.ancestor_types.back() == "MultiheadAttention" &&
                        desc.attribute == "out_proj" && desc.type == "Linear";
  // MultiheadAttentionImpl::_reset_parameters: constant_(out_proj->bias, 0).
  if (out_proj && p.path == "bias") p.torch_default = "zeros";
}

ParamInfo describe_own_type(const ModuleDesc& desc, const std::string& name,
                            std::vector<int64_t> shape) {
  const auto it = desc.params.find(name);
  if (it == desc.params.end())
    return by_name_only(desc, name, std::move(shape),
                        fmt::format("the declared layout of {} does not name parameter '{}'",
                                    desc.display_class(), name));
  const ParamDesc& d = it->second;
  const auto& roles = parameter_roles();
  TORCH_CHECK(std::find(roles.begin(), roles.end(), d.role) != roles.end(),
              "torchinit::describe_parameter: the declared layout of ", desc.display_class(),
              " gives parameter '", name, "' the role '", d.role,
              "'; roles: ", fmt::format("{}", fmt::join(roles, ", ")));
  ParamInfo p = base(desc, name, std::move(shape));
  p.role = d.role;
  p.layout = d.layout;
  p.module_fans = d.module_fans;
  p.torch_default = d.torch_default;
  return p;
}

}  // namespace

const std::vector<std::string>& known_module_types() {
  static const std::vector<std::string> types = [] {
    std::vector<std::string> t = {"BatchNorm1d",
                                  "BatchNorm2d",
                                  "BatchNorm3d",
                                  "Bilinear",
                                  "Conv1d",
                                  "Conv2d",
                                  "Conv3d",
                                  "ConvTranspose1d",
                                  "ConvTranspose2d",
                                  "ConvTranspose3d",
                                  "Embedding",
                                  "EmbeddingBag",
                                  "GRU",
                                  "GRUCell",
                                  "GroupNorm",
                                  "InstanceNorm1d",
                                  "InstanceNorm2d",
                                  "InstanceNorm3d",
                                  "LSTM",
                                  "LSTMCell",
                                  "LayerNorm",
                                  "Linear",
                                  "MultiheadAttention",
                                  "PReLU",
                                  "RNN",
                                  "RNNCell"};
    std::sort(t.begin(), t.end());
    return t;
  }();
  return types;
}

const std::vector<std::string>& parameter_roles() {
  static const std::vector<std::string> roles = {
      "weight",     "bias",  "input",   "recurrent",    "embedding", "norm_scale",
      "norm_shift", "slope", "bias_kv", "residual_out", "readout",   "unknown"};
  return roles;
}

ParamInfo describe_parameter(const ModuleDesc& desc, const std::string& name,
                             std::vector<int64_t> shape) {
  const std::string& t = desc.type;
  ParamInfo p;
  if (t == "Linear") {
    p = describe_linear(desc, name, std::move(shape));
  } else if (t == "Bilinear") {
    p = describe_bilinear(desc, name, std::move(shape));
  } else if (is_conv(t)) {
    p = describe_conv(desc, name, std::move(shape));
  } else if (t == "Embedding" || t == "EmbeddingBag") {
    p = describe_embedding(desc, name, std::move(shape));
  } else if (is_norm(t)) {
    if (name != "weight" && name != "bias") return unexpected(desc, name, std::move(shape));
    p = base(desc, name, std::move(shape));
    p.role = name == "weight" ? "norm_scale" : "norm_shift";
    p.torch_default = name == "weight" ? "ones" : "zeros";
  } else if (t == "PReLU") {
    if (name != "weight") return unexpected(desc, name, std::move(shape));
    p = base(desc, name, std::move(shape));
    p.role = "slope";
    p.torch_default = fmt::format("constant(val={})", desc.init);
  } else if (is_rnn(t) || is_cell(t)) {
    p = describe_recurrent(desc, name, std::move(shape));
  } else if (t == "MultiheadAttention") {
    p = describe_attention(desc, name, std::move(shape));
  } else if (!desc.params.empty()) {
    p = describe_own_type(desc, name, std::move(shape));
  } else if (t == "ParameterList" || t == "ParameterDict") {
    return by_name_only(desc, name, std::move(shape),
                        fmt::format("LibTorch's {} holds tensors of your own, with no layout", t));
  } else {
    return by_name_only(
        desc, name, std::move(shape),
        fmt::format("{} is not a module type torchinit knows", desc.display_class()));
  }
  apply_enclosing_defaults(desc, p);
  return p;
}

}  // namespace torchinit
