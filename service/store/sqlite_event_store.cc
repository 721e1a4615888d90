#include "service/store/sqlite_event_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <future>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/arena.h"
#include "service/common/status_macros.h"
#include "service/store/append_rules.h"

namespace lrsched {
namespace {

// Prefixes a status with the file it is about, keeping its code.
absl::Status About(const std::string& path, const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat("state file ", path, ": ", status.message()));
}

// Checks what SQLite would report less clearly: the directory exists and the
// file and directory can be written.
absl::Status CheckLocation(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path file(path);
  const fs::path directory = file.has_parent_path() ? file.parent_path() : fs::path(".");
  std::error_code error;
  if (!fs::is_directory(directory, error)) {
    return absl::NotFoundError(absl::StrCat("directory ", directory.string(), " does not exist"));
  }
  if (fs::exists(file, error) && access(path.c_str(), R_OK | W_OK) != 0) {
    return absl::PermissionDeniedError("the file is not readable and writable");
  }
  if (access(directory.c_str(), W_OK) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "directory ", directory.string(), " is read-only (SQLite needs it for its journal)"));
  }
  return absl::OkStatus();
}

constexpr char kCreateSchema[] =
    "BEGIN;"
    "CREATE TABLE schema_version (version INTEGER NOT NULL);"
    "INSERT INTO schema_version VALUES (1);"
    "CREATE TABLE events (job_id TEXT NOT NULL, sequence INTEGER NOT NULL,"
    " event BLOB NOT NULL, PRIMARY KEY (job_id, sequence)) WITHOUT ROWID;"
    "COMMIT;";

// Whether the state file is there, by the rule in sqlite_event_store.h. An
// empty file is never one lrsched wrote (CreateStateFile makes it whole or
// not at all), and a write-ahead log without its database holds changes to a
// file that is gone: both mean the state is lost or elsewhere, not that this
// is a first start.
absl::StatusOr<bool> StateFileExists(const std::string& path) {
  struct stat file;
  if (stat(path.c_str(), &file) == 0) {
    if (file.st_size > 0) return true;
    return absl::FailedPreconditionError(
        "the file is empty (0 bytes), so it holds no jobs: it was truncated or made by "
        "another tool. Delete it to start afresh, or restore a backup (lrsched-backup)");
  }
  if (errno != ENOENT) {
    return absl::InternalError(absl::StrCat("cannot stat it: ", std::strerror(errno)));
  }
  std::error_code error;
  if (std::filesystem::exists(path + "-wal", error)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the file does not exist, but its write-ahead log ", path,
        "-wal does: the state file was moved or deleted without it. Put the state file (or a "
        "backup) back, or delete ", path, "-wal to start afresh"));
  }
  return false;
}

absl::Status SyncDirectoryOf(const std::string& path) {
  const std::filesystem::path file(path);
  const std::string directory = file.has_parent_path() ? file.parent_path().string() : ".";
  const int fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    const std::string message = std::strerror(errno);
    if (fd >= 0) close(fd);
    return absl::InternalError(absl::StrCat("cannot sync directory ", directory, ": ", message));
  }
  close(fd);
  return absl::OkStatus();
}

// Creates an empty state file at `path` as a whole: built under another name
// and renamed, so that a crash during a first start leaves no file, rather
// than an empty or half-made one that the next start would refuse.
absl::Status CreateStateFile(const std::string& path) {
  const std::string building = path + ".new";
  // What a first start that died here left behind; the caller holds the lock.
  for (const std::string& leftover : {building, building + "-journal"}) {
    if (unlink(leftover.c_str()) != 0 && errno != ENOENT) {
      return absl::InternalError(
          absl::StrCat("cannot remove ", leftover, ": ", std::strerror(errno)));
    }
  }
  sqlite3* db = nullptr;
  int code = sqlite3_open_v2(building.c_str(), &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXRESCODE,
                             nullptr);
  if (code == SQLITE_OK) code = sqlite3_exec(db, kCreateSchema, nullptr, nullptr, nullptr);
  absl::Status status =
      code == SQLITE_OK ? absl::OkStatus() : SqliteError(db, code, "cannot create it");
  sqlite3_close(db);
  if (status.ok() && rename(building.c_str(), path.c_str()) != 0) {
    status = absl::InternalError(absl::StrCat("cannot rename ", building, ": ", std::strerror(errno)));
  }
  if (!status.ok()) {
    unlink(building.c_str());
    return status;
  }
  return SyncDirectoryOf(path);
}

