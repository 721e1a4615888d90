// A prepared SQLite statement that finalizes itself.
//
// Not thread-safe: belongs to the thread that owns its database connection.
#ifndef LRSCHED_SERVICE_STORE_SQLITE_STATEMENT_H_
#define LRSCHED_SERVICE_STORE_SQLITE_STATEMENT_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lrsched {

class SqliteStatement {
 public:
  // INTERNAL (or DATA_LOSS for a corrupt file) with SQLite's message.
  static absl::StatusOr<SqliteStatement> Prepare(sqlite3* db, absl::string_view sql);

  SqliteStatement(SqliteStatement&& other) noexcept : statement_(other.statement_) {
    other.statement_ = nullptr;
  }
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  ~SqliteStatement();

  // Binds parameter `index` (1-based). The bound text or blob must outlive
  // the next Step() or Reset().
  void BindText(int index, absl::string_view text);
  void BindBlob(int index, absl::string_view blob);
  void BindInt64(int index, int64_t value);

  // Runs one step: true while a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Runs the statement to completion, ignoring rows.
  absl::Status Run();
  // Makes the statement ready to run again and clears its bindings.
  void Reset();

  int64_t ColumnInt64(int column) const;
  absl::string_view ColumnText(int column) const;
  absl::string_view ColumnBlob(int column) const;

 private:
  explicit SqliteStatement(sqlite3_stmt* statement) : statement_(statement) {}
  sqlite3_stmt* statement_;
};

// The status for a failed SQLite call: DATA_LOSS for a corrupt or foreign
// file, ALREADY_EXISTS for a constraint, INTERNAL otherwise.
absl::Status SqliteError(sqlite3* db, int code, absl::string_view what);

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_STORE_SQLITE_STATEMENT_H_
