// The SQLite event store against real files in a temporary directory.
#include "service/store/sqlite_event_store.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace lrsched {
namespace {

namespace fs = std::filesystem;
using ::lrsched::testing::IsOk;
using ::lrsched::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

class SqliteEventStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/lrsched-store-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    directory_ = pattern;
  }
  void TearDown() override {
    fs::permissions(directory_, fs::perms::owner_all);
    fs::remove_all(directory_);
  }
  std::string PathOf(const std::string& name) const { return (directory_ / name).string(); }

  fs::path directory_;
};

v1::JobEvent Event(const std::string& job, int64_t sequence, double value = 0) {
  v1::JobEvent event;
  event.set_job_id(job);
  event.set_sequence(sequence);
  if (sequence == 1) {
    event.mutable_created()->add_base_lrs(0.1);
  } else {
    event.mutable_metric_reported()->set_step(sequence);
    event.mutable_metric_reported()->set_value(value);
  }
  return event;
}

absl::Status AppendNow(EventStore& store, std::vector<v1::JobEvent> events) {
  std::promise<absl::Status> done;
  store.Append(std::move(events), [&done](absl::Status status) { done.set_value(status); });
  return done.get_future().get();
}

std::map<std::string, std::vector<v1::JobEvent>> LoadAll(EventStore& store) {
  std::map<std::string, std::vector<v1::JobEvent>> jobs;
  EXPECT_THAT(store.LoadAll([&](absl::Span<v1::JobEvent* const> events) {
    for (const v1::JobEvent* event : events) jobs[event->job_id()].push_back(*event);
    return absl::OkStatus();
  }),
              IsOk());
  return jobs;
}

std::string Contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(SqliteEventStoreTest, WhatIsAppendedIsLoadedAfterReopening) {
  const std::string path = PathOf("state.db");
  {
    auto store = SqliteEventStore::Open(path);
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT(AppendNow(**store, {Event("b", 1), Event("b", 2, 0.5)}), IsOk());
    ASSERT_THAT(AppendNow(**store, {Event("a", 1)}), IsOk());
    ASSERT_THAT(AppendNow(**store, {Event("b", 3, 0.25)}), IsOk());
  }
  auto store = SqliteEventStore::Open(path);
  ASSERT_THAT(store, IsOk());
  auto jobs = LoadAll(**store);
  ASSERT_EQ(jobs.size(), 2u);
  ASSERT_EQ(jobs["b"].size(), 3u);
  EXPECT_EQ(jobs["b"][2].metric_reported().value(), 0.25);
  EXPECT_EQ(jobs["a"].size(), 1u);
}

// A storage failure in the middle of a group commit: the failed append is
// rolled back to its savepoint, and an append of the same job queued behind
// it in the same transaction must not commit on top of the hole.
TEST_F(SqliteEventStoreTest, AnAppendFailingInsideABatchFencesItsJobsLaterAppends) {
  const std::string path = PathOf("state.db");
  { ASSERT_THAT(SqliteEventStore::Open(path), IsOk()); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TRIGGER fail BEFORE INSERT ON events WHEN NEW.job_id = 'a' AND "
                         "NEW.sequence = 2 BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  {
    auto store = SqliteEventStore::Open(path);
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT(AppendNow(**store, {Event("a", 1)}), IsOk());
    ASSERT_THAT(AppendNow(**store, {Event("b", 1)}), IsOk());
    // The writer runs `done` callbacks itself: holding it in one makes the
    // appends queued meanwhile one batch.
    absl::Notification holding, queued;
    std::promise<absl::Status> holder;
    (*store)->Append({Event("c", 1)}, [&](absl::Status status) {
      holding.Notify();
      queued.WaitForNotification();
      holder.set_value(status);
    });
    // Its transaction is counted before its callback runs.
    holding.WaitForNotification();
    std::promise<absl::Status> failed, behind, other;
    (*store)->Append({Event("a", 2)}, [&](absl::Status status) { failed.set_value(status); });
    (*store)->Append({Event("a", 3)}, [&](absl::Status status) { behind.set_value(status); });
    (*store)->Append({Event("b", 2)}, [&](absl::Status status) { other.set_value(status); });
    const int64_t transactions = (*store)->transactions();
    queued.Notify();
    ASSERT_THAT(holder.get_future().get(), IsOk());
    EXPECT_THAT(failed.get_future().get(), StatusIs(absl::StatusCode::kAlreadyExists,
                                                    HasSubstr("injected failure")));
    EXPECT_THAT(behind.get_future().get(),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         AllOf(HasSubstr(path), HasSubstr("job a"), HasSubstr("expected event 2"))));
    EXPECT_THAT(other.get_future().get(), IsOk());
    EXPECT_EQ((*store)->transactions(), transactions + 1) << "the three appends were one batch";
  }
  auto store = SqliteEventStore::Open(path);
  ASSERT_THAT(store, IsOk());
  auto jobs = LoadAll(**store);
  EXPECT_EQ(jobs["a"].size(), 1u);
  EXPECT_EQ(jobs["b"].size(), 2u);
}

