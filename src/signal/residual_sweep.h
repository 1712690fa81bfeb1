// The residual depth sweep: GPT's residual stream at several depths under the Transformer presets,
// the mean-square recursion of residual_stream.h against one-token batches. Without depth scaling
// the stream grows linearly with depth; GPT-2's 1/√(2L) keeps it constant; per-block schemes
// (Megatron depth, OLMo mitchell) let it grow as log L; GPT-NeoX's wang_init (variance ∝ 1/L²)
// makes it shrink. Used by `torchinit demo` and tested in test/signal/residual_stream_test.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace torchinit {

struct ResidualSweepOptions {
  int64_t width = 256, vocab = 512, heads = 4, batch = 512;
  std::vector<int64_t> depths = {1, 2, 4, 8, 16, 32};
  // "unscaled" (N(0, 0.02) everywhere, no depth scaling) or a Plan preset that takes layers.
  std::vector<std::string> presets = {"unscaled", "gpt2", "megatron_depth", "gpt_neox",
                                      "olmo_mitchell"};
  uint64_t seed = 1;
};

struct ResidualSweepRow {
  std::string preset;
  int64_t depth = 0;
  double predicted = 0, measured = 0;  // mean square of the stream after the last block
  double max_log_ratio = 0;            // over the embedding and every block
};

struct ResidualSweep {
  ResidualSweepOptions options;
  std::vector<ResidualSweepRow> rows;
  std::string table() const;
  std::string json() const;
  std::string svg() const;  // final mean square against depth: predicted lines, measured markers
};

// c10::Error for depths or sizes < 1 and unknown presets, before any work.
ResidualSweep residual_sweep(const ResidualSweepOptions& options);

}  // namespace torchinit
