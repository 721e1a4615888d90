// The SQLite store on a disk that fills up: a small tmpfs of the test's own.
// Appends fail, no append of a job is stored after one of its appends
// failed, everything acknowledged stays, and once space is back the file
// reopens and replays without a hole. Needs to mount (root or
// CAP_SYS_ADMIN); skipped where it cannot.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/store/sqlite_event_store.h"
#include "tests/testing/small_disk.h"
#include "tests/testing/status_matchers.h"

namespace lrsched {
namespace {

namespace fs = std::filesystem;
using ::lrsched::testing::IsOk;
using ::lrsched::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!disk_.mounted()) GTEST_SKIP() << disk_.why();
    path_ = (disk_.path() / "state.db").string();
  }
  void Fill(off_t slack) { disk_.Fill(slack); }
  void MakeRoom() { disk_.MakeRoom(); }

  ::lrsched::testing::SmallDisk disk_{"4m"};
  std::string path_;
};

// `bytes` long, about.
v1::JobEvent Event(const std::string& job, int64_t sequence, size_t bytes = 0) {
  v1::JobEvent event;
  event.set_job_id(job);
  event.set_sequence(sequence);
  for (size_t i = 0; i < bytes / 8; ++i) event.mutable_created()->add_base_lrs(0.1 * i);
  if (bytes == 0) event.mutable_metric_reported()->set_step(sequence);
  return event;
}

// Appends queued without waiting for each other, and what became of them.
class Appends {
 public:
  explicit Appends(EventStore& store) : store_(store) {}
  void Queue(std::vector<v1::JobEvent> events) {
    auto done = std::make_shared<std::promise<absl::Status>>();
    pending_.push_back({events.front().job_id(), events.front().sequence(),
                        static_cast<int64_t>(events.size()), done->get_future()});
    store_.Append(std::move(events), [done](absl::Status status) { done->set_value(status); });
  }
  absl::Status Now(std::vector<v1::JobEvent> events) {
    Queue(std::move(events));
    Wait();
    return last_;
  }
  // Waits for every queued append; records each job's acknowledged events.
  void Wait() {
    for (Pending& append : pending_) {
      last_ = append.done.get();
      if (!last_.ok()) {
        ++failed_;
        continue;
      }
      for (int64_t i = 0; i < append.count; ++i) acknowledged_[append.job].push_back(append.first + i);
    }
    pending_.clear();
  }
  const std::map<std::string, std::vector<int64_t>>& acknowledged() const { return acknowledged_; }
  int failed() const { return failed_; }

 private:
  struct Pending {
    std::string job;
    int64_t first;
    int64_t count;
    std::future<absl::Status> done;
  };
  EventStore& store_;
  std::vector<Pending> pending_;
  std::map<std::string, std::vector<int64_t>> acknowledged_;
  absl::Status last_;
  int failed_ = 0;
};

// What a store tells its health listener, in order, while this lives.
class HealthTold {
 public:
  explicit HealthTold(SqliteEventStore& store) : store_(store) {
    store_.SetHealthListener([this](const absl::Status& writes) {
      std::lock_guard<std::mutex> lock(mu_);
      told_.push_back(writes.ok());
    });
  }
  ~HealthTold() { store_.SetHealthListener(nullptr); }

  std::vector<bool> told() const {
    std::lock_guard<std::mutex> lock(mu_);
    return told_;
  }

 private:
  SqliteEventStore& store_;
  mutable std::mutex mu_;
  std::vector<bool> told_;
};

std::map<std::string, std::vector<int64_t>> Stored(EventStore& store) {
  std::map<std::string, std::vector<int64_t>> jobs;
  EXPECT_THAT(store.LoadAll([&](absl::Span<v1::JobEvent* const> events) {
    for (const v1::JobEvent* event : events) jobs[event->job_id()].push_back(event->sequence());
    return absl::OkStatus();
  }),
              IsOk());
  return jobs;
}

