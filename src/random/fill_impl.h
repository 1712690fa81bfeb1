// The fill kernels, generic over the block generator: include after defining, in an anonymous
// namespace of the ISA's translation unit,
//   void generate_blocks(uint32_t* out, uint64_t first_block, int64_t n, const Stream& s,
//                        uint16_t substream);   // out[4 i + j] = word j of block first_block + i
// Values are produced in chunks of kChunkBlocks blocks that stay in L1: Philox words into a stack
// buffer, then transformed straight into the output, or for large outputs into a second L1 buffer
// that is copied out with non-temporal stores.
#pragma once

#include <algorithm>
#include <cstring>

#include "random/kernels.h"
#include "random/stream_store.h"
#include "random/transforms.h"

namespace torchinit::detail {
namespace {

constexpr int64_t kChunkBlocks = 512;  // 2048 words, 8 KiB
// From this output size on, stores bypass the cache: the output would evict it anyway, and a
// streaming store saves reading each line before writing it (a third of the memory traffic).
constexpr int64_t kStreamBytes = int64_t{4} << 20;

// Calls transform(words, dst, nblocks) to turn whole blocks into ElementsPerBlock * nblocks
// values, for the elements [first, first + count); partial blocks at either end go through a
// small buffer.
template <int ElementsPerBlock, typename T, typename Transform>
void fill_blocks(T* out, int64_t first, int64_t count, const Stream& s, uint16_t substream,
                 Transform transform) {
  alignas(64) uint32_t words[4 * kChunkBlocks];
  alignas(64) T staged[ElementsPerBlock * kChunkBlocks];
  T partial[ElementsPerBlock];
  const bool stream = count * static_cast<int64_t>(sizeof(T)) >= kStreamBytes;
  const int64_t end = first + count;
  int64_t e = first;
  auto partial_block = [&](int64_t stop) {
    const int64_t blk = e / ElementsPerBlock;
    generate_blocks(words, static_cast<uint64_t>(blk), 1, s, substream);
    transform(words, partial, 1);
    const int64_t n = std::min(stop, (blk + 1) * ElementsPerBlock) - e;
    std::memcpy(out + (e - first), partial + (e - blk * ElementsPerBlock), n * sizeof(T));
    e += n;
  };
  if (e % ElementsPerBlock != 0 && e < end) partial_block(end);
  while (end - e >= ElementsPerBlock) {
    const int64_t nb = std::min(kChunkBlocks, (end - e) / ElementsPerBlock);
    generate_blocks(words, static_cast<uint64_t>(e / ElementsPerBlock), nb, s, substream);
    if (stream) {
      transform(words, staged, nb);
      stream_store(out + (e - first), staged, nb * ElementsPerBlock * sizeof(T));
    } else {
      transform(words, out + (e - first), nb);
    }
    e += nb * ElementsPerBlock;
  }
  if (stream) stream_fence();
  if (e < end) partial_block(end);
}

void fill_bits_kernel(uint32_t* out, int64_t first, int64_t count, const Stream& s,
                      uint16_t substream) {
  fill_blocks<4>(out, first, count, s, substream, [](const uint32_t* w, uint32_t* dst, int64_t nb) {
    std::memcpy(dst, w, 4 * nb * sizeof(uint32_t));
  });
}

void uniform_f_kernel(float* out, int64_t first, int64_t count, const Stream& s, double a,
                      double b) {
  const double width = b - a;
  fill_blocks<4>(out, first, count, s, kValues,
                 [a, width](const uint32_t* __restrict w, float* __restrict dst, int64_t nb) {
                   for (int64_t i = 0; i < 4 * nb; ++i) dst[i] = uniform24(w[i], a, width);
                 });
}

void uniform_d_kernel(double* out, int64_t first, int64_t count, const Stream& s, double a,
                      double b) {
  const double width = b - a;
  fill_blocks<2>(out, first, count, s, kValues,
                 [a, width](const uint32_t* __restrict w, double* __restrict dst, int64_t nb) {
                   for (int64_t i = 0; i < 2 * nb; ++i)
                     dst[i] = uniform53(w[2 * i], w[2 * i + 1], a, width);
                 });
}

void normal_f_kernel(float* out, int64_t first, int64_t count, const Stream& s, float mean,
                     float std) {
  // The pairs' words are split first and the results interleaved last, so the Box-Muller loop
  // reads and writes whole vectors (the same operations per element: the same bytes).
  fill_blocks<4>(out, first, count, s, kValues,
                 [mean, std](const uint32_t* __restrict w, float* __restrict dst, int64_t nb) {
                   alignas(64) uint32_t w0[2 * kChunkBlocks], w1[2 * kChunkBlocks];
                   alignas(64) float z0[2 * kChunkBlocks], z1[2 * kChunkBlocks];
                   const int64_t pairs = 2 * nb;
                   for (int64_t i = 0; i < pairs; ++i) {
                     w0[i] = w[2 * i];
                     w1[i] = w[2 * i + 1];
                   }
                   for (int64_t i = 0; i < pairs; ++i) box_muller_f(w0[i], w1[i], z0[i], z1[i]);
                   for (int64_t i = 0; i < pairs; ++i) {
                     dst[2 * i] = mean + std * z0[i];
                     dst[2 * i + 1] = mean + std * z1[i];
                   }
                 });
}

void normal_f_at_kernel(float* out, const int64_t* elements, int64_t n, const Stream& s,
                        uint16_t substream, float mean, float std) {
  constexpr int64_t kBatch = 256;
  alignas(64) uint32_t w0[kBatch], w1[kBatch], odd[kBatch];
  for (int64_t done = 0; done < n; done += kBatch) {
    const int64_t m = std::min(kBatch, n - done);
    for (int64_t i = 0; i < m; ++i) {
      const int64_t e = elements[done + i];
      uint32_t words[4];
      generate_blocks(words, static_cast<uint64_t>(e / 4), 1, s, substream);
      const int pair = static_cast<int>(e % 4) & ~1;
      w0[i] = words[pair];
      w1[i] = words[pair + 1];
      odd[i] = static_cast<uint32_t>(e & 1);
    }
    float* dst = out + done;
    for (int64_t i = 0; i < m; ++i) {
      float z0, z1;
      box_muller_f(w0[i], w1[i], z0, z1);
      dst[i] = mean + std * (odd[i] ? z1 : z0);
    }
  }
}

constexpr FillKernels kKernels = {fill_bits_kernel, uniform_f_kernel, uniform_d_kernel,
                                  normal_f_kernel, normal_f_at_kernel};

}  // namespace
}  // namespace torchinit::detail
