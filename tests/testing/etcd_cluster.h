// Real etcd members (Debian's /usr/bin/etcd) on loopback ports, with their
// data in a temporary directory: a store to test against, and one whose
// members a test can kill and start again.
#ifndef LRSCHED_TESTS_TESTING_ETCD_CLUSTER_H_
#define LRSCHED_TESTS_TESTING_ETCD_CLUSTER_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tests/testing/temp_directory.h"

namespace lrsched::testing {

class EtcdCluster {
 public:
  // Starts `members` members as one new cluster and waits until it answers.
  explicit EtcdCluster(int members = 1);
  // Kills every member still running.
  ~EtcdCluster();

  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // OK once every member answers; else why not (the test should stop).
  const absl::Status& status() const { return status_; }
  int size() const { return static_cast<int>(members_.size()); }
  // 127.0.0.1:PORT of each member's client address.
  std::vector<std::string> endpoints() const;
  std::string endpoint(int member) const;
  // The --store value for these members with `prefix`.
  std::string StoreAddress(const std::string& prefix = "/lrsched/") const;

  // Sends `signal` to a member and, for SIGKILL or SIGTERM, reaps it.
  void Stop(int member, int signal);
  // Starts a stopped member again on its data directory.
  absl::Status Restart(int member);
  bool running(int member) const { return members_[member].pid > 0; }
  // The index of the member that is leader, or -1 if none answers so.
  int Leader() const;
  // The last lines a member printed, for a failure message.
  std::string Log(int member) const;

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    pid_t pid = -1;
  };
  absl::Status Start(int member, bool new_cluster);
  absl::Status WaitUntilServing(int member, absl::Duration timeout) const;

  TempDirectory directory_;
  std::vector<Member> members_;
  std::string initial_cluster_;
  absl::Status status_;
};

}  // namespace lrsched::testing

#endif  // LRSCHED_TESTS_TESTING_ETCD_CLUSTER_H_
