// The contract of event_store.h that every EventStore must keep, run against
// each implementation: the SQLite file, SQLite in memory, and etcd (one real
// member started for the test binary, a key prefix per test).
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/store/etcd_event_store.h"
#include "service/store/event_store.h"
#include "service/store/sqlite_event_store.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/status_matchers.h"

namespace lrsched {
namespace {

namespace fs = std::filesystem;
using ::lrsched::testing::IsOk;
using ::lrsched::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

struct StoreFactory {
  std::string name;
  // Opens a store that keeps its data in `directory` (or nowhere).
  std::function<std::unique_ptr<EventStore>(const fs::path& directory)> open;
};

const StoreFactory kStores[] = {
    {"SqliteFile",
     [](const fs::path& directory) -> std::unique_ptr<EventStore> {
       auto store = SqliteEventStore::Open((directory / "state.db").string());
       EXPECT_THAT(store, IsOk());
       return store.ok() ? *std::move(store) : nullptr;
     }},
    {"SqliteInMemory",
     [](const fs::path&) -> std::unique_ptr<EventStore> {
       auto store = SqliteEventStore::Open(":memory:");
       EXPECT_THAT(store, IsOk());
       return store.ok() ? *std::move(store) : nullptr;
     }},
    {"Etcd",
     [](const fs::path& directory) -> std::unique_ptr<EventStore> {
       // One member for every test of the binary: starting one takes longer
       // than the tests.
       static testing::EtcdCluster cluster(1);
       EXPECT_THAT(cluster.status(), IsOk());
       if (!cluster.status().ok()) return nullptr;
       EtcdStoreOptions options;
       options.endpoints = cluster.endpoints();
       options.prefix = absl::StrCat("/", directory.filename().string(), "/");
       auto store = EtcdEventStore::Open(options);
       EXPECT_THAT(store, IsOk());
       return store.ok() ? *std::move(store) : nullptr;
     }},
};

void PrintTo(const StoreFactory& store, std::ostream* out) { *out << store.name; }

class EventStoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/lrsched-conformance-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    directory_ = pattern;
    store_ = GetParam().open(directory_);
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(directory_);
  }

  // Queues an append and returns the future of its outcome, without waiting.
  std::future<absl::Status> Queue(std::vector<v1::JobEvent> events) {
    auto done = std::make_shared<std::promise<absl::Status>>();
    std::future<absl::Status> result = done->get_future();
    store_->Append(std::move(events), [done](absl::Status status) { done->set_value(status); });
    return result;
  }
  absl::Status AppendNow(std::vector<v1::JobEvent> events) {
    return Queue(std::move(events)).get();
  }
  absl::Status DeleteNow(const std::string& job) {
    std::promise<absl::Status> done;
    store_->DeleteJob(job, [&done](absl::Status status) { done.set_value(status); });
    return done.get_future().get();
  }
  // Each job's stored sequence numbers.
  std::map<std::string, std::vector<int64_t>> Sequences() {
    std::map<std::string, std::vector<int64_t>> jobs;
    EXPECT_THAT(store_->LoadAll([&](absl::Span<v1::JobEvent* const> events) {
      for (const v1::JobEvent* event : events) jobs[event->job_id()].push_back(event->sequence());
      return absl::OkStatus();
    }),
                IsOk());
    return jobs;
  }

  fs::path directory_;
  std::unique_ptr<EventStore> store_;
};

v1::JobEvent Event(const std::string& job, int64_t sequence) {
  v1::JobEvent event;
  event.set_job_id(job);
  event.set_sequence(sequence);
  if (sequence == 1) {
    event.mutable_created()->add_base_lrs(0.1);
  } else {
    event.mutable_metric_reported()->set_step(sequence);
  }
  return event;
}

TEST_P(EventStoreConformanceTest, AppendedEventsAreLoadedInOrderPerJob) {
  ASSERT_THAT(AppendNow({Event("b", 1), Event("b", 2)}), IsOk());
  ASSERT_THAT(AppendNow({Event("a", 1)}), IsOk());
  ASSERT_THAT(AppendNow({Event("b", 3)}), IsOk());
  EXPECT_EQ(Sequences(),
            (std::map<std::string, std::vector<int64_t>>{{"a", {1}}, {"b", {1, 2, 3}}}));
}

TEST_P(EventStoreConformanceTest, AnAppendThatDoesNotFollowTheLogFailsNamingTheExpectedEvent) {
  ASSERT_THAT(AppendNow({Event("a", 1)}), IsOk());
  EXPECT_THAT(AppendNow({Event("a", 3), Event("a", 4)}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("job a"), HasSubstr("expected event 2"))));
  EXPECT_EQ(Sequences()["a"], std::vector<int64_t>{1});
}

