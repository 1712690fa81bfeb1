// The portable kernel table: scalar Philox (the compiler may still use the baseline SSE2).
#include <cstdint>

#include "random/philox.h"
#include "torchinit/random.h"

namespace torchinit::detail {
namespace {

void generate_blocks(uint32_t* out, uint64_t first_block, int64_t n, const Stream& s,
                     uint16_t substream) {
  for (int64_t i = 0; i < n; ++i)
    philox::block(out + 4 * i, first_block + static_cast<uint64_t>(i), substream, s.seed(),
                  s.key_hash());
}

}  // namespace
}  // namespace torchinit::detail

#include "random/fill_impl.h"

namespace torchinit::detail {
const FillKernels& scalar_kernels() { return kKernels; }
}  // namespace torchinit::detail
