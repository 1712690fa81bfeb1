// Whether the elements of a strided view share memory: LibTorch's at::has_internal_overlap only
// answers "yes" for zero strides and "too hard" otherwise, and a fill through a view whose
// elements alias each other would leave only the last write in each shared element.
#pragma once

#include <c10/util/ArrayRef.h>

#include <cstdint>

namespace torchinit::detail {

// True when two elements of the view (sizes, strides, in elements) have the same offset. Exact:
// strides sorted in increasing order that each exceed the span of the smaller dims prove
// disjointness at once (every dense, transposed, sliced or stepped view); otherwise the offsets
// are enumerated into a bitmap over the view's span, or sorted when that is smaller: at most
// 1/8 of a byte per element of the storage the view addresses, which the caller already holds.
bool elements_overlap(c10::IntArrayRef sizes, c10::IntArrayRef strides);

}  // namespace torchinit::detail
