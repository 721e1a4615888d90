// How much memory this process may use: the container's limit (cgroup v2 or
// v1) where there is one, else the machine's physical memory.
#ifndef LRSCHED_SERVICE_SERVER_MEMORY_LIMIT_H_
#define LRSCHED_SERVICE_SERVER_MEMORY_LIMIT_H_

#include <cstdint>

namespace lrsched {

int64_t MemoryLimit();

// The default of --memory_budget: half of MemoryLimit(), leaving the rest to
// gRPC's buffers, the allocator, the store's cache and the calls in flight.
int64_t DefaultMemoryBudget();

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_MEMORY_LIMIT_H_
