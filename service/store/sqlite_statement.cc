#include "service/store/sqlite_statement.h"

#include "absl/strings/str_cat.h"

namespace lrsched {

absl::Status SqliteError(sqlite3* db, int code, absl::string_view what) {
  const std::string message =
      absl::StrCat(what, ": ", db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code));
  switch (code & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(message);
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      return absl::PermissionDeniedError(message);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::StatusOr<SqliteStatement> SqliteStatement::Prepare(sqlite3* db, absl::string_view sql) {
  sqlite3_stmt* statement = nullptr;
  const int code =
      sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &statement, nullptr);
  if (code != SQLITE_OK) return SqliteError(db, code, absl::StrCat("preparing ", sql));
  return SqliteStatement(statement);
}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(statement_);
    statement_ = other.statement_;
    other.statement_ = nullptr;
  }
  return *this;
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(statement_); }

void SqliteStatement::BindText(int index, absl::string_view text) {
  sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()),
                    SQLITE_STATIC);
}

void SqliteStatement::BindBlob(int index, absl::string_view blob) {
  sqlite3_bind_blob(statement_, index, blob.data(), static_cast<int>(blob.size()),
                    SQLITE_STATIC);
}

void SqliteStatement::BindInt64(int index, int64_t value) {
  sqlite3_bind_int64(statement_, index, value);
}

absl::StatusOr<bool> SqliteStatement::Step() {
  const int code = sqlite3_step(statement_);
  if (code == SQLITE_ROW) return true;
  if (code == SQLITE_DONE) return false;
  return SqliteError(sqlite3_db_handle(statement_), code,
                     absl::StrCat("running ", sqlite3_sql(statement_)));
}

absl::Status SqliteStatement::Run() {
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

void SqliteStatement::Reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

int64_t SqliteStatement::ColumnInt64(int column) const {
  return sqlite3_column_int64(statement_, column);
}

absl::string_view SqliteStatement::ColumnText(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
  return absl::string_view(text == nullptr ? "" : text,
                           static_cast<size_t>(sqlite3_column_bytes(statement_, column)));
}

absl::string_view SqliteStatement::ColumnBlob(int column) const {
  const auto* blob = static_cast<const char*>(sqlite3_column_blob(statement_, column));
  return absl::string_view(blob == nullptr ? "" : blob,
                           static_cast<size_t>(sqlite3_column_bytes(statement_, column)));
}

}  // namespace lrsched
