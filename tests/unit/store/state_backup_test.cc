// Backups of state files, taken while a store holds the file and writes it.
#include "service/store/state_backup.h"

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/store/sqlite_event_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_directory.h"

namespace lrsched {
namespace {

namespace fs = std::filesystem;
using ::lrsched::testing::IsOk;
using ::lrsched::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class StateBackupTest : public ::testing::Test {
 protected:
  std::string PathOf(const std::string& name) const { return directory_.File(name); }
  // Files in the directory but the state file's own.
  std::vector<std::string> OtherFiles() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(directory_.path())) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("state.db", 0) != 0) names.push_back(name);
    }
    return names;
  }

  ::lrsched::testing::TempDirectory directory_;
};

v1::JobEvent Event(const std::string& job, int64_t sequence) {
  v1::JobEvent event;
  event.set_job_id(job);
  event.set_sequence(sequence);
  event.mutable_metric_reported()->set_step(sequence);
  return event;
}

absl::Status AppendNow(EventStore& store, std::vector<v1::JobEvent> events) {
  std::promise<absl::Status> done;
  store.Append(std::move(events), [&done](absl::Status status) { done.set_value(status); });
  return done.get_future().get();
}

std::map<std::string, int64_t> Heads(EventStore& store) {
  std::map<std::string, int64_t> heads;
  EXPECT_THAT(store.LoadAll([&](absl::Span<v1::JobEvent* const> events) {
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i]->sequence(), static_cast<int64_t>(i + 1));
    }
    heads[events.front()->job_id()] = events.back()->sequence();
    return absl::OkStatus();
  }),
              IsOk());
  return heads;
}

std::string Contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(StateBackupTest, ACopyTakenWhileAStoreWritesHoldsWhatWasAcknowledgedBefore) {
  auto store = SqliteEventStore::Open(PathOf("state.db"));
  ASSERT_THAT(store, IsOk());
  for (int job = 0; job < 20; ++job) {
    ASSERT_THAT(AppendNow(**store, {Event(absl::StrCat("job", job), 1)}), IsOk());
  }
  // A writer keeps appending to job0 while the copy is taken.
  std::atomic<int64_t> acknowledged{1};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int64_t sequence = 2; !stop; ++sequence) {
      const absl::Status status = AppendNow(**store, {Event("job0", sequence)});
      EXPECT_THAT(status, IsOk());
      if (!status.ok()) break;
      acknowledged = sequence;
    }
    stop = true;
  });
  while (acknowledged < 50 && !stop) std::this_thread::yield();
  const int64_t before = acknowledged;
  auto bytes = BackupStateFile(PathOf("state.db"), PathOf("copy.db"));
  const int64_t after = acknowledged;
  stop = true;
  writer.join();
  ASSERT_THAT(bytes, IsOk());
  EXPECT_EQ(*bytes, static_cast<int64_t>(fs::file_size(PathOf("copy.db"))));
  EXPECT_FALSE(fs::exists(PathOf("copy.db-wal")));
  EXPECT_THAT(OtherFiles(), ::testing::ElementsAre("copy.db"))
      << "no partial copy is left";

  auto copy = SqliteEventStore::Open(PathOf("copy.db"));
  ASSERT_THAT(copy, IsOk());
  const auto heads = Heads(**copy);
  EXPECT_EQ(heads.size(), 20u);
  EXPECT_GE(heads.at("job0"), before);
  EXPECT_LE(heads.at("job0"), after + 1);
  // A copy goes on as a state file does.
  EXPECT_THAT(AppendNow(**copy, {Event("job0", heads.at("job0") + 1)}), IsOk());
}

TEST_F(StateBackupTest, ACopyOfAStoppedServersFileNeedsNoLock) {
  {
    auto store = SqliteEventStore::Open(PathOf("state.db"));
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT(AppendNow(**store, {Event("a", 1), Event("a", 2)}), IsOk());
  }
  const std::string before = Contents(PathOf("state.db"));
  ASSERT_THAT(BackupStateFile(PathOf("state.db"), PathOf("copy.db")), IsOk());
  EXPECT_EQ(Contents(PathOf("state.db")), before) << "a backup only reads";
  auto copy = SqliteEventStore::Open(PathOf("copy.db"));
  ASSERT_THAT(copy, IsOk());
  EXPECT_EQ(Heads(**copy), (std::map<std::string, int64_t>{{"a", 2}}));
}

TEST_F(StateBackupTest, AnExistingOutputIsNeverOverwritten) {
  { ASSERT_THAT(SqliteEventStore::Open(PathOf("state.db")), IsOk()); }
  std::ofstream(PathOf("copy.db")) << "precious";
  EXPECT_THAT(BackupStateFile(PathOf("state.db"), PathOf("copy.db")),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       AllOf(HasSubstr(PathOf("copy.db")), HasSubstr("never overwrites"))));
  EXPECT_EQ(Contents(PathOf("copy.db")), "precious");
  EXPECT_THAT(OtherFiles(), ::testing::ElementsAre("copy.db"));
}

TEST_F(StateBackupTest, WhatIsNotAStateFileIsRefusedNamingItAndLeavesNothing) {
  EXPECT_THAT(BackupStateFile(PathOf("state.db"), PathOf("copy.db")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(PathOf("state.db"))));
  std::ofstream{PathOf("state.db")};
  EXPECT_THAT(BackupStateFile(PathOf("state.db"), PathOf("copy.db")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(PathOf("state.db")), HasSubstr("empty"))));
  fs::remove(PathOf("state.db"));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(PathOf("state.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE photos (name TEXT)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_THAT(BackupStateFile(PathOf("state.db"), PathOf("copy.db")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(PathOf("state.db")), HasSubstr("not an lrsched state file"))));
  EXPECT_THAT(BackupStateFile(PathOf("state.db"), PathOf("no/such/dir/copy.db")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no/such/dir")));
  EXPECT_THAT(BackupStateFile(":memory:", PathOf("copy.db")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(":memory:")));
  EXPECT_THAT(OtherFiles(), IsEmpty());
}

}  // namespace
}  // namespace lrsched
