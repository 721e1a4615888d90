// What the load benchmarks share: a closed-loop load of asynchronous gRPC
// calls with latency percentiles, and what /proc says about the server
// process (CPU time, resident memory, threads), which does not depend on how
// much CPU the load generator itself takes.
#ifndef LRSCHED_TESTS_BENCH_LOAD_H_
#define LRSCHED_TESTS_BENCH_LOAD_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "tests/testing/server_process.h"

namespace lrsched::bench {

// Prints "PROGRAM: message" and exits 1.
[[noreturn]] void Die(const std::string& message);

// lrsched-server as a child process with a state file of its own, in a
// temporary directory removed with it; `flags` come after --listen and
// --state (left out when `flags` give --store).
class BenchServer {
 public:
  BenchServer(const std::string& binary, std::vector<std::string> flags);
  ~BenchServer();
  BenchServer(const BenchServer&) = delete;
  BenchServer& operator=(const BenchServer&) = delete;

  pid_t pid() const { return process_->pid(); }
  std::string target() const;

 private:
  std::string directory_;
  std::unique_ptr<testing::ServerProcess> process_;
};

struct ProcessStats {
  double cpu_seconds = 0;  // user + system, all threads
  int64_t resident_bytes = 0;
  int64_t peak_resident_bytes = 0;  // the most since the process started
  int threads = 0;
};
ProcessStats ReadProcessStats(pid_t pid);

// `connections` channels to `target`, each its own TCP connection;
// plaintext unless `credentials`.
std::vector<std::shared_ptr<grpc::Channel>> OpenChannels(
    const std::string& target, int connections,
    std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

struct LoadResult {
  int64_t calls = 0;   // completed while measuring
  int64_t errors = 0;  // of those, not OK
  std::string first_error;
  double seconds = 0;
  double calls_per_second = 0;
  double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0;
  double server_cpu_us_per_call = 0;
};

// Starts one call for `slot` and calls `done` with its status when it ends.
using IssueCall =
    std::function<void(int slot, std::function<void(const grpc::Status&)> done)>;

// Keeps `slots` calls in flight (each slot starts its next call when the last
// one ends) for `warmup`, then measures for `measure`, then lets the calls in
// flight end. `server` is the server's process id, for its CPU time.
LoadResult RunClosedLoop(int slots, absl::Duration warmup, absl::Duration measure,
                         pid_t server, const IssueCall& issue);

// The median of `values` (which it sorts).
double Median(std::vector<double> values);

}  // namespace lrsched::bench

#endif  // LRSCHED_TESTS_BENCH_LOAD_H_
