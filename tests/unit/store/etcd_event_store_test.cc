// What the etcd store adds to the contract of event_store.h (which
// event_store_conformance_test checks): answers lost on the way, members
// that stop, writers that share a prefix, etcd's limits on one transaction.
// Against real etcd members, stopped with real signals.
#include "service/store/etcd_event_store.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <future>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/status_matchers.h"

namespace lrsched {
namespace {

using ::lrsched::testing::EtcdCluster;
using ::lrsched::testing::IsOk;
using ::lrsched::testing::IsOkAndHolds;
using ::lrsched::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

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

std::future<absl::Status> Queue(EventStore& store, std::vector<v1::JobEvent> events) {
  auto done = std::make_shared<std::promise<absl::Status>>();
  std::future<absl::Status> result = done->get_future();
  store.Append(std::move(events), [done](absl::Status status) { done->set_value(status); });
  return result;
}

absl::Status AppendNow(EventStore& store, std::vector<v1::JobEvent> events) {
  return Queue(store, std::move(events)).get();
}

// A job's sequence numbers as LoadJob reads them, or its error.
absl::StatusOr<std::vector<int64_t>> Loaded(EventStore& store, const std::string& job) {
  std::promise<absl::StatusOr<std::vector<int64_t>>> loaded;
  store.LoadJob(job, [&](absl::StatusOr<absl::Span<v1::JobEvent* const>> events) {
    if (!events.ok()) {
      loaded.set_value(events.status());
      return;
    }
    std::vector<int64_t> sequences;
    for (const v1::JobEvent* event : *events) sequences.push_back(event->sequence());
    loaded.set_value(sequences);
  });
  return loaded.get_future().get();
}

class EtcdEventStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_THAT(cluster_.status(), IsOk()); }

