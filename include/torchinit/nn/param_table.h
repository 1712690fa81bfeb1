// Parameter tables: a model's parameters as paths, module descriptions and full shapes, with no
// tensor allocated, for models too large to build whole. A rank then allocates only its shards
// and initializes them with apply_sharded_params (plan_params.h), which takes fans, roles and
// gate blocks from the full shapes, so the shards hold the bytes of the full model's init.
//
//   auto table = torchinit::nn::param_table("llama(dim=4096, layers=32, hidden=11008)");
//   // table[i].info: path, module type, role, full shape, layout; table[i].tensor undefined
#pragma once

#include <string_view>
#include <vector>

#include "torchinit/module_layout.h"

namespace torchinit::nn {

// The parameters of a model spec, in the order the model would register them. Models:
//   llama(dim=4096, layers=32, heads=32, hidden=11008, vocab=32000): a Llama-style decoder
//   (Touvron et al. 2023) with torchinit::nn::GPT's path names: tok_emb (Embedding),
//   layers.<i>.norm1 and .norm2 (RMSNorm scales, ones), layers.<i>.attn.q/.k/.v (Linear) and
//   .attn.proj (Projection, :residual_out), layers.<i>.mlp.fc1 and .gate (Linear, SwiGLU) and
//   .fc2 (Projection, :residual_out), norm (RMSNorm), head (Projection, :readout); no biases.
//   The defaults are Llama-7B's shapes: 6.74e9 parameters.
// c10::Error, in the spec binder's form, for an unknown model or argument or a bad value
// (heads must divide dim).
std::vector<ModuleParam> param_table(std::string_view spec);

// The models param_table knows, sorted.
std::vector<std::string> param_table_models();

}  // namespace torchinit::nn
