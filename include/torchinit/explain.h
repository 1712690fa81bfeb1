// What a spec gives a shape, and what initializers there are, as JSON: the output of
// `torchinit explain SPEC --shape … --json` and `torchinit list --json`, built here so that the
// CLI and the Python package (torchinit.explain, torchinit.list_initializers) print the same.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace torchinit {

// {"spec", "shape", "family", "distribution", "mean", "variance", "std",
//  "fourth_central_moment", and the initializer's details: "fan_in", "fan_out", "gain", …}.
// c10::Error when the spec is malformed or does not apply to the shape.
std::string explain_json(std::string_view spec, const std::vector<int64_t>& shape);

// [{"name", "aliases", "args": [{"name", "default", "doc", "choices"}], "summary", "formula",
//   "paper"}] for every registered initializer, by name.
std::string initializers_json();

}  // namespace torchinit