TEST_F(SqliteEventStoreTest, DeletingAJobRemovesItsEvents) {
  const std::string path = PathOf("state.db");
  {
    auto store = SqliteEventStore::Open(path);
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT(AppendNow(**store, {Event("a", 1)}), IsOk());
    ASSERT_THAT(AppendNow(**store, {Event("b", 1)}), IsOk());
    std::promise<absl::Status> deleted;
    (*store)->DeleteJob("a", [&](absl::Status status) { deleted.set_value(status); });
    ASSERT_THAT(deleted.get_future().get(), IsOk());
  }
  auto store = SqliteEventStore::Open(path);
  ASSERT_THAT(store, IsOk());
  auto jobs = LoadAll(**store);
  EXPECT_EQ(jobs.count("a"), 0u);
  EXPECT_EQ(jobs.count("b"), 1u);
}

TEST_F(SqliteEventStoreTest, ConcurrentAppendsShareTransactions) {
  auto store = SqliteEventStore::Open(PathOf("state.db"));
  ASSERT_THAT(store, IsOk());
  constexpr int kWriters = 8;
  constexpr int kAppends = 200;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 1; i <= kAppends; ++i) {
        ASSERT_THAT(AppendNow(**store, {Event(absl::StrCat("job", w), i)}), IsOk());
      }
    });
  }
  for (auto& writer : writers) writer.join();
  // Each writer waits for its append before the next, so without grouping
  // there would be one transaction per append.
  EXPECT_LT((*store)->transactions(), kWriters * kAppends);
  auto jobs = LoadAll(**store);
  ASSERT_EQ(jobs.size(), static_cast<size_t>(kWriters));
  for (const auto& [id, events] : jobs) EXPECT_EQ(events.size(), static_cast<size_t>(kAppends));
}

TEST_F(SqliteEventStoreTest, InMemoryKeepsNothing) {
  {
    auto store = SqliteEventStore::Open(":memory:");
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT(AppendNow(**store, {Event("a", 1)}), IsOk());
    EXPECT_EQ(LoadAll(**store).size(), 1u);
  }
  auto store = SqliteEventStore::Open(":memory:");
  ASSERT_THAT(store, IsOk());
  EXPECT_TRUE(LoadAll(**store).empty());
}

TEST_F(SqliteEventStoreTest, AMissingDirectoryIsNotFoundNamingTheFile) {
  const std::string path = PathOf("no/such/dir/state.db");
  EXPECT_THAT(SqliteEventStore::Open(path),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr(absl::StrCat("state file ", path, ": directory"))));
}

