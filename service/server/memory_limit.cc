#include "service/server/memory_limit.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace lrsched {
namespace {

// The number in the first line of `path`; 0 if none ("max": no limit).
int64_t ReadLimit(const char* path) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return 0;
  int64_t value = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &value)) return 0;
  return value;
}

}  // namespace

int64_t MemoryLimit() {
  const int64_t physical =
      static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
  int64_t limit = physical;
  // cgroup v1 says "no limit" with a huge number; both are capped by the
  // machine's memory.
  for (const char* path :
       {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    if (const int64_t container = ReadLimit(path); container > 0) {
      limit = std::min(limit, container);
    }
  }
  return limit;
}

int64_t DefaultMemoryBudget() { return MemoryLimit() / 2; }

}  // namespace lrsched
