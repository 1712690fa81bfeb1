// Counter-based random streams (Philox4x32-10, Salmon et al. 2011, "Parallel random numbers:
// as easy as 1, 2, 3") and the element-indexed transforms that turn them into values.
//
// A value depends only on (seed, key hash, element index): never on thread count, chunking,
// parameter order or sharding. Philox's 64-bit key holds the seed; the 128-bit counter holds
// the block index (low 48 bits of words 0-1), a substream id (high 16 bits of word 1) and the
// 64-bit key hash (words 2-3). Philox is a bijection of the counter for a fixed key, so two
// parameters with different key hashes never share a block.
//
// Element -> bits mapping (pinned by golden tests; changing it changes every value):
//   32-bit elements (float32, and float16/bfloat16 through float32): element e uses word e%4 of
//   block e/4; normals pair words (0,1) and (2,3) of a block through Box-Muller.
//   64-bit elements (float64): element e uses words (2(e%2), 2(e%2)+1) of block e/2; normals pair
//   the two 64-bit words of a block.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace torchinit {

// 64-bit hash of a parameter key (FNV-1a, then the splitmix64 finalizer to spread the bits).
uint64_t hash_key(std::string_view key);

// One stream: (seed, key hash). Cheap to copy.
class Stream {
 public:
  Stream(uint64_t seed, uint64_t key_hash) : seed_(seed), key_hash_(key_hash) {}
  uint64_t seed() const { return seed_; }
  uint64_t key_hash() const { return key_hash_; }
  // Philox4x32-10 output for `block` of `substream` (block < 2^48).
  std::array<uint32_t, 4> block(uint64_t block, uint16_t substream = 0) const;

 private:
  uint64_t seed_;
  uint64_t key_hash_;
};

// Substreams: independent sequences of one stream, for initializers that need more than one
// random number per element.
// kRetry + attempt - 1 feeds attempt `attempt` >= 1 of a rejection sampler (trunc_normal).
enum Substream : uint16_t { kValues = 0, kMask = 1, kRetry = 256 };

// Fills out[0..count) with the values of elements [first, first + count) of the stream.
// uniform: a + (b - a) * u, u in [0, 1) with 24 (float) or 53 (double) random bits.
void fill_uniform(float* out, int64_t first, int64_t count, const Stream& s, double a, double b);
void fill_uniform(double* out, int64_t first, int64_t count, const Stream& s, double a, double b);
// normal: mean + std * z, z by Box-Muller: in float for float (own log/sin/cos polynomials, about
// 1 ulp, u1 with 31 bits so |z| reaches 6.66), in double for double.
void fill_normal(float* out, int64_t first, int64_t count, const Stream& s, double mean,
                 double std);
void fill_normal(double* out, int64_t first, int64_t count, const Stream& s, double mean,
                 double std);
// normal(mean, std) truncated to [a, b], exact. Where [a, b] holds at least half of the normal's
// mass and the output is float: rejection of fill_normal's values (element e's attempt k >= 1
// uses substream kRetry + k - 1, after 8 attempts the inverse CDF), else the inverse CDF in double,
// sampling the smaller tail so neither small std nor far bounds lose precision.
void fill_trunc_normal(float* out, int64_t first, int64_t count, const Stream& s, double mean,
                       double std, double a, double b);
void fill_trunc_normal(double* out, int64_t first, int64_t count, const Stream& s, double mean,
                       double std, double a, double b);
// Raw 32-bit words, one per element (for masks and permutations).
void fill_bits(uint32_t* out, int64_t first, int64_t count, const Stream& s, uint16_t substream);

// Instruction set of the fill kernels. Every ISA gives the same bytes; the default is the widest
// the CPU has, or the environment variable TORCHINIT_ISA=scalar|avx2|avx512 (read at first use).
enum class Isa { Scalar, Avx2, Avx512 };
Isa active_isa();
// c10::Error when the CPU (or the build: non-x86 has only Scalar) lacks `isa`.
void force_isa(Isa isa);
bool isa_supported(Isa isa);
const char* isa_name(Isa isa);

}  // namespace torchinit
