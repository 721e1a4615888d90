#include "service/server/waiting_calls.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace lrsched {
namespace {

using ::lrsched::testing::StatusIs;
using OnDrain = WaitingCalls::OnDrain;

// Records how a call ended, and how often.
struct Ending {
  absl::Status status;
  int times = 0;
  WaitingCalls::Call::End End() {
    return [this](const absl::Status& ended) {
      status = ended;
      ++times;
    };
  }
};

TEST(WaitingCallsTest, ACallAnsweredBeforeItWaitsIsNeverTracked) {
  WaitingCalls waiting;
  Ending ending;
  auto call = waiting.Begin(ending.End(), OnDrain::kRetry);
  call->Finish(absl::OkStatus());
  waiting.Wait(call);
  EXPECT_EQ(waiting.size(), 0);
  EXPECT_EQ(waiting.EndAll(), 0);
  EXPECT_TRUE(ending.status.ok());
  EXPECT_EQ(ending.times, 1);
}

TEST(WaitingCallsTest, AnAnsweredCallLeaves) {
  WaitingCalls waiting;
  Ending ending;
  auto call = waiting.Begin(ending.End(), OnDrain::kRetry);
  waiting.Wait(call);
  EXPECT_EQ(waiting.size(), 1);
  call->Finish(absl::NotFoundError("gone"));
  EXPECT_EQ(waiting.size(), 0);
  EXPECT_EQ(waiting.EndAll(), 0);
  EXPECT_THAT(ending.status, StatusIs(absl::StatusCode::kNotFound, "gone"));
  EXPECT_EQ(ending.times, 1);
}

TEST(WaitingCallsTest, TheDrainEndsAWaitingCallWithUnavailableAndItsAnswerIsDropped) {
  WaitingCalls waiting;
  Ending ending;
  auto call = waiting.Begin(ending.End(), OnDrain::kRetry);
  waiting.Wait(call);
  EXPECT_EQ(waiting.EndAll(), 1);
  EXPECT_THAT(ending.status, StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  EXPECT_FALSE(call->Claim());
  call->Finish(absl::OkStatus());
  EXPECT_EQ(ending.times, 1);
  EXPECT_EQ(waiting.size(), 0);
}

TEST(WaitingCallsTest, AnOverrideOfUnknownOutcomeEndsWithDeadlineExceeded) {
  WaitingCalls waiting;
  Ending ending;
  auto call = waiting.Begin(ending.End(), OnDrain::kUnknownOutcome);
  waiting.Wait(call);
  EXPECT_EQ(waiting.EndAll(), 1);
  EXPECT_THAT(ending.status, StatusIs(absl::StatusCode::kDeadlineExceeded,
                                      ::testing::HasSubstr("may or may not take effect")));
}

TEST(WaitingCallsTest, ACallThatWaitsAfterTheDrainEndsAtOnce) {
  WaitingCalls waiting;
  EXPECT_EQ(waiting.EndAll(), 0);
  Ending ending;
  auto call = waiting.Begin(ending.End(), OnDrain::kRetry);
  waiting.Wait(call);
  EXPECT_THAT(ending.status, StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  EXPECT_EQ(ending.times, 1);
  EXPECT_EQ(waiting.size(), 0);
}

TEST(WaitingCallsTest, AwaitNoneReturnsOnceTheLastCallIsAnswered) {
  WaitingCalls waiting;
  Ending ending;
  auto call = waiting.Begin(ending.End(), OnDrain::kRetry);
  waiting.Wait(call);
  absl::Notification drained;
  std::thread drain([&] {
    waiting.AwaitNone(absl::InfiniteFuture());
    drained.Notify();
  });
  EXPECT_FALSE(drained.HasBeenNotified());
  call->Finish(absl::OkStatus());
  drained.WaitForNotification();
  drain.join();
  EXPECT_EQ(waiting.size(), 0);
}

TEST(WaitingCallsTest, AwaitNoneGivesUpAtItsDeadline) {
  WaitingCalls waiting;
  Ending ending;
  auto call = waiting.Begin(ending.End(), OnDrain::kRetry);
  waiting.Wait(call);
  waiting.AwaitNone(absl::Now() + absl::Milliseconds(10));
  EXPECT_EQ(waiting.size(), 1);
  EXPECT_EQ(ending.times, 0);
  EXPECT_EQ(waiting.EndAll(), 1);
}

TEST(WaitingCallsTest, EveryCallEndsExactlyOnceWhenAnswersRaceTheDrain) {
  constexpr int kThreads = 4;
  constexpr int kCalls = 2000;
  WaitingCalls waiting;
  std::vector<std::atomic<int>> endings(kThreads * kCalls);
  absl::Notification halfway;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        std::atomic<int>& ended = endings[t * kCalls + i];
        auto call = waiting.Begin([&ended](const absl::Status&) { ended.fetch_add(1); },
                                  OnDrain::kRetry);
        // Half answer before they wait, half after.
        if (i % 2 == 0) call->Finish(absl::OkStatus());
        waiting.Wait(call);
        if (i % 2 == 1) call->Finish(absl::OkStatus());
        if (t == 0 && i == kCalls / 2) halfway.Notify();
      }
    });
  }
  // The drain runs while the calls come and go.
  halfway.WaitForNotification();
  waiting.EndAll();
  for (auto& thread : threads) thread.join();
  for (const auto& ended : endings) ASSERT_EQ(ended.load(), 1);
  EXPECT_EQ(waiting.size(), 0);
}

}  // namespace
}  // namespace lrsched
