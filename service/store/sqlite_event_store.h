// The embedded EventStore: one SQLite file in WAL mode, one table of events
// keyed by (job id, sequence) with the event as a serialized protobuf, and a
// schema version table that later versions migrate from.
//
// One writer thread owns the connection. Appends queue up while it commits,
// and it writes everything queued in one transaction (group commit), so that
// durability costs one fsync per batch rather than one per event.
//
// Thread-safe.
#ifndef LRSCHED_SERVICE_STORE_SQLITE_EVENT_STORE_H_
#define LRSCHED_SERVICE_STORE_SQLITE_EVENT_STORE_H_

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/store/event_store.h"
#include "service/store/sqlite_statement.h"
#include "service/store/state_file_lock.h"
#include "service/store/write_queue.h"

namespace lrsched {

struct SqliteStoreOptions {
  // synchronous=FULL: an acknowledged event survives a power loss. NORMAL:
  // it survives a crash of the process, not necessarily of the machine.
  bool full_sync = true;
  // While writes fail, how often the store tries a small one of its own, to
  // notice (and tell its health listener) that they work again.
  absl::Duration probe_interval = absl::Seconds(1);
};

class SqliteEventStore final : public EventStore {
 public:
  // The schema version this build writes and the newest it reads.
  static constexpr int64_t kSchemaVersion = 1;

  // Opens the store at `path`; ":memory:" keeps nothing and takes no lock.
  //
  // One store per file: Open takes an exclusive lock (StateFileLock, the
  // file `path`.lock) that the store holds until it is destroyed or the
  // process dies, however it dies.
  //
  // When a state file is created, the one rule: only when neither `path` nor
  // its write-ahead log `path`-wal exists (a first start). Open creates it
  // whole (under another name, then renamed), so lrsched never leaves an
  // empty state file; an existing empty (0-byte) file, or a `path`-wal
  // without `path`, means the state is lost or elsewhere and is refused.
  //
  // Never changes a file it refuses. Errors name the file and the problem:
  // NOT_FOUND (no such directory), PERMISSION_DENIED (read-only file or
  // directory), DATA_LOSS (corrupt, truncated, or not a database),
  // FAILED_PRECONDITION (locked by another process, naming its pid; empty;
  // a -wal without its file; not lrsched's; or written by a newer schema
  // version).
  static absl::StatusOr<std::unique_ptr<SqliteEventStore>> Open(
      const std::string& path, const SqliteStoreOptions& options = {});

  // Writes what is queued, then closes.
  ~SqliteEventStore() override;

  void Append(std::vector<v1::JobEvent> events, Done done) override {
    queue_.Append(std::move(events), std::move(done));
  }
  void DeleteJob(std::string job_id, Done done) override {
    queue_.DeleteJob(std::move(job_id), std::move(done));
  }
  using EventStore::LoadAll;
  absl::Status LoadAll(Visit visit, Damaged damaged) override;
  void LoadJob(std::string job_id, Loaded done) override {
    queue_.LoadJob(std::move(job_id), std::move(done));
  }
  void SetHealthListener(HealthListener listener) override {
    queue_.SetHealthListener(std::move(listener));
  }
  void Flush() override { queue_.Flush(); }
  const Stats* stats() const override { return &stats_; }

  const std::string& path() const { return path_; }
  // Transactions committed so far (group commit makes them fewer than appends).
  int64_t transactions() const;

 private:
  using Operation = WriteQueue::Operation;

  SqliteEventStore(std::string path, sqlite3* db, absl::Duration probe_interval);
  absl::Status Prepare();
  void WriterLoop();
  // Runs one operation inside the open transaction, under its own savepoint
  // so that its failure leaves the others of the batch alone.
  absl::Status Apply(const Operation& operation);
  // The compare of compare-and-append: FAILED_PRECONDITION unless the job's
  // log ends right before `first`.
  absl::Status CheckHead(const v1::JobEvent& first);
  absl::Status Exec(const char* sql);
  // Scans the jobs with ids in [first, end) (all when both are empty) on
  // connection `db`.
  absl::Status Scan(sqlite3* db, const std::string& first, const std::string& end,
                    Visit visit, Damaged damaged);
  // Reads one job's events on the writer's connection, between transactions.
  void Load(const std::string& job_id, Loaded done);
  // A small write, to find out whether writes work again.
  absl::Status Probe();

  const std::string path_;
  sqlite3* const db_;
  const absl::Duration probe_interval_;
  // The connection is the writer thread's, but LoadAll reads on it too, and
  // a failing store's probes may run at any time: one user at once.
  std::mutex db_mu_;
  // Held until the destructor has closed the connection.
  std::optional<StateFileLock> lock_;
  std::optional<SqliteStatement> insert_;
  std::optional<SqliteStatement> head_;
  std::optional<SqliteStatement> delete_job_;
  std::optional<SqliteStatement> savepoint_;
  std::optional<SqliteStatement> release_;
  std::optional<SqliteStatement> rollback_to_;

  WriteQueue queue_;
  std::atomic<int64_t> transactions_{0};
  Stats stats_;
  std::thread writer_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_STORE_SQLITE_EVENT_STORE_H_