TEST_F(DiskFullTest, NoAppendOfAJobIsStoredAfterAFailedOneAndTheLogReplaysOnceSpaceIsBack) {
  constexpr size_t kBig = 320 * 1024;
  auto store = SqliteEventStore::Open(path_);
  ASSERT_THAT(store, IsOk());
  Appends appends(**store);
  ASSERT_THAT(appends.Now({Event("a", 1)}), IsOk());
  ASSERT_THAT(appends.Now({Event("b", 1)}), IsOk());
  Fill(/*slack=*/96 * 1024);

  // One at a time: the big append does not fit; the job's next, small
  // enough to fit, is refused by the fence; another job still has room.
  EXPECT_THAT(appends.Now({Event("a", 2, kBig)}),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr(path_)));
  EXPECT_THAT(appends.Now({Event("a", 3)}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("job a"), HasSubstr("expected event 2"))));
  EXPECT_THAT(appends.Now({Event("b", 2)}), IsOk());

  // Queued together, as the job layer queues a job's appends while the
  // previous ones are not durable yet: group commits of several sizes.
  for (int64_t sequence = 3; sequence < 40; ++sequence) {
    appends.Queue({Event("b", sequence, sequence % 4 == 0 ? kBig : 0)});
    appends.Queue({Event("c", sequence - 2, sequence % 5 == 0 ? kBig / 4 : 0)});
  }
  appends.Wait();
  EXPECT_GT(appends.failed(), 2);
  // Acknowledged events are a prefix of each job's appends: after the first
  // failure of a job, none of its appends succeeded.
  for (const auto& [job, sequences] : appends.acknowledged()) {
    for (size_t i = 0; i < sequences.size(); ++i) {
      EXPECT_EQ(sequences[i], static_cast<int64_t>(i + 1)) << "job " << job;
    }
  }
  EXPECT_EQ(Stored(**store), appends.acknowledged());

  // Closed while the disk is still full (its checkpoint may fail), reopened
  // once there is room again: the log replays as acknowledged, no hole.
  store->reset();
  MakeRoom();
  store = SqliteEventStore::Open(path_);
  ASSERT_THAT(store, IsOk());
  const auto stored = Stored(**store);
  EXPECT_EQ(stored, appends.acknowledged());
  // And every job goes on where its log ends.
  Appends reopened(**store);
  for (const auto& [job, sequences] : stored) {
    EXPECT_THAT(reopened.Now({Event(job, static_cast<int64_t>(sequences.size()) + 1, kBig)}),
                IsOk())
        << "job " << job;
  }
}

TEST_F(DiskFullTest, AFailingStoreTellsItsListenerAndNoticesByItselfWhenWritesWorkAgain) {
  SqliteStoreOptions options;
  options.probe_interval = absl::Milliseconds(10);
  auto store = SqliteEventStore::Open(path_, options);
  ASSERT_THAT(store, IsOk());
  HealthTold health(**store);
  Appends appends(**store);
  ASSERT_THAT(appends.Now({Event("a", 1)}), IsOk());
  Fill(/*slack=*/0);
  EXPECT_THAT(appends.Now({Event("a", 2, 320 * 1024)}),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr(path_)));
  EXPECT_EQ(health.told(), std::vector<bool>{false}) << "told once, before the append's callback";
  // Nobody writes: the store's own probes find out that there is room.
  MakeRoom();
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline && health.told().size() < 2) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(health.told(), (std::vector<bool>{false, true}));
}

// Reads and flushes commit an empty transaction even on a full disk: they
// must not tell the listener that writes work again.
TEST_F(DiskFullTest, ReadsWhileTheDiskIsFullDoNotSayTheStoreIsHealthy) {
  SqliteStoreOptions options;
  options.probe_interval = absl::Hours(1);
  auto store = SqliteEventStore::Open(path_, options);
  ASSERT_THAT(store, IsOk());
  HealthTold health(**store);
  Appends appends(**store);
  ASSERT_THAT(appends.Now({Event("a", 1)}), IsOk());
  Fill(/*slack=*/0);
  // The first read's callback holds the writer until the others are queued,
  // so that they are taken as one batch (as the registry's revivals of
  // several jobs can be).
  appends.Queue({Event("a", 2, 320 * 1024)});
  std::promise<void> all_queued;
  std::promise<void> first_loaded;
  (*store)->LoadJob("a", [&](absl::StatusOr<absl::Span<v1::JobEvent* const>>) {
    all_queued.get_future().wait();
    first_loaded.set_value();
  });
  std::vector<std::future<void>> loaded;
  for (int i = 0; i < 8; ++i) {
    auto done = std::make_shared<std::promise<void>>();
    loaded.push_back(done->get_future());
    (*store)->LoadJob("a", [done](absl::StatusOr<absl::Span<v1::JobEvent* const>>) {
      done->set_value();
    });
  }
  all_queued.set_value();
  first_loaded.get_future().wait();
  appends.Wait();
  for (auto& load : loaded) load.wait();
  (*store)->Flush();
  EXPECT_EQ(health.told(), std::vector<bool>{false});
}

}  // namespace
}  // namespace lrsched