  EtcdStoreOptions Options() const {
    EtcdStoreOptions options;
    options.endpoints = cluster_.endpoints();
    options.prefix = "/test/";
    options.call_timeout = absl::Milliseconds(200);
    options.give_up_after = absl::Seconds(20);
    options.probe_interval = absl::Milliseconds(100);
    return options;
  }
  std::unique_ptr<EtcdEventStore> Open(const EtcdStoreOptions& options) {
    auto store = EtcdEventStore::Open(options);
    EXPECT_THAT(store, IsOk());
    return store.ok() ? *std::move(store) : nullptr;
  }
  // Writes a key behind the store's back.
  void Put(const std::string& key, const std::string& value) {
    auto kv = etcdserverpb::KV::NewStub(
        grpc::CreateChannel(cluster_.endpoint(0), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value(value);
    etcdserverpb::PutResponse response;
    ASSERT_TRUE(kv->Put(&context, request, &response).ok());
  }

  EtcdCluster cluster_{1};
};

TEST_F(EtcdEventStoreTest, AnAppendWhoseAnswerWasLostIsSentAgainAndAnsweredOk) {
  auto store = Open(Options());
  ASSERT_THAT(AppendNow(*store, {Event("a", 1)}), IsOk());
  // The member takes the request into its socket but answers nothing while
  // stopped: the store's calls time out and are sent again; once it runs,
  // the first send commits and the later ones find the records already in.
  cluster_.Stop(0, SIGSTOP);
  auto appended = Queue(*store, {Event("a", 2), Event("a", 3)});
  absl::SleepFor(absl::Milliseconds(700));
  cluster_.Stop(0, SIGCONT);
  EXPECT_THAT(appended.get(), IsOk());
  EXPECT_THAT(Loaded(*store, "a"), IsOkAndHolds(ElementsAre(1, 2, 3)));
  EXPECT_THAT(AppendNow(*store, {Event("a", 4)}), IsOk());
}

TEST_F(EtcdEventStoreTest, AfterGivingUpTheOutcomeIsUnknownAndTheHeadStillFences) {
  EtcdStoreOptions options = Options();
  options.give_up_after = absl::Milliseconds(600);
  auto store = Open(options);
  std::vector<absl::Status> health;
  std::mutex health_mu;
  store->SetHealthListener([&](const absl::Status& status) {
    std::lock_guard<std::mutex> lock(health_mu);
    health.push_back(status);
  });
  // The job is created through a store of the usual patience, and the
  // impatient one has its connection up before the member stops: on a slow
  // machine or build, its first call alone may take longer than 600 ms.
  auto steady = Open(Options());
  ASSERT_THAT(AppendNow(*steady, {Event("a", 1)}), IsOk());
  absl::StatusOr<std::vector<int64_t>> seen = Loaded(*store, "a");
  for (const absl::Time until = absl::Now() + absl::Seconds(20); !seen.ok() && absl::Now() < until;
       seen = Loaded(*store, "a")) {
  }
  ASSERT_THAT(seen, IsOkAndHolds(ElementsAre(1)));
  cluster_.Stop(0, SIGSTOP);
  EXPECT_THAT(AppendNow(*store, {Event("a", 2, 0.5)}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("unknown")));
  cluster_.Stop(0, SIGCONT);
  // The probe tells the listener that writes work again.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(health_mu);
      if (health.size() >= 2) break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  {
    std::lock_guard<std::mutex> lock(health_mu);
    ASSERT_GE(health.size(), 2u);
    EXPECT_THAT(health[0], StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
    EXPECT_THAT(health[1], IsOk());
  }
  // Whether the member took the write depends on when it saw the cancel
  // behind it; either way, sending the same append again is answered OK
  // (the records are the append's own, or it commits now) and another
  // event 2 is refused: nothing is written twice, over, or after a hole.
  // Through the store of the usual patience: a member just resumed on a busy
  // machine may take longer than the first one's 600 ms to answer.
  auto after = Loaded(*steady, "a");
  ASSERT_THAT(after, IsOk());
  EXPECT_THAT(*after, ::testing::AnyOf(ElementsAre(1), ElementsAre(1, 2)));
  EXPECT_THAT(AppendNow(*steady, {Event("a", 2, 0.5)}), IsOk());
  EXPECT_THAT(AppendNow(*steady, {Event("a", 2, 0.75)}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("expected event 3")));
  EXPECT_THAT(Loaded(*steady, "a"), IsOkAndHolds(ElementsAre(1, 2)));
}

TEST_F(EtcdEventStoreTest, TwoWritersOfOnePrefixNeverLeaveAHoleOrOverwrite) {
  auto first = Open(Options());
  auto second = Open(Options());
  ASSERT_THAT(AppendNow(*first, {Event("a", 1), Event("a", 2, 0.5)}), IsOk());
  // The second writer has not seen event 2: its own event 2 is refused.
  EXPECT_THAT(AppendNow(*second, {Event("a", 2, 0.25)}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("job a"), HasSubstr("expected event 3"))));
  EXPECT_THAT(AppendNow(*second, {Event("a", 3, 0.5)}), IsOk());
  EXPECT_THAT(AppendNow(*first, {Event("a", 3, 0.25)}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("expected event 4")));
  EXPECT_THAT(Loaded(*first, "a"), IsOkAndHolds(ElementsAre(1, 2, 3)));
}

TEST_F(EtcdEventStoreTest, AFencedStoreWritesNothingOnceItsFenceKeyNamesAnother) {
  Put("/test/leader", "replica-a 1");
  EtcdStoreOptions options = Options();
  options.fence_key = "/test/leader";
  options.fence_value = "replica-a 1";
  auto leader = Open(options);
  ASSERT_THAT(AppendNow(*leader, {Event("a", 1)}), IsOk());
  // Another replica took the lead: the old leader's next append, and the
  // deletion queued behind it, store nothing, whatever it believes.
  Put("/test/leader", "replica-b 2");
  EXPECT_THAT(AppendNow(*leader, {Event("a", 2)}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("no longer leads")));
  std::promise<absl::Status> deleted;
  leader->DeleteJob("a", [&](absl::Status status) { deleted.set_value(status); });
  EXPECT_THAT(deleted.get_future().get(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("no longer leads")));
  options.fence_value = "replica-b 2";
  auto next = Open(options);
  EXPECT_THAT(Loaded(*next, "a"), IsOkAndHolds(ElementsAre(1)));
  EXPECT_THAT(AppendNow(*next, {Event("a", 2)}), IsOk());
}

TEST_F(EtcdEventStoreTest, ManyJobsAndLongRunsOfOneJobAreCutAtEtcdsLimits) {
  auto store = Open(Options());
  // Queued at once: more jobs than one transaction takes, and more appends
  // of one job than one nested transaction takes, the long job's appends
  // spread over transactions that are sent together with others, so that
  // each of its transactions must wait for the one before.
  std::vector<std::future<absl::Status>> appended;
  int64_t long_sequence = 0;
  for (int64_t round = 1; round <= 2; ++round) {
    for (int job = 0; job < 300; ++job) {
      appended.push_back(Queue(*store, {Event(absl::StrCat("job", job), round)}));
      if (job % 3 == 0) appended.push_back(Queue(*store, {Event("long", ++long_sequence)}));
    }
  }
  while (long_sequence < 400) {
    appended.push_back(Queue(*store, {Event("long", ++long_sequence)}));
  }
  for (auto& status : appended) EXPECT_THAT(status.get(), IsOk());
  size_t jobs = 0;
  std::vector<int64_t> long_job;
  ASSERT_THAT(store->LoadAll([&](absl::Span<v1::JobEvent* const> events) {
    ++jobs;
    if (events.front()->job_id() == "long") {
      for (const v1::JobEvent* event : events) long_job.push_back(event->sequence());
    } else {
      EXPECT_EQ(events.size(), 2u) << events.front()->job_id();
    }
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_EQ(jobs, 301u);
  ASSERT_EQ(long_job.size(), 400u);
  EXPECT_EQ(long_job.back(), 400);
  EXPECT_GE(store->transactions(), 4);
}

TEST_F(EtcdEventStoreTest, AnAppendLargerThanOneRequestIsRefusedAndItsJobGoesNoFurther) {
  EtcdStoreOptions options = Options();
  options.max_batch_bytes = 4096;
  auto store = Open(options);
  ASSERT_THAT(AppendNow(*store, {Event("a", 1)}), IsOk());
  std::vector<v1::JobEvent> large;
  for (int64_t sequence = 2; sequence < 400; ++sequence) large.push_back(Event("a", sequence));
  auto refused = Queue(*store, large);
  auto behind = Queue(*store, {Event("a", 400)});
  auto other = Queue(*store, {Event("b", 1)});
  EXPECT_THAT(refused.get(), StatusIs(absl::StatusCode::kResourceExhausted,
                                      AllOf(HasSubstr("job a"), HasSubstr("4096"))));
  EXPECT_THAT(behind.get(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("expected event 2")));
  EXPECT_THAT(other.get(), IsOk());
  EXPECT_THAT(Loaded(*store, "a"), IsOkAndHolds(ElementsAre(1)));
}

TEST_F(EtcdEventStoreTest, AJobWhoseKeysDoNotParseIsPassedAsDamagedAndTheOthersLoad) {
  {
    auto store = Open(Options());
    ASSERT_THAT(AppendNow(*store, {Event("good", 1)}), IsOk());
    ASSERT_THAT(AppendNow(*store, {Event("bad", 1), Event("bad", 2)}), IsOk());
  }
  Put("/test/jobs/bad/e/00000000000000000001", "not events");
  auto store = Open(Options());
  std::vector<std::string> visited;
  std::map<std::string, absl::Status> damaged;
  ASSERT_THAT(store->LoadAll(
                  [&](absl::Span<v1::JobEvent* const> events) {
                    visited.push_back(events.front()->job_id());
                    return absl::OkStatus();
                  },
                  [&](const std::string& job, absl::Status problem) {
                    damaged[job] = problem;
                    return absl::OkStatus();
                  }),
              IsOk());
  EXPECT_THAT(visited, ElementsAre("good"));
  ASSERT_EQ(damaged.count("bad"), 1u);
  EXPECT_THAT(damaged["bad"], StatusIs(absl::StatusCode::kDataLoss,
                                       AllOf(HasSubstr("job bad"), HasSubstr("does not parse"))));
  EXPECT_THAT(Loaded(*store, "bad"), StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
}

TEST_F(EtcdEventStoreTest, APrefixOfANewerLayoutIsRefused) {
  Put("/newer/schema", "2");
  EtcdStoreOptions options = Options();
  options.prefix = "/newer/";
  EXPECT_THAT(EtcdEventStore::Open(options),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("layout version 2"), HasSubstr("/newer/"))));
}

TEST(EtcdEventStoreOpenTest, NoMemberAnsweringIsUnavailableNamingTheEndpoints) {
  EtcdStoreOptions options;
  options.endpoints = {"127.0.0.1:1"};
  options.call_timeout = absl::Milliseconds(300);
  const absl::Time started = absl::Now();
  EXPECT_THAT(EtcdEventStore::Open(options),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("etcd://127.0.0.1:1/lrsched/")));
  EXPECT_LT(absl::Now() - started, absl::Seconds(5));
}

TEST(EtcdEventStoreClusterTest, AppendsGoOnWhenTheMemberInUseDies) {
  EtcdCluster cluster(3);
  ASSERT_THAT(cluster.status(), IsOk());
  EtcdStoreOptions options;
  options.endpoints = cluster.endpoints();
  options.call_timeout = absl::Milliseconds(500);
  auto opened = EtcdEventStore::Open(options);
  ASSERT_THAT(opened, IsOk());
  EventStore& store = **opened;
  ASSERT_THAT(AppendNow(store, {Event("a", 1)}), IsOk());
  // The store starts on the first endpoint; the leader may be any member.
  cluster.Stop(0, SIGKILL);
  for (int64_t sequence = 2; sequence <= 20; ++sequence) {
    ASSERT_THAT(AppendNow(store, {Event("a", sequence)}), IsOk()) << "event " << sequence;
  }
  const int leader = cluster.Leader();
  ASSERT_NE(leader, -1);
  cluster.Stop(leader, SIGKILL);
  // One member of three left: no quorum. The write waits, and is taken once
  // a second member is back.
  auto waiting = Queue(store, {Event("a", 21)});
  ASSERT_THAT(cluster.Restart(0), IsOk());
  EXPECT_THAT(waiting.get(), IsOk());
  EXPECT_THAT(Loaded(store, "a"), IsOkAndHolds(::testing::SizeIs(21)));
}

}  // namespace
}  // namespace lrsched
