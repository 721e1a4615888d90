// Who may do what: callers identified by a bearer token (`authorization:
// Bearer TOKEN` metadata) or by their mutual-TLS certificate, each with a
// role and an optional job-id prefix, from a file the operator writes (and
// may change while the server runs: it is read again when it changes).
//
// The file (YAML):
//
//   callers:
//     - name: team-a-trainers       # for the logs; never the token
//       role: worker                # worker, viewer or operator
//       job_prefix: team-a-         # optional: only jobs whose id starts so
//       token_sha256: 5e884898...   # hex SHA-256 of the token, or token: ...
//     - name: alice
//       role: operator
//       certificate_name: spiffe://example.org/ns/ml/sa/alice  # a SAN (or CN)
//
// Roles: a worker trains (Step, ReportMetric, GetJob, WatchJob, and CreateJob
// of its jobs); a viewer reads (GetJob, ListJobs, WatchJob,
// PreviewSchedule); an operator does everything, overrides and deletions
// included. A caller with a prefix reaches only the jobs under it, and lists
// only those. A refusal never says whether the job exists: the check comes
// before any lookup.
//
// Tokens are compared by their SHA-256, in constant time, against every
// known one. Thread-safe; Check takes no lock (a thread keeps its own
// reference to the current table, renewed when the file was read again).
#ifndef LRSCHED_SERVICE_SERVER_ACCESS_CONTROL_H_
#define LRSCHED_SERVICE_SERVER_ACCESS_CONTROL_H_

#include <grpcpp/grpcpp.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "service/common/mutex.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace lrsched {

enum class Role { kWorker, kViewer, kOperator };

// The calls of lrsched.v1.SchedulerService, as access control tells them
// apart.
enum class Rpc {
  kCreateJob,
  kGetJob,
  kListJobs,
  kDeleteJob,
  kStep,
  kReportMetric,
  kSetLearningRate,
  kSetWorldSize,
  kWatchJob,
  kPreviewSchedule,
};

absl::string_view RoleName(Role role);
absl::string_view RpcName(Rpc rpc);
// Whether `role` may make `rpc` at all (the prefix aside).
bool RoleAllows(Role role, Rpc rpc);

struct Caller {
  std::string name;
  Role role = Role::kViewer;
  // Empty: every job.
  std::string job_prefix;
};

class AccessControl {
 public:
  // After each reading of the file: OK with the number of callers, or why
  // the file was refused (the previous table stays in force).
  using OnReload = std::function<void(const absl::StatusOr<size_t>& callers)>;

  // Reads `path`; INVALID_ARGUMENT naming the entry and the rule when it is
  // not a valid file (at start-up a refusal stops the server). Then reads
  // it again whenever it changes, checking every `refresh_interval`.
  static absl::StatusOr<std::unique_ptr<AccessControl>> Open(
      const std::string& path, absl::Duration refresh_interval = absl::Seconds(1),
      OnReload on_reload = nullptr);
  ~AccessControl();

  // The caller of `context`: UNAUTHENTICATED without credentials or with
  // unknown ones. The caller lives in this thread's table: valid until the
  // thread's next call into this object (no copy on the hot path).
  absl::StatusOr<const Caller*> Authenticate(const grpc::ServerContextBase& context) const;
  // Whether the caller of `context` may make `rpc` on `job_id` (empty for
  // ListJobs and PreviewSchedule): UNAUTHENTICATED, or PERMISSION_DENIED
  // naming the caller, its role and the rule. The caller as Authenticate's.
  absl::StatusOr<const Caller*> Check(const grpc::ServerContextBase& context, Rpc rpc,
                                      absl::string_view job_id) const;

  // Parses the file's text (for tests and Open).
  struct Table;
  static absl::StatusOr<std::shared_ptr<const Table>> Parse(const std::string& text);

 private:
  static absl::StatusOr<std::shared_ptr<const Table>> ParseYaml(const YAML::Node& root);
  AccessControl(std::string path, absl::Duration refresh_interval, OnReload on_reload);
  absl::Status Load();
  void WatchFile();
  // The table in force, as this thread last saw it: valid until the
  // thread's next call.
  const Table& table() const;

  const std::string path_;
  const absl::Duration refresh_interval_;
  const OnReload on_reload_;
  // The file as last read: modification time, size and inode.
  std::array<int64_t, 4> seen_{};
  mutable Mutex mu_;
  std::shared_ptr<const Table> table_ ABSL_GUARDED_BY(mu_);
  // Bumped with every new table, so that threads renew their reference.
  std::atomic<uint64_t> generation_{0};
  const uint64_t instance_;
  absl::Notification stop_;
  std::thread watcher_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_ACCESS_CONTROL_H_