// Opens `path` as an unprivileged user (root writes to read-only
// directories), in a child process; returns the status it got.
absl::Status OpenAsNobody(const std::string& path) {
  if (geteuid() != 0) return SqliteEventStore::Open(path).status();
  int result[2];
  if (pipe(result) != 0) return absl::InternalError("pipe");
  const pid_t child = fork();
  if (child == 0) {
    close(result[0]);
    int code = -1;
    std::string message;
    if (setgid(65534) == 0 && setuid(65534) == 0) {
      const absl::Status status = SqliteEventStore::Open(path).status();
      code = static_cast<int>(status.code());
      message = std::string(status.message());
    }
    (void)!write(result[1], &code, sizeof code);
    (void)!write(result[1], message.data(), message.size());
    _exit(0);
  }
  close(result[1]);
  int code = -1;
  std::string message(4096, '\0');
  (void)!read(result[0], &code, sizeof code);
  const ssize_t length = read(result[0], message.data(), message.size());
  close(result[0]);
  waitpid(child, nullptr, 0);
  if (code < 0) return absl::InternalError("the child could not drop privileges");
  message.resize(length > 0 ? length : 0);
  return absl::Status(static_cast<absl::StatusCode>(code), message);
}

TEST_F(SqliteEventStoreTest, AReadOnlyDirectoryIsPermissionDenied) {
  fs::permissions(directory_, fs::perms::owner_all | fs::perms::group_read |
                                  fs::perms::group_exec | fs::perms::others_read |
                                  fs::perms::others_exec);
  EXPECT_THAT(OpenAsNobody(PathOf("state.db")),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr(absl::StrCat("state file ", PathOf("state.db"), ": directory"))));
  EXPECT_FALSE(fs::exists(PathOf("state.db")));
}

TEST_F(SqliteEventStoreTest, AReadOnlyFileIsPermissionDeniedAndStaysUntouched) {
  const std::string path = PathOf("state.db");
  {
    auto store = SqliteEventStore::Open(path);
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT(AppendNow(**store, {Event("a", 1)}), IsOk());
  }
  fs::permissions(directory_, fs::perms::owner_all | fs::perms::others_all);
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
  const std::string before = Contents(path);
  EXPECT_THAT(OpenAsNobody(path), StatusIs(absl::StatusCode::kPermissionDenied,
                                           HasSubstr("not readable and writable")));
  EXPECT_EQ(Contents(path), before);
}

TEST_F(SqliteEventStoreTest, AFileThatIsNotADatabaseIsDataLossAndStaysUntouched) {
  const std::string path = PathOf("state.db");
  std::ofstream(path) << std::string(8192, 'x');
  const std::string before = Contents(path);
  EXPECT_THAT(SqliteEventStore::Open(path),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(absl::StrCat("state file ", path))));
  EXPECT_EQ(Contents(path), before);
}

TEST_F(SqliteEventStoreTest, ATruncatedDatabaseIsRefusedAndStaysUntouched) {
  const std::string path = PathOf("state.db");
  {
    auto store = SqliteEventStore::Open(path);
    ASSERT_THAT(store, IsOk());
    std::vector<v1::JobEvent> events;
    for (int i = 1; i <= 2000; ++i) events.push_back(Event("a", i, i));
    ASSERT_THAT(AppendNow(**store, std::move(events)), IsOk());
  }
  // Fold the WAL into the file, then cut the file in half.
  {
    auto store = SqliteEventStore::Open(path);
    ASSERT_THAT(store, IsOk());
  }
  fs::resize_file(path, fs::file_size(path) / 2);
  const std::string before = Contents(path);
  auto store = SqliteEventStore::Open(path);
  absl::Status status = store.ok() ? (*store)->LoadAll([](auto) { return absl::OkStatus(); })
                                   : store.status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)));
  store = absl::InternalError("closed");
  EXPECT_EQ(Contents(path), before);
}

TEST_F(SqliteEventStoreTest, ANewerSchemaVersionIsFailedPreconditionAndStaysUntouched) {
  const std::string path = PathOf("state.db");
  {
    auto store = SqliteEventStore::Open(path);
    ASSERT_THAT(store, IsOk());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA journal_mode = DELETE; UPDATE schema_version SET version = 7",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  const std::string before = Contents(path);
  EXPECT_THAT(SqliteEventStore::Open(path),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("newer lrsched (schema version 7); this one reads up to version 1")));
  EXPECT_EQ(Contents(path), before);
}

