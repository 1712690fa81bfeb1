// Non-temporal copy of a staged chunk to its destination, with the widest vector of the
// translation unit that includes it (SSE2 is part of x86-64; other CPUs copy normally).
#pragma once

#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace torchinit::detail {
namespace {

#if defined(__AVX512F__)
constexpr int64_t kStreamVector = 64;
inline void stream_vector(char* d, const char* s) {
  _mm512_stream_si512(reinterpret_cast<__m512i*>(d), _mm512_loadu_si512(s));
}
#elif defined(__AVX2__)
constexpr int64_t kStreamVector = 32;
inline void stream_vector(char* d, const char* s) {
  _mm256_stream_si256(reinterpret_cast<__m256i*>(d),
                      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s)));
}
#elif defined(__SSE2__)
constexpr int64_t kStreamVector = 16;
inline void stream_vector(char* d, const char* s) {
  _mm_stream_si128(reinterpret_cast<__m128i*>(d),
                   _mm_loadu_si128(reinterpret_cast<const __m128i*>(s)));
}
#endif

// Copies bytes from src (in cache) to dst (any alignment: the bytes before dst's first aligned
// vector and after its last one are copied normally).
inline void stream_store(void* dst, const void* src, int64_t bytes) {
#if defined(__SSE2__)
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  int64_t head = static_cast<int64_t>((0 - reinterpret_cast<uintptr_t>(d)) & (kStreamVector - 1));
  head = head < bytes ? head : bytes;
  std::memcpy(d, s, static_cast<size_t>(head));
  int64_t i = head;
  for (; i + kStreamVector <= bytes; i += kStreamVector) stream_vector(d + i, s + i);
  std::memcpy(d + i, s + i, static_cast<size_t>(bytes - i));
#else
  std::memcpy(dst, src, static_cast<size_t>(bytes));
#endif
}

// Orders the streaming stores before whatever the caller does next (another thread may read).
inline void stream_fence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

}  // namespace
}  // namespace torchinit::detail
