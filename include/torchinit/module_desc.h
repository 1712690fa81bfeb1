// Module descriptions: what a module is (its LibTorch type and the options its parameter
// layouts depend on), as plain data, and the rules that turn (description, parameter name,
// shape) into a ParamInfo: role, layout (fans), the fans lent to biases, and what LibTorch's
// reset_parameters gives the parameter. The rules exist once, here; describe_module()
// (module_layout.h) fills a ModuleDesc from a torch::nn::Module, and any other front end (a
// Python module's description) can fill one by hand. No torch headers.
//
// Roles (`:role` selectors):
//   weight      a dense weight: Linear, Bilinear, Conv*, MultiheadAttention's Q/K/V projections
//   bias        a bias added to a layer's output (fans: its layer's weight's)
//   input       RNN/LSTM/GRU (and cells) input-hidden weights weight_ih*, one block per gate
//   recurrent   hidden-hidden weights weight_hh*, one block per gate, and LSTM's projection
//               weight_hr* (proj_size > 0)
//   embedding   Embedding/EmbeddingBag tables
//   norm_scale  the weight (gamma) of BatchNorm*, InstanceNorm*, LayerNorm, GroupNorm
//   norm_shift  the bias (beta) of those norms
//   slope       PReLU's learned negative slopes (LibTorch: constant `init`, 0.25)
//   bias_kv     MultiheadAttention's bias_k/bias_v (add_bias_kv): learned key/value vectors
//               appended to the sequence (LibTorch: xavier_normal)
//   unknown     a parameter of a module type torchinit does not know whose name is neither
//               `weight` nor `bias`: no preset initializes it; give it a rule or declare its
//               module's layout (layout_registry.h)
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "torchinit/layout.h"

namespace torchinit {

// The layout of one parameter of a module type of your own (ModuleDesc::params).
struct ParamDesc {
  ParamDesc() = default;
  explicit ParamDesc(std::string role, std::string torch_default = "",
                     std::optional<Fans> module_fans = std::nullopt, Layout layout = {})
      : role(std::move(role)),
        torch_default(std::move(torch_default)),
        module_fans(module_fans),
        layout(layout) {}

  std::string role = "weight";  // one of parameter_roles()
  // What your module's constructor gives it, as a spec ("normal(std=0.02)"); "" when there is
  // no such default: the plan spec `torch_default` then does not match the parameter.
  std::string torch_default;
  std::optional<Fans> module_fans;  // fans for a parameter with fewer than 2 dims (a bias)
  Layout layout;                    // PyTorch's tensor convention unless set
};

// What a module is. `type` selects the layout rules: a LibTorch type of known_module_types()
// (whose fields below are read as documented), else a type of your own whose parameters
// `params` describes, else an unknown type: roles from the parameter name only (`weight`,
// `bias`, else `unknown`), fans by the tensor convention, no LibTorch default, and a note in
// the Report.
struct ModuleDesc {
  std::string type;        // "Linear", "Conv2d", "LSTM", … or your own type's name
  std::string class_name;  // short C++ class name; "" means `type`

  // Linear (in_features, out_features), Bilinear (in1 = in_features, in2_features,
  // out_features), Conv*/ConvTranspose* (in_channels = in_features, out_channels =
  // out_features, kernel_size, groups, transposed), RNN/LSTM/GRU and their cells (input_size =
  // in_features).
  int64_t in_features = 0;
  int64_t in2_features = 0;
  int64_t out_features = 0;
  std::vector<int64_t> kernel_size;
  int64_t groups = 1;
  bool transposed = false;
  // RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell (the gates come from the type: 1, 4, 3).
  int64_t hidden_size = 0;
  int64_t num_layers = 1;
  bool bidirectional = false;
  int64_t proj_size = 0;  // LSTM only
  // Embedding, EmbeddingBag.
  int64_t num_embeddings = 0;
  int64_t embedding_dim = 0;
  std::optional<int64_t> padding_idx;  // as given (negative counts from the end)
  // MultiheadAttention: fused [3E, E] in_proj_weight when kdim == vdim == embed_dim, else
  // separate q/k/v_proj_weight; bias (in_proj_bias and out_proj's bias), add_bias_kv.
  int64_t embed_dim = 0;
  int64_t num_heads = 0;
  int64_t kdim = 0;
  int64_t vdim = 0;
  bool bias = true;
  bool add_bias_kv = false;
  // PReLU.
  int64_t num_parameters = 1;
  double init = 0.25;

  // Where the module sits: the types of its enclosing modules (outermost first) and its
  // attribute name in its parent. LibTorch's defaults depend on them: a Transformer
  // re-initializes every parameter with 2+ dims below it with xavier_uniform_, and a
  // MultiheadAttention zeroes its `out_proj` Linear's bias.
  std::vector<std::string> ancestor_types;
  std::string attribute;

  // A type of your own: each parameter's layout, by parameter name.
  std::map<std::string, ParamDesc> params;

  const std::string& display_class() const { return class_name.empty() ? type : class_name; }
};

// The LibTorch 1.13 module types with parameters that torchinit describes exactly, sorted.
const std::vector<std::string>& known_module_types();
// Every role a parameter can have (the `:role` selectors), in the order documented above.
const std::vector<std::string>& parameter_roles();

// The ParamInfo of parameter `name` (its name inside the module: "weight", "weight_hh_l0") of
// shape `shape` of the module `desc` describes; path = name (callers prefix it). c10::Error
// when `desc` contradicts the shape (say hidden_size against weight_hh's rows).
ParamInfo describe_parameter(const ModuleDesc& desc, const std::string& name,
                             std::vector<int64_t> shape);

}  // namespace torchinit