TEST_P(EventStoreConformanceTest, AnAppendQueuedBehindAFailedOneOfItsJobFails) {
  ASSERT_THAT(AppendNow({Event("a", 1)}), IsOk());
  // Queued together, without waiting: the second append of the job fails
  // because the first did, and leaves no hole; another job goes on.
  auto failed = Queue({Event("a", 2), Event("b", 3)});
  auto behind = Queue({Event("a", 3)});
  auto other = Queue({Event("b", 1)});
  EXPECT_THAT(failed.get(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("job a")));
  EXPECT_THAT(behind.get(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                     AllOf(HasSubstr("job a"), HasSubstr("expected event 2"))));
  EXPECT_THAT(other.get(), IsOk());
  EXPECT_EQ(Sequences()["a"], std::vector<int64_t>{1});
  // What is missing can still be appended.
  EXPECT_THAT(AppendNow({Event("a", 2), Event("a", 3)}), IsOk());
  EXPECT_EQ(Sequences()["a"], (std::vector<int64_t>{1, 2, 3}));
}

TEST_P(EventStoreConformanceTest, AnEventAlreadyStoredIsNotAppendedAgain) {
  ASSERT_THAT(AppendNow({Event("a", 1), Event("a", 2)}), IsOk());
  EXPECT_THAT(AppendNow({Event("a", 2)}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("expected event 3")));
  EXPECT_EQ(Sequences()["a"], (std::vector<int64_t>{1, 2}));
}

TEST_P(EventStoreConformanceTest, SequenceOneOntoAJobWithEventsFails) {
  ASSERT_THAT(AppendNow({Event("a", 1), Event("a", 2)}), IsOk());
  EXPECT_THAT(AppendNow({Event("a", 1)}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("job a"), HasSubstr("expected event 3"))));
  EXPECT_EQ(Sequences()["a"], (std::vector<int64_t>{1, 2}));
}

TEST_P(EventStoreConformanceTest, AfterDeleteJobTheJobStartsAgainAtSequenceOne) {
  ASSERT_THAT(AppendNow({Event("a", 1), Event("a", 2)}), IsOk());
  ASSERT_THAT(DeleteNow("a"), IsOk());
  EXPECT_THAT(AppendNow({Event("a", 2)}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("expected event 1")));
  EXPECT_THAT(AppendNow({Event("a", 1)}), IsOk());
  // A deletion and the new creation queued together keep their order.
  auto deleted = std::make_shared<std::promise<absl::Status>>();
  store_->DeleteJob("a", [deleted](absl::Status status) { deleted->set_value(status); });
  auto created = Queue({Event("a", 1)});
  EXPECT_THAT(deleted->get_future().get(), IsOk());
  EXPECT_THAT(created.get(), IsOk());
  EXPECT_EQ(Sequences()["a"], std::vector<int64_t>{1});
}

TEST_P(EventStoreConformanceTest, AnAppendMustBeOneJobsConsecutiveEvents) {
  EXPECT_THAT(AppendNow({Event("a", 1), Event("a", 3)}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("job a")));
  EXPECT_THAT(AppendNow({Event("a", 1), Event("b", 2)}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("job b")));
  EXPECT_THAT(AppendNow({Event("a", 0)}), StatusIs(absl::StatusCode::kInvalidArgument,
                                                   HasSubstr("not positive")));
  EXPECT_TRUE(Sequences().empty());
}

std::string StoreName(const ::testing::TestParamInfo<StoreFactory>& store) {
  return store.param.name;
}

TEST_P(EventStoreConformanceTest, LoadJobReadsOneJobAfterWhatWasQueuedBeforeIt) {
  ASSERT_THAT(AppendNow({Event("a", 1)}), IsOk());
  auto queued = Queue({Event("a", 2), Event("a", 3)});
  std::promise<std::vector<int64_t>> loaded;
  store_->LoadJob("a", [&](absl::StatusOr<absl::Span<v1::JobEvent* const>> events) {
    std::vector<int64_t> sequences;
    EXPECT_THAT(events.status(), IsOk());
    if (events.ok()) {
      for (const v1::JobEvent* event : *events) sequences.push_back(event->sequence());
    }
    loaded.set_value(sequences);
  });
  EXPECT_THAT(queued.get(), IsOk());
  EXPECT_EQ(loaded.get_future().get(), (std::vector<int64_t>{1, 2, 3}));
  std::promise<size_t> none;
  store_->LoadJob("nope", [&](absl::StatusOr<absl::Span<v1::JobEvent* const>> events) {
    none.set_value(events.ok() ? events->size() : 99);
  });
  EXPECT_EQ(none.get_future().get(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Stores, EventStoreConformanceTest, ::testing::ValuesIn(kStores),
                         StoreName);

}  // namespace
}  // namespace lrsched
