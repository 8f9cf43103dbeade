// SPDX-License-Identifier: Apache-2.0
#include "core/base/parallel.hpp"

#include <algorithm>

namespace disco {

Parallel& serial_parallel() {
  static SerialParallel serial;
  return serial;
}

void parallel_for(Parallel& parallel, std::size_t n, std::size_t min_chunk,
                  const std::function<void(std::size_t, std::size_t)>& fn) {
  if (n == 0) return;
  min_chunk = std::max<std::size_t>(min_chunk, 1);
  std::size_t max_chunks = static_cast<std::size_t>(parallel.n_threads());
  std::size_t n_chunks = std::min(max_chunks, (n + min_chunk - 1) / min_chunk);
  if (n_chunks <= 1) {
    fn(0, n);
    return;
  }
  std::size_t per = (n + n_chunks - 1) / n_chunks;
  parallel.run(n_chunks, [&](std::size_t c) {
    std::size_t begin = c * per;
    std::size_t end = std::min(n, begin + per);
    if (begin < end) fn(begin, end);
  });
}

}  // namespace disco
