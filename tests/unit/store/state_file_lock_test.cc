// The state file's lock: one holder at a time, named in the refusal, and
// released however the holder ends, kill -9 included.
#include "service/store/state_file_lock.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_directory.h"

namespace lrsched {
namespace {

namespace fs = std::filesystem;
using ::lrsched::testing::IsOk;
using ::lrsched::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

class StateFileLockTest : public ::testing::Test {
 protected:
  ::lrsched::testing::TempDirectory directory_;
  std::string state_ = directory_.File("state.db");
};

TEST_F(StateFileLockTest, ASecondHolderIsRefusedNamingTheFileAndThePid) {
  auto first = StateFileLock::Acquire(state_);
  ASSERT_THAT(first, IsOk());
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  // flock belongs to the open file: a second open in the same process
  // conflicts as a second process would.
  EXPECT_THAT(StateFileLock::Acquire(state_),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(absl::StrCat("pid ", getpid(), " on host ", host)),
                             HasSubstr(StateFileLock::LockPath(state_)))));
}

TEST_F(StateFileLockTest, ReleasedWhenDestroyedAndTheLockFileStays) {
  { ASSERT_THAT(StateFileLock::Acquire(state_), IsOk()); }
  EXPECT_TRUE(fs::exists(StateFileLock::LockPath(state_)));
  EXPECT_THAT(StateFileLock::Acquire(state_), IsOk());
}

TEST_F(StateFileLockTest, AHolderKilledWithSigkillReleasesIt) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    auto lock = StateFileLock::Acquire(state_);
    const char held = lock.ok() ? 'y' : 'n';
    (void)!write(ready[1], &held, 1);
    pause();  // until killed
    _exit(0);
  }
  close(ready[1]);
  char held = 0;
  ASSERT_EQ(read(ready[0], &held, 1), 1);
  close(ready[0]);
  ASSERT_EQ(held, 'y');
  EXPECT_THAT(StateFileLock::Acquire(state_),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(absl::StrCat("pid ", child))));
  kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_THAT(StateFileLock::Acquire(state_), IsOk());
}

TEST_F(StateFileLockTest, ALockFileWithoutAHolderIsTakenAndRewritten) {
  std::ofstream(StateFileLock::LockPath(state_)) << "999999999 some-other-host-with-a-long-name\n";
  auto lock = StateFileLock::Acquire(state_);
  ASSERT_THAT(lock, IsOk());
  std::ifstream in(StateFileLock::LockPath(state_));
  std::string pid;
  in >> pid;
  EXPECT_EQ(pid, absl::StrCat(getpid()));
}

}  // namespace
}  // namespace lrsched
