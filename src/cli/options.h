// Checked option values for the verbs. CLI11 alone reads "010" as octal, saturates text that
// overflows (a 20-digit --seed, or "-1", becomes 2^64-1), lets NaN through its Range and keeps
// empty list entries; these validators parse the text themselves, name the option and the range
// (--help shows the range). integer_in and seed_value rewrite the accepted text in the form
// CLI11 then converts: attach them with ->transform(), which lets them (->check() would not).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "signal/depth_sweep.h"

namespace torchinit::cli {

// A decimal integer in [lo, hi].
CLI::Validator integer_in(int64_t lo, int64_t hi);
// A decimal integer in [0, 2^64 - 1] (stream seeds).
CLI::Validator seed_value();
// A finite number in (lo, hi) or [lo, hi]: the interval's ends are open unless `closed`.
CLI::Validator number_in(double lo, double hi, bool closed = false);

// Adds `name` for a comma-separated shape (64,32,3,3): positive decimal sizes, no empty entries,
// at most kMaxShapeDims of them, and an element count that fits int64.
constexpr size_t kMaxShapeDims = 16;
CLI::Option* add_shape_option(CLI::App& cmd, const std::string& name, std::vector<int64_t>& shape,
                              const std::string& help);

// Most transformer layers --layers accepts (the gpt2 preset).
constexpr int64_t kMaxLayers = 1'000'000;
// Largest --batch (propagate): a million N(0, 1) rows measure any layer's variance to 0.1%.
constexpr int64_t kMaxBatch = kMaxSweepBatch;
// Most --steps per training run (demo --train): six runs of 100k steps take hours already.
constexpr int64_t kMaxTrainSteps = 100'000;

// Most intra-op threads a verb accepts: 4 x the hardware threads (more only slows a run down;
// 10000 never finishes).
int64_t max_threads();

// c10::Error naming `command` unless `bytes` fit in this machine's physical memory: a bigger
// allocation either fails or gets the process killed once its pages are touched.
void check_fits_in_memory(std::string_view command, const std::string& what, double bytes);
// The same for a tensor of `shape` (given by `option`) and --dtype `dtype` (float32, float64,
// float16, bfloat16).
void check_tensor_fits(std::string_view command, std::string_view option,
                       const std::vector<int64_t>& shape, const std::string& dtype);

// --depth and --width of the depth sweep (propagate --sweep, demo), in depth_sweep's bounds.
void add_sweep_size_options(CLI::App& cmd, int64_t& depth, int64_t& width);
// check_fits_in_memory for one network of the sweep.
void check_sweep_fits(std::string_view command, const DepthSweepOptions& options);

// c10::Error naming `command` unless the folder that will hold `path` exists: checked before a
// long run rather than after it.
void check_parent_folder(std::string_view command, const std::filesystem::path& path);

// Writes `text` to `path`; c10::Error naming `command` and the path when it cannot be created or
// written completely.
void write_text_file(std::string_view command, const std::filesystem::path& path,
                     const std::string& text);

}  // namespace torchinit::cli
