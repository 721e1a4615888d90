// Fuzz target: a state file as a server finds it on start. The input's bytes
// are written as the SQLite file, opened by SqliteEventStore, and every job in
// it loaded (LoadAll) and rebuilt by replay, as JobRegistry::Recover does:
// a job whose log is damaged or does not replay is quarantined, not fatal.
//
// Checks, besides the sanitizers' (no crash; SQLite itself is Debian's,
// uninstrumented): Open opens, or refuses with a code that
// sqlite_event_store.h documents and a message naming the file; LoadAll
// loads, or ends with an error. A run that hangs is a finding too (libFuzzer's
// -timeout).
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/job/job.h"
#include "service/store/sqlite_event_store.h"
#include "tests/fuzz/fuzz_support.h"

namespace lrsched::fuzz {
namespace {

// A directory of this process's own, in memory where there is one: each run
// writes and syncs a file.
const std::string& StatePath() {
  static const std::string path = [] {
    std::string base = "/dev/shm";
    if (access(base.c_str(), W_OK) != 0) {
      const char* tmp = std::getenv("TMPDIR");
      base = tmp != nullptr ? tmp : "/tmp";
    }
    std::string pattern = base + "/lrsched-state-fuzz-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) Fail("cannot make a directory in " + base, "");
    // Removed at exit: libFuzzer leaves through exit() after its last run.
    static const std::string directory = pattern;
    std::atexit([] { std::filesystem::remove_all(directory); });
    return pattern + "/state";
  }();
  return path;
}

void WriteFile(const std::string& path, const uint8_t* data, size_t size) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) Fail("cannot write " + path, "");
  while (size > 0) {
    const ssize_t written = write(fd, data, size);
    if (written <= 0) Fail("cannot write " + path, "");
    data += written;
    size -= static_cast<size_t>(written);
  }
  close(fd);
}

bool DocumentedOpenError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kFailedPrecondition:
      return absl::StartsWith(status.message(), "state file ");
    default:
      return false;
  }
}

void CheckStateFile(const uint8_t* data, size_t size) {
  const std::string& path = StatePath();
  // What an earlier run's store left beside its file belongs to that file.
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  WriteFile(path, data, size);
  SqliteStoreOptions options;
  options.full_sync = false;
  auto store = SqliteEventStore::Open(path, options);
  if (!store.ok()) {
    if (!DocumentedOpenError(store.status())) {
      Fail("an undocumented refusal", store.status().ToString());
    }
    return;
  }
  const JobOptions job_options;
  (*store)
      ->LoadAll(
          [&](absl::Span<v1::JobEvent* const> events) {
            Job::Replay(events, job_options, store->get()).status().IgnoreError();
            return absl::OkStatus();
          },
          [](const std::string&, const absl::Status&) { return absl::OkStatus(); })
      .IgnoreError();
}

}  // namespace
}  // namespace lrsched::fuzz

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  lrsched::fuzz::SilenceProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lrsched::fuzz::CheckStateFile(data, size);
  return 0;
}
