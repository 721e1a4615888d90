// One process at a time per state file: an exclusive flock(2) on a lock file
// beside it (STATE.lock), which holds the pid and host of the holder so that
// the refusal can name them.
//
// Why flock on a file of its own rather than SQLite's locking: with
// `PRAGMA locking_mode = EXCLUSIVE` in WAL mode, SQLite stops sharing its
// WAL index and keeps every other connection out, readers included, so the
// second connection of SqliteEventStore::LoadAll and lrsched-backup could no
// longer read a running server's file; and its refusal (SQLITE_BUSY) cannot
// say who holds the file. This lock leaves SQLite's own locking alone, so
// readers still read. The kernel drops a flock when the last descriptor of
// the open file goes, which happens however the process ends, kill -9
// included: a stale lock never blocks a restart. The lock file stays behind
// on purpose: removing it at exit would let a third process lock a new file
// of the same name while a second one still holds the old one.
//
// Thread-compatible.
#ifndef LRSCHED_SERVICE_STORE_STATE_FILE_LOCK_H_
#define LRSCHED_SERVICE_STORE_STATE_FILE_LOCK_H_

#include <string>

#include "absl/status/statusor.h"

namespace lrsched {

class StateFileLock {
 public:
  // Takes the lock of `state_path` without waiting, creating
  // `state_path`.lock if needed, and writes "PID HOST" into it. Errors:
  // FAILED_PRECONDITION when another process (or another open of this one)
  // holds it, naming the state file, the holder's pid and host and the lock
  // file; PERMISSION_DENIED or INTERNAL when the lock file cannot be opened.
  static absl::StatusOr<StateFileLock> Acquire(const std::string& state_path);

  StateFileLock(StateFileLock&& other) noexcept;
  StateFileLock& operator=(StateFileLock&& other) noexcept;
  // Releases the lock; the lock file stays.
  ~StateFileLock();

  // `state_path` + ".lock".
  static std::string LockPath(const std::string& state_path) { return state_path + ".lock"; }

 private:
  explicit StateFileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_STORE_STATE_FILE_LOCK_H_