TEST_F(SqliteEventStoreTest, AnotherProgramsDatabaseIsRefused) {
  const std::string path = PathOf("other.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE photos (name TEXT)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_THAT(SqliteEventStore::Open(path),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not an lrsched state file")));
}

// Found by the state-file fuzzer (tests/fuzz/regressions/state_file): a
// column of lrsched's tables renamed was an INTERNAL error, and the file had
// been switched to WAL mode by then.
TEST_F(SqliteEventStoreTest, AFileWhoseTablesAreNotItsSchemaVersionsIsRefusedAndStaysUntouched) {
  const std::string path = PathOf("state.db");
  {
    auto store = SqliteEventStore::Open(path);
    ASSERT_THAT(store, IsOk());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA journal_mode = DELETE; "
                             "ALTER TABLE events RENAME COLUMN event TO payload",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  const std::string before = Contents(path);
  EXPECT_THAT(SqliteEventStore::Open(path),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("not an lrsched state file"),
                             HasSubstr("no column named event"))));
  EXPECT_EQ(Contents(path), before);
}

TEST_F(SqliteEventStoreTest, AnEventThatDoesNotParseIsDataLoss) {
  const std::string path = PathOf("state.db");
  {
    auto store = SqliteEventStore::Open(path);
    ASSERT_THAT(store, IsOk());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO events VALUES ('a', 1, x'ffffffff')", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = SqliteEventStore::Open(path);
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->LoadAll([](auto) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("job a event 1 does not parse")));
}

TEST_F(SqliteEventStoreTest, ASecondStoreOnTheSameFileIsRefusedNamingTheFileAndThePid) {
  const std::string path = PathOf("state.db");
  auto first = SqliteEventStore::Open(path);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(AppendNow(**first, {Event("a", 1)}), IsOk());
  EXPECT_THAT(SqliteEventStore::Open(path),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(absl::StrCat("state file ", path, ": in use")),
                             HasSubstr(absl::StrCat("pid ", getpid())))));
  // The lock leaves SQLite's readers alone: LoadAll reads on a second
  // connection.
  first->reset();
  auto second = SqliteEventStore::Open(path);
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(LoadAll(**second).size(), 1u);
}

TEST_F(SqliteEventStoreTest, AnEmptyFileIsRefusedAndStaysEmpty) {
  const std::string path = PathOf("state.db");
  std::ofstream{path};
  EXPECT_THAT(SqliteEventStore::Open(path),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(absl::StrCat("state file ", path)),
                             HasSubstr("empty (0 bytes)"), HasSubstr("Delete it to start afresh"),
                             HasSubstr("restore a backup"))));
  EXPECT_EQ(fs::file_size(path), 0u);
}

TEST_F(SqliteEventStoreTest, AWriteAheadLogWithoutItsFileIsRefused) {
  const std::string path = PathOf("state.db");
  // A server that dies leaves its write-ahead log; then the file alone is
  // moved away.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = SqliteEventStore::Open(path);
    _exit(store.ok() && AppendNow(**store, {Event("a", 1)}).ok() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_GT(fs::file_size(path + "-wal"), 0u);
  fs::rename(path, PathOf("moved.db"));
  EXPECT_THAT(SqliteEventStore::Open(path),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(absl::StrCat("state file ", path)),
                             HasSubstr(absl::StrCat("write-ahead log ", path, "-wal")))));
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(SqliteEventStoreTest, AFirstStartLeavesAWholeFileOrNone) {
  const std::string path = PathOf("state.db");
  // What a first start killed while building the file leaves behind.
  std::ofstream(path + ".new") << "half";
  {
    auto store = SqliteEventStore::Open(path);
    ASSERT_THAT(store, IsOk());
  }
  EXPECT_FALSE(fs::exists(path + ".new"));
  EXPECT_GT(fs::file_size(path), 0u);
  EXPECT_THAT(SqliteEventStore::Open(path), IsOk());
}

}  // namespace
}  // namespace lrsched
