#include "tests/bench/load.h"

#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"

namespace lrsched::bench {

void Die(const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, message.c_str());
  std::fflush(stdout);
  // Not exit(): gRPC's threads may still be running callbacks, possibly this
  // one. The server goes with this process (see ServerProcess).
  std::_Exit(1);
}

BenchServer::BenchServer(const std::string& binary, std::vector<std::string> flags) {
  char directory[] = "/tmp/lrsched-bench-XXXXXX";
  if (mkdtemp(directory) == nullptr) Die("cannot make a temporary directory");
  directory_ = directory;
  // A server given --store keeps its jobs there instead.
  const bool has_store = std::any_of(flags.begin(), flags.end(), [](const std::string& flag) {
    return flag.rfind("--store=", 0) == 0;
  });
  flags.insert(flags.begin(), "--listen=127.0.0.1:0");
  if (!has_store) flags.insert(flags.begin() + 1, "--state=" + directory_ + "/state.db");
  process_ = std::make_unique<testing::ServerProcess>(binary, std::move(flags));
  if (process_->port() == 0) Die("lrsched-server did not start: " + binary);
}

BenchServer::~BenchServer() {
  process_.reset();
  std::filesystem::remove_all(directory_);
}

std::string BenchServer::target() const { return absl::StrCat("127.0.0.1:", process_->port()); }

ProcessStats ReadProcessStats(pid_t pid) {
  ProcessStats stats;
  std::ifstream stat_file(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(stat_file)), {});
  // Fields after the command name, which is in parentheses and may hold spaces.
  const std::vector<std::string> fields =
      absl::StrSplit(stat.substr(stat.rfind(')') + 2), ' ');
  if (fields.size() > 13) {
    int64_t user = 0, system = 0;
    absl::SimpleAtoi(fields[11], &user);
    absl::SimpleAtoi(fields[12], &system);
    stats.cpu_seconds = static_cast<double>(user + system) / sysconf(_SC_CLK_TCK);
  }
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  for (std::string line; std::getline(status, line);) {
    int64_t value = 0;
    std::vector<std::string> parts = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (parts.size() < 2 || !absl::SimpleAtoi(parts[1], &value)) continue;
    if (parts[0] == "VmRSS:") stats.resident_bytes = value * 1024;
    if (parts[0] == "VmHWM:") stats.peak_resident_bytes = value * 1024;
    if (parts[0] == "Threads:") stats.threads = static_cast<int>(value);
  }
  return stats;
}

std::vector<std::shared_ptr<grpc::Channel>> OpenChannels(
    const std::string& target, int connections,
    std::shared_ptr<grpc::ChannelCredentials> credentials) {
  if (credentials == nullptr) credentials = grpc::InsecureChannelCredentials();
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < connections; ++i) {
    grpc::ChannelArguments arguments;
    // Channels with the same arguments share one connection.
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    channels.push_back(grpc::CreateCustomChannel(target, credentials, arguments));
  }
  return channels;
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

namespace {

using Clock = std::chrono::steady_clock;

enum Phase { kWarmup, kMeasure, kStop };

struct SlotRecord {
  std::vector<float> latencies_us;
  int64_t errors = 0;
  std::string first_error;
};

double Percentile(const std::vector<float>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  const size_t at = std::min(sorted.size() - 1, static_cast<size_t>(fraction * sorted.size()));
  return sorted[at];
}

}  // namespace

LoadResult RunClosedLoop(int slots, absl::Duration warmup, absl::Duration measure, pid_t server,
                         const IssueCall& issue) {
  std::vector<SlotRecord> records(slots);
  std::atomic<int> phase{kWarmup};
  std::atomic<int> active{slots};
  absl::Notification all_done;

  // Each slot's loop: a call, then from its callback the next one.
  std::function<void(int)> start = [&](int slot) {
    const Clock::time_point started = Clock::now();
    issue(slot, [&, slot, started](const grpc::Status& status) {
      const int now = phase.load(std::memory_order_acquire);
      if (now == kMeasure) {
        SlotRecord& record = records[slot];
        record.latencies_us.push_back(
            std::chrono::duration<float, std::micro>(Clock::now() - started).count());
        if (!status.ok() && record.errors++ == 0) {
          record.first_error = absl::StrCat(status.error_code(), ": ", status.error_message());
        }
      }
      if (now == kStop) {
        if (active.fetch_sub(1) == 1) all_done.Notify();
        return;
      }
      start(slot);
    });
  };
  for (int slot = 0; slot < slots; ++slot) start(slot);

  absl::SleepFor(warmup);
  const ProcessStats before = ReadProcessStats(server);
  const Clock::time_point measure_start = Clock::now();
  phase.store(kMeasure, std::memory_order_release);
  absl::SleepFor(measure);
  phase.store(kStop, std::memory_order_release);
  const Clock::time_point measure_end = Clock::now();
  const ProcessStats after = ReadProcessStats(server);
  all_done.WaitForNotification();

  LoadResult result;
  std::vector<float> latencies;
  for (SlotRecord& record : records) {
    latencies.insert(latencies.end(), record.latencies_us.begin(), record.latencies_us.end());
    result.errors += record.errors;
    if (result.first_error.empty()) result.first_error = record.first_error;
  }
  std::sort(latencies.begin(), latencies.end());
  result.calls = static_cast<int64_t>(latencies.size());
  result.seconds = std::chrono::duration<double>(measure_end - measure_start).count();
  result.calls_per_second = result.calls / result.seconds;
  result.p50_us = Percentile(latencies, 0.50);
  result.p90_us = Percentile(latencies, 0.90);
  result.p99_us = Percentile(latencies, 0.99);
  result.p999_us = Percentile(latencies, 0.999);
  if (result.calls > 0) {
    result.server_cpu_us_per_call = (after.cpu_seconds - before.cpu_seconds) * 1e6 / result.calls;
  }
  return result;
}

}  // namespace lrsched::bench
