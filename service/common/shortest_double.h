// A double as the shortest text that reads back as the same value, as
// Python's repr and PyTorch print it (0.1, not 0.10000000000000001; and
// 0.30000000000000004, not 0.3): for messages a person compares with what
// their training script printed.
#ifndef LRSCHED_SERVICE_COMMON_SHORTEST_DOUBLE_H_
#define LRSCHED_SERVICE_COMMON_SHORTEST_DOUBLE_H_

#include <charconv>
#include <string>

namespace lrsched {

inline std::string ShortestDouble(double value) {
  char text[32];
  const std::to_chars_result written = std::to_chars(text, text + sizeof text, value);
  return std::string(text, written.ptr);
}

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_COMMON_SHORTEST_DOUBLE_H_
