// What a structured family promises beyond the marginal distribution of one element, as one type
// per family. Distribution::typed_structure() holds one of them; check() dispatches on it (each
// structure's check lives in its initializer's file), and check_sharded uses it to decide whether
// merged shard statistics suffice. torchinit's own families have the closed alternatives below
// (their checks are declared in src/checks/structure_check.h); any other, built in later or a
// user's, is a structure::Custom (torchinit/custom_structure.h) that brings its own check.
#pragma once

#include <cstdint>
#include <memory>
#include <variant>
#include <vector>

namespace torchinit {
namespace structure {

// No structure: the marginal of one element is the whole promise (every unstructured family).
struct None {};

// Haar (semi-)orthogonal times gain on the 2-D view [rows, cols] = [size(0), numel/size(0)]:
// W W^T = gain^2 I when rows <= cols, W^T W = gain^2 I otherwise.
struct Orthogonal {
  int64_t rows = 0, cols = 0;
  double gain = 1;
};

// [rows, cols]: exactly zeros_per_column zeros in every column, the other entries N(0, std^2).
struct Sparse {
  int64_t rows = 0, cols = 0, zeros_per_column = 0;
  double std = 0;
};

// The [rows, cols] identity (ones on the main diagonal, zeros elsewhere).
struct Eye {
  int64_t rows = 0, cols = 0;
};

// Conv kernel `shape` [out, in, k…] in `groups` groups: within group g, output channel i passes
// input channel i through at the center tap; every other element is 0.
struct Dirac {
  std::vector<int64_t> shape;
  int64_t groups = 1;
};

// Conv kernel `shape` [out, in, k…]: zero off the center tap, which is an Orthogonal
// [out, in] matrix times gain.
struct DeltaOrthogonal {
  std::vector<int64_t> shape;
  double gain = 1;
};

// LSTM bias [4H] in gate order i, f, g, o: f = ln U, U ~ U(1, t_max - 1); i = -f; g = o = 0.
struct Chrono {
  double t_max = 0;
};

// Equal blocks along dim 0, block b constant at values[b] (LSTM gate biases).
struct BlockConstant {
  std::vector<double> values;
};

// A structure with its own check (torchinit/custom_structure.h).
class Custom;

}  // namespace structure

// One alternative per structured family. A new family needs none: its structure derives from
// structure::Custom in its own file.
using TypedStructure =
    std::variant<structure::None, structure::Orthogonal, structure::Sparse, structure::Eye,
                 structure::Dirac, structure::DeltaOrthogonal, structure::Chrono,
                 structure::BlockConstant, std::shared_ptr<const structure::Custom>>;

}  // namespace torchinit