// One integer from a query, or nullopt when it returns no row.
absl::StatusOr<std::optional<int64_t>> QueryInt(sqlite3* db, const char* sql) {
  auto statement = SqliteStatement::Prepare(db, sql);
  if (!statement.ok()) return statement.status();
  auto row = statement->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<int64_t>();
  return std::optional<int64_t>(statement->ColumnInt64(0));
}

// OK for a file of a schema version this build reads.
absl::Status CheckSchema(sqlite3* db) {
  auto has_version = QueryInt(
      db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  if (!has_version.ok()) return has_version.status();
  if (**has_version == 0) {
    return absl::FailedPreconditionError(
        "not an lrsched state file (no schema_version table); choose another --state");
  }
  auto version = QueryInt(db, "SELECT max(version) FROM schema_version");
  if (!version.ok()) return version.status();
  if (!version->has_value() || **version > SqliteEventStore::kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "written by a newer lrsched (schema version ", version->value_or(-1),
        "); this one reads up to version ", SqliteEventStore::kSchemaVersion));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteEventStore>> SqliteEventStore::Open(
    const std::string& path, const SqliteStoreOptions& options) {
  const bool in_memory = path == ":memory:";
  std::optional<StateFileLock> lock;
  if (!in_memory) {
    LRSCHED_RETURN_IF_ERROR(About(path, CheckLocation(path)));
    auto acquired = StateFileLock::Acquire(path);
    if (!acquired.ok()) return About(path, acquired.status());
    lock.emplace(*std::move(acquired));
    // Decided under the lock: no other server creates or changes the file now.
    auto exists = StateFileExists(path);
    if (!exists.ok()) return About(path, exists.status());
    if (!*exists) LRSCHED_RETURN_IF_ERROR(About(path, CreateStateFile(path)));
  }
  sqlite3* db = nullptr;
  const int code = sqlite3_open_v2(
      path.c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE |
          (in_memory ? SQLITE_OPEN_CREATE : 0),
      nullptr);
  if (code != SQLITE_OK) {
    absl::Status status = SqliteError(db, code, "cannot open");
    sqlite3_close(db);
    return About(path, status);
  }
  auto store = std::unique_ptr<SqliteEventStore>(new SqliteEventStore(path, db, options.probe_interval));
  store->lock_ = std::move(lock);
  if (in_memory) LRSCHED_RETURN_IF_ERROR(store->Exec(kCreateSchema));
  // Read before writing anything: a file we cannot read, or refuse, stays as
  // it is. Preparing the statements checks the tables too.
  absl::Status checked = CheckSchema(db);
  if (checked.ok()) checked = store->Prepare();
  // SQLite's generic error here is a table or column missing: a file that
  // has lrsched's tables in name only (another tool's, or edited by hand).
  if (checked.code() == absl::StatusCode::kInternal &&
      (sqlite3_errcode(db) & 0xff) == SQLITE_ERROR) {
    checked = absl::FailedPreconditionError(absl::StrCat(
        "not an lrsched state file (its tables are not lrsched's: ", checked.message(),
        "); choose another --state, or restore a backup (lrsched-backup)"));
  }
  LRSCHED_RETURN_IF_ERROR(About(path, checked));
  LRSCHED_RETURN_IF_ERROR(About(path, store->Exec("PRAGMA journal_mode = WAL")));
  LRSCHED_RETURN_IF_ERROR(About(path, store->Exec(options.full_sync ? "PRAGMA synchronous = FULL"
                                                                    : "PRAGMA synchronous = NORMAL")));
  store->writer_ = std::thread([raw = store.get()] { raw->WriterLoop(); });
  return store;
}

SqliteEventStore::SqliteEventStore(std::string path, sqlite3* db, absl::Duration probe_interval)
    : path_(std::move(path)), db_(db), probe_interval_(probe_interval) {}

SqliteEventStore::~SqliteEventStore() {
  if (writer_.joinable()) {
    queue_.Stop();
    writer_.join();
  }
  insert_.reset();
  head_.reset();
  delete_job_.reset();
  savepoint_.reset();
  release_.reset();
  rollback_to_.reset();
  sqlite3_close(db_);
}

absl::Status SqliteEventStore::Exec(const char* sql) {
  char* error = nullptr;
  const int code = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
  if (code == SQLITE_OK) return absl::OkStatus();
  sqlite3_free(error);
  return SqliteError(db_, code, sql);
}

absl::Status SqliteEventStore::Prepare() {
  auto insert = SqliteStatement::Prepare(
      db_, "INSERT INTO events (job_id, sequence, event) VALUES (?1, ?2, ?3)");
  if (!insert.ok()) return insert.status();
  // One descent of the primary key: the row it finds is next to where the
  // append's rows go, so the page is in cache for the insert anyway.
  auto head = SqliteStatement::Prepare(
      db_, "SELECT sequence FROM events WHERE job_id = ?1 ORDER BY sequence DESC LIMIT 1");
  if (!head.ok()) return head.status();
  auto remove = SqliteStatement::Prepare(db_, "DELETE FROM events WHERE job_id = ?1");
  if (!remove.ok()) return remove.status();
  auto savepoint = SqliteStatement::Prepare(db_, "SAVEPOINT operation");
  if (!savepoint.ok()) return savepoint.status();
  auto release = SqliteStatement::Prepare(db_, "RELEASE operation");
  if (!release.ok()) return release.status();
  auto rollback_to = SqliteStatement::Prepare(db_, "ROLLBACK TO operation");
  if (!rollback_to.ok()) return rollback_to.status();
  insert_.emplace(*std::move(insert));
  head_.emplace(*std::move(head));
  delete_job_.emplace(*std::move(remove));
  savepoint_.emplace(*std::move(savepoint));
  release_.emplace(*std::move(release));
  rollback_to_.emplace(*std::move(rollback_to));
  return absl::OkStatus();
}

int64_t SqliteEventStore::transactions() const { return transactions_.load(); }

void SqliteEventStore::WriterLoop() {
  std::string buffer;
  while (true) {
    std::deque<Operation> batch;
    if (!queue_.Take(&batch, probe_interval_)) return;
    if (batch.empty()) {
      // While writes fail, try one now and then: the store comes back by
      // itself once there is room again, even if nobody writes.
      absl::Status probed;
      {
        std::lock_guard<std::mutex> db_lock(db_mu_);
        probed = Probe();
      }
      queue_.ReportHealth(probed);
      continue;
    }
    std::vector<absl::Status> results;
    results.reserve(batch.size());
    const auto started = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> db_lock(db_mu_);
    absl::Status transaction = Exec("BEGIN IMMEDIATE");
    for (const Operation& operation : batch) {
      if (!transaction.ok()) {
        results.push_back(transaction);
        continue;
      }
      results.push_back(Apply(operation));
      // SQLite may end the whole transaction itself on a full disk, an I/O
      // error or no memory: the batch's earlier operations are gone too, and
      // the later ones must not run outside a transaction.
      if (!results.back().ok() && sqlite3_get_autocommit(db_)) transaction = results.back();
    }
    if (transaction.ok()) transaction = Exec("COMMIT");
    if (!transaction.ok() && !sqlite3_get_autocommit(db_)) Exec("ROLLBACK").IgnoreError();
    stats_.commit_seconds.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    stats_.batch_operations.Observe(static_cast<double>(batch.size()));
    ++transactions_;
    // A refused compare (FAILED_PRECONDITION) or a malformed append says
    // nothing of the storage; every other error does.
    absl::Status health = transaction;
    for (const absl::Status& result : results) {
      if (health.ok() && !result.ok() &&
          result.code() != absl::StatusCode::kFailedPrecondition &&
          result.code() != absl::StatusCode::kInvalidArgument) {
        health = result;
      }
    }
    db_lock.unlock();
    // Only a write says the disk has room again: an empty transaction around
    // reads and flushes commits even on a full disk.
    const bool wrote = std::any_of(batch.begin(), batch.end(), [](const Operation& operation) {
      return operation.is_write();
    });
    if (wrote) queue_.ReportHealth(About(path_, health));
    for (size_t i = 0; i < batch.size(); ++i) {
      std::move(batch[i].done)(About(path_, transaction.ok() ? results[i] : transaction));
    }
    // Reads after the commit: they see every write queued before them.
    for (Operation& operation : batch) {
      if (!operation.load_job) continue;
      std::lock_guard<std::mutex> load_lock(db_mu_);
      Load(*operation.load_job, std::move(operation.loaded));
    }
  }
}

absl::Status SqliteEventStore::Probe() {
  absl::Status status =
      Exec("BEGIN IMMEDIATE; UPDATE schema_version SET version = version; COMMIT");
  if (!status.ok() && !sqlite3_get_autocommit(db_)) Exec("ROLLBACK").IgnoreError();
  return About(path_, status);
}

void SqliteEventStore::Load(const std::string& job_id, Loaded done) {
  auto select = SqliteStatement::Prepare(
      db_, "SELECT job_id, sequence, event FROM events WHERE job_id = ?1 ORDER BY sequence");
  if (!select.ok()) {
    std::move(done)(About(path_, select.status()));
    return;
  }
  select->BindText(1, job_id);
  google::protobuf::Arena arena;
  std::vector<v1::JobEvent*> events;
  while (true) {
    auto row = select->Step();
    if (!row.ok()) {
      std::move(done)(About(path_, row.status()));
      return;
    }
    if (!*row) break;
    auto* event = google::protobuf::Arena::CreateMessage<v1::JobEvent>(&arena);
    const absl::string_view blob = select->ColumnBlob(2);
    if (!event->ParseFromArray(blob.data(), static_cast<int>(blob.size())) ||
        event->job_id() != job_id || event->sequence() != select->ColumnInt64(1)) {
      std::move(done)(About(path_, absl::DataLossError(absl::StrCat(
                                       "job ", job_id, " event ", select->ColumnInt64(1),
                                       " does not parse or does not match its key"))));
      return;
    }
    events.push_back(event);
  }
  std::move(done)(absl::Span<v1::JobEvent* const>(events));
}

absl::Status SqliteEventStore::Apply(const Operation& operation) {
  if (operation.events.empty() && !operation.delete_job) return absl::OkStatus();
  if (!operation.delete_job) LRSCHED_RETURN_IF_ERROR(CheckAppend(operation.events));
  LRSCHED_RETURN_IF_ERROR(savepoint_->Run());
  savepoint_->Reset();
  absl::Status status;
  if (operation.delete_job) {
    delete_job_->BindText(1, *operation.delete_job);
    status = delete_job_->Run();
    delete_job_->Reset();
  } else {
    status = CheckHead(operation.events.front());
    std::string blob;
    for (const v1::JobEvent& event : operation.events) {
      if (!status.ok()) break;
      blob.clear();
      event.SerializeToString(&blob);
      insert_->BindText(1, event.job_id());
      insert_->BindInt64(2, event.sequence());
      insert_->BindBlob(3, blob);
      status = insert_->Run();
      insert_->Reset();
      if (!status.ok()) {
        status = absl::Status(status.code(), absl::StrCat("job ", event.job_id(), " event ",
                                                          event.sequence(), ": ", status.message()));
      }
    }
  }
  if (!status.ok()) {
    rollback_to_->Run().IgnoreError();
    rollback_to_->Reset();
  }
  release_->Run().IgnoreError();
  release_->Reset();
  return status;
}

// Inside the transaction, so it sees what this batch wrote before and not
// what a rolled-back savepoint did: an append queued behind a failed one of
// its job finds the log short and fails too, rather than leaving a hole.
absl::Status SqliteEventStore::CheckHead(const v1::JobEvent& first) {
  head_->BindText(1, first.job_id());
  auto row = head_->Step();
  const int64_t head = row.ok() && *row ? head_->ColumnInt64(0) : 0;
  head_->Reset();
  if (!row.ok()) return row.status();
  if (head == first.sequence() - 1) return absl::OkStatus();
  return NotFollowing(first.job_id(), first.sequence(), head);
}

absl::Status SqliteEventStore::LoadAll(Visit visit, Damaged damaged) {
  std::unique_lock<std::mutex> db_lock(db_mu_);
  if (path_ == ":memory:") return Scan(db_, "", "", visit, damaged);
  // Parsing and replaying cost more than reading: split the jobs into halves
  // by id and scan each on its own connection and thread.
  auto ids = SqliteStatement::Prepare(
      db_, "SELECT job_id FROM events WHERE sequence = 1 ORDER BY job_id");
  if (!ids.ok()) return About(path_, ids.status());
  std::vector<std::string> first_ids;
  while (true) {
    auto row = ids->Step();
    if (!row.ok()) return About(path_, row.status());
    if (!*row) break;
    first_ids.emplace_back(ids->ColumnText(0));
  }
  if (first_ids.size() < 2) return Scan(db_, "", "", visit, damaged);
  const std::string middle = first_ids[first_ids.size() / 2];
  absl::Status second_half;
  std::thread helper([&] {
    sqlite3* reader = nullptr;
    const int code = sqlite3_open_v2(path_.c_str(), &reader,
                                     SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    second_half = code == SQLITE_OK ? Scan(reader, middle, "", visit, damaged)
                                    : About(path_, SqliteError(reader, code, "cannot open"));
    sqlite3_close(reader);
  });
  const absl::Status first_half = Scan(db_, "", middle, visit, damaged);
  helper.join();
  return first_half.ok() ? second_half : first_half;
}

absl::Status SqliteEventStore::Scan(sqlite3* db, const std::string& first,
                                    const std::string& end, Visit visit, Damaged damaged) {
  // Rows with a job id before `first` (even one of events with no creation)
  // belong to the other half; a missing creation is caught by the replay.
  auto select = SqliteStatement::Prepare(
      db, end.empty() ? "SELECT job_id, sequence, event FROM events WHERE job_id >= ?1 "
                        "ORDER BY job_id, sequence"
                      : "SELECT job_id, sequence, event FROM events WHERE job_id >= ?1 AND "
                        "job_id < ?2 ORDER BY job_id, sequence");
  if (!select.ok()) return About(path_, select.status());
  select->BindText(1, first);
  if (!end.empty()) select->BindText(2, end);
  // One arena per job: parsing allocates from it and frees it at once.
  auto arena = std::make_unique<google::protobuf::Arena>();
  std::vector<v1::JobEvent*> job;
  // The job whose rows are being skipped after one that does not parse.
  std::optional<std::string> skipping;
  while (true) {
    auto row = select->Step();
    if (!row.ok()) return About(path_, row.status());
    if (skipping && *row && select->ColumnText(0) == *skipping) continue;
    skipping.reset();
    if (!*row || (!job.empty() && select->ColumnText(0) != job.back()->job_id())) {
      if (!job.empty()) LRSCHED_RETURN_IF_ERROR(visit(job));
      job.clear();
      arena = std::make_unique<google::protobuf::Arena>();
      if (!*row) return absl::OkStatus();
    }
    auto* event = google::protobuf::Arena::CreateMessage<v1::JobEvent>(arena.get());
    const absl::string_view blob = select->ColumnBlob(2);
    const int64_t sequence = select->ColumnInt64(1);
    if (!event->ParseFromArray(blob.data(), static_cast<int>(blob.size())) ||
        event->job_id() != select->ColumnText(0) || event->sequence() != sequence) {
      skipping = std::string(select->ColumnText(0));
      LRSCHED_RETURN_IF_ERROR(damaged(
          *skipping, About(path_, absl::DataLossError(absl::StrCat(
                                      "job ", *skipping, " event ", sequence,
                                      " does not parse or does not match its key")))));
      job.clear();
      arena = std::make_unique<google::protobuf::Arena>();
      continue;
    }
    job.push_back(event);
  }
}

}  // namespace lrsched
