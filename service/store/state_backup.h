// A consistent copy of a state file, taken while its server runs.
//
// Copying the file with cp while a server writes it gives a file that misses
// every change still in the write-ahead log (the -wal file), or a torn one.
// BackupStateFile reads the state with SQLite's online backup API instead:
// one read transaction, so one snapshot of every committed change, taken as
// any reader takes it: it neither needs the server's lock (StateFileLock) nor
// stops the server's writes.
//
// Thread-safe: each call has connections of its own.
#ifndef LRSCHED_SERVICE_STORE_STATE_BACKUP_H_
#define LRSCHED_SERVICE_STORE_STATE_BACKUP_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace lrsched {

// Copies the state file `state_path` (of a running server or not) to the new
// file `out_path` and returns the copy's size in bytes. The copy holds every
// change committed before the copy began, is one self-contained file (no
// -wal), and a server starts from it as from the original. It is built as
// `out_path`.partial-XXXXXX beside the target, checked (lrsched's schema,
// SQLite's quick_check), synced and only then linked to `out_path`, so
// `out_path` is never a partial copy and is never overwritten. Blocks for the
// copy. Errors name the file and the problem: NOT_FOUND (no state file, or
// no directory for the copy), ALREADY_EXISTS (`out_path` exists),
// FAILED_PRECONDITION (the state file is empty or not lrsched's),
// DATA_LOSS (corrupt), PERMISSION_DENIED, INVALID_ARGUMENT (":memory:").
absl::StatusOr<int64_t> BackupStateFile(const std::string& state_path,
                                        const std::string& out_path);

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_STORE_STATE_BACKUP_H_
