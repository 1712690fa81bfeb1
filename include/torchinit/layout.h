// Parameter layouts: which dims of a weight are its outputs and inputs, and hence its fans.
//
// For a bare tensor torchinit follows PyTorch's convention (torch.nn.init
// _calculate_fan_in_and_fan_out): dim 0 is out, dim 1 is in, the rest is the receptive field,
// fan_in = size(1)·receptive, fan_out = size(0)·receptive. Module layouts (ConvTranspose,
// grouped convs, stacked gates) refine this with the fields of Layout.
#pragma once

#include <cstdint>
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
  std::string module_type;  // "Conv2d", "" for a bare tensor
  std::string role = "weight";
  std::vector<int64_t> shape;
  Layout layout;

  // PyTorch's convention for a bare tensor of this shape.
  static ParamInfo from_shape(std::vector<int64_t> shape, std::string path = "");
  int64_t dim() const { return static_cast<int64_t>(shape.size()); }
  int64_t numel() const;
  // c10::Error naming `who` when the tensor has fewer than 2 dims.
  Fans fans(const char* who = "torchinit::fans") const;
  // "[64, 32, 3, 3]"
  std::string shape_str() const;
};

}  // namespace torchinit
