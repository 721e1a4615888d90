#include "service/store/state_backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"
#include "service/store/sqlite_statement.h"

namespace lrsched {
namespace {

// How long the copy waits for a lock the server holds for a moment (a
// checkpoint resetting the write-ahead log) before it gives up.
constexpr int kBusyTimeoutMs = 10'000;

absl::Status About(const std::string& path, const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
}

absl::Status ErrnoError(const std::string& what) {
  const std::string message = absl::StrCat(what, ": ", std::strerror(errno));
  switch (errno) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status CheckSource(const std::string& state_path) {
  if (state_path == ":memory:") {
    return absl::InvalidArgumentError("--state=:memory: keeps nothing to back up");
  }
  struct stat file;
  if (stat(state_path.c_str(), &file) != 0) {
    return About(state_path, ErrnoError("cannot read the state file"));
  }
  if (file.st_size == 0) {
    return About(state_path, absl::FailedPreconditionError(
                                 "the state file is empty (0 bytes): there is nothing to back up"));
  }
  return absl::OkStatus();
}

absl::Status CheckTarget(const std::string& out_path) {
  std::error_code error;
  if (std::filesystem::exists(out_path, error)) {
    return About(out_path, absl::AlreadyExistsError(
                               "already exists; a backup never overwrites a file: choose a new "
                               "name, or remove the old file first"));
  }
  const std::filesystem::path file(out_path);
  const std::filesystem::path directory = file.has_parent_path() ? file.parent_path() : ".";
  if (!std::filesystem::is_directory(directory, error)) {
    return About(out_path, absl::NotFoundError(
                               absl::StrCat("directory ", directory.string(), " does not exist")));
  }
  return absl::OkStatus();
}

absl::Status Exec(sqlite3* db, const char* sql) {
  const int code = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  return code == SQLITE_OK ? absl::OkStatus() : SqliteError(db, code, sql);
}

// Copies `source` into the empty database `copy` in one step: one read
// transaction on the source, so one snapshot. Copying in chunks would let
// each of the server's commits restart the copy from the beginning.
absl::Status CopyDatabase(sqlite3* source, sqlite3* copy) {
  sqlite3_backup* backup = sqlite3_backup_init(copy, "main", source, "main");
  if (backup == nullptr) {
    return SqliteError(copy, sqlite3_errcode(copy), "cannot start the copy");
  }
  const int step = sqlite3_backup_step(backup, -1);
  sqlite3_backup_finish(backup);
  if (step != SQLITE_DONE) {
    // The source's error when it was the reading that failed.
    const int source_code = sqlite3_errcode(source);
    return source_code != SQLITE_OK ? SqliteError(source, source_code, "cannot read it")
                                    : SqliteError(copy, step, "cannot write the copy");
  }
  return absl::OkStatus();
}

// The copy is lrsched's, whole, and a file of its own: the rollback journal
// rather than the source's write-ahead log, so that it needs no -wal beside it.
absl::Status CheckCopy(sqlite3* copy) {
  LRSCHED_RETURN_IF_ERROR(Exec(copy, "PRAGMA journal_mode = DELETE"));
  auto tables = SqliteStatement::Prepare(
      copy, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  if (!tables.ok()) return tables.status();
  auto row = tables->Step();
  if (!row.ok()) return row.status();
  if (!*row || tables->ColumnInt64(0) == 0) {
    return absl::FailedPreconditionError("not an lrsched state file (no schema_version table)");
  }
  auto check = SqliteStatement::Prepare(copy, "PRAGMA quick_check");
  if (!check.ok()) return check.status();
  row = check->Step();
  if (!row.ok()) return row.status();
  if (!*row || check->ColumnText(0) != "ok") {
    return absl::DataLossError(absl::StrCat("the copy does not pass SQLite's quick_check: ",
                                            *row ? check->ColumnText(0) : "no answer"));
  }
  return absl::OkStatus();
}

absl::Status SyncFile(const std::string& path, int flags) {
  const int fd = open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return ErrnoError(absl::StrCat("cannot open ", path));
  const bool synced = fsync(fd) == 0;
  absl::Status status = synced ? absl::OkStatus() : ErrnoError(absl::StrCat("cannot sync ", path));
  close(fd);
  return status;
}

// Copies into `partial`, an empty file, and checks the copy.
absl::Status BuildCopy(const std::string& state_path, const std::string& partial) {
  sqlite3* source = nullptr;
  int code = sqlite3_open_v2(state_path.c_str(), &source,
                             SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
                             nullptr);
  absl::Status status = code == SQLITE_OK
                            ? absl::OkStatus()
                            : About(state_path, SqliteError(source, code, "cannot open"));
  sqlite3* copy = nullptr;
  if (status.ok()) {
    sqlite3_busy_timeout(source, kBusyTimeoutMs);
    code = sqlite3_open_v2(partial.c_str(), &copy,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
                           nullptr);
    if (code != SQLITE_OK) status = About(partial, SqliteError(copy, code, "cannot open"));
  }
  if (status.ok()) status = About(state_path, CopyDatabase(source, copy));
  if (status.ok()) status = About(state_path, CheckCopy(copy));
  sqlite3_close(copy);
  sqlite3_close(source);
  if (status.ok()) status = SyncFile(partial, O_RDONLY);
  return status;
}

}  // namespace

absl::StatusOr<int64_t> BackupStateFile(const std::string& state_path,
                                        const std::string& out_path) {
  LRSCHED_RETURN_IF_ERROR(CheckSource(state_path));
  LRSCHED_RETURN_IF_ERROR(CheckTarget(out_path));
  std::string partial = out_path + ".partial-XXXXXX";
  const int fd = mkstemp(partial.data());
  if (fd < 0) return About(out_path, ErrnoError("cannot create the copy"));
  close(fd);
  absl::Status status = BuildCopy(state_path, partial);
  // link, unlike rename, fails rather than replace a file that appeared meanwhile.
  if (status.ok() && link(partial.c_str(), out_path.c_str()) != 0) {
    status = errno == EEXIST ? CheckTarget(out_path) : About(out_path, ErrnoError("cannot link"));
    if (status.ok()) status = About(out_path, absl::InternalError("cannot link the copy"));
  }
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    unlink(absl::StrCat(partial, suffix).c_str());
  }
  if (!status.ok()) return status;
  const std::filesystem::path file(out_path);
  LRSCHED_RETURN_IF_ERROR(SyncFile(
      file.has_parent_path() ? file.parent_path().string() : ".", O_RDONLY | O_DIRECTORY));
  std::error_code error;
  return static_cast<int64_t>(std::filesystem::file_size(out_path, error));
}

}  // namespace lrsched
