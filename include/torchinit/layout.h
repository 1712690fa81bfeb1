// Parameter layouts: which dims of a weight are its outputs and inputs, and hence its fans.
//
// For a bare tensor torchinit follows PyTorch's convention (torch.nn.init
// _calculate_fan_in_and_fan_out): dim 0 is out, dim 1 is in, the rest is the receptive field,
// fan_in = size(1)·receptive, fan_out = size(0)·receptive. Module layouts (ConvTranspose,
// grouped convs, stacked gates) refine this with the fields of Layout; where this differs from
// torch.nn.init, torchinit follows the layer's real connectivity:
//   ConvTranspose (pytorch#7865): weight [in, out/groups, k…]; fan_in = in/groups·k,
//     fan_out = out/groups·k (torch.nn.init reads dim 1 as in, swapping them);
//   grouped convs (pytorch#23854): fan_out = out/groups·k (torch.nn.init: out·k);
//   RNN/LSTM/GRU weight_ih/weight_hh (pytorch#9221) and MultiheadAttention's fused
//     in_proj_weight (pytorch#166378): the stacked gate/Q-K-V blocks are initialized one by one
//     with fan_out = one block's rows (torch.nn.init treats the stack as one matrix).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace torchinit {

struct Fans {
  int64_t fan_in = 0;
  int64_t fan_out = 0;
};

struct Layout {
  int out_dim = 0;          // dim holding output units (1 for ConvTranspose weights)
  int in_dim = 1;           // dim holding input units (0 for ConvTranspose weights)
  int64_t groups = 1;       // grouped convolutions: fans count one group
  bool transposed = false;  // ConvTranspose: weight is [in, out/groups, k…]
  int64_t blocks = 1;       // stacked blocks along the out dim (LSTM gates, fused QKV)
};

struct ParamInfo {
  std::string path;         // "layer1.0.conv1.weight"; the stream key by default
  std::string module_type;  // "Conv2d" (the layout's type), "" for a bare tensor
  // The short C++ class name of the owning module ("MyConv" for a class derived from
  // torch::nn::Conv2dImpl); equal to module_type for LibTorch's own classes. @Type selectors
  // match either.
  std::string module_class;
  std::string role = "weight";  // one of parameter_roles() (module_desc.h)
  std::vector<int64_t> shape;
  Layout layout;
  // For parameters without fans of their own (biases, norm scales): the fans of the owning
  // module's weight, so that e.g. LibTorch's default bias bound 1/sqrt(fan_in) can be expressed.
  std::optional<Fans> module_fans;
  // What LibTorch's reset_parameters (the module's constructor) gives this parameter, as a spec
  // on this ParamInfo (per block for stacked layouts); "" when LibTorch has none (module types
  // torchinit does not know). The plan spec `torch_default` resolves to it.
  std::string torch_default;
  // Embedding/EmbeddingBag padding_idx (>= 0): this row (along dim 0) is zero after any plan.
  std::optional<int64_t> padding_idx;
  // Why this layout may not be what the user expects (a module type torchinit does not know);
  // shown in the Report. "" for known types.
  std::string note;

  // PyTorch's convention for a bare tensor of this shape.
  static ParamInfo from_shape(std::vector<int64_t> shape, std::string path = "");
  int64_t dim() const { return static_cast<int64_t>(shape.size()); }
  int64_t numel() const;
  // c10::Error naming `who` when the tensor has fewer than 2 dims and no module_fans.
  Fans fans(const char* who = "torchinit::fans") const;
  // The info of stacked block `b` (of layout.blocks) along the out dim: its own shape, one block.
  ParamInfo block(int64_t b) const;
  // "[64, 32, 3, 3]"
  std::string shape_str() const;
};

}  // namespace torchinit
