// An EventStore on etcd v3: every job's log in an etcd cluster, so that the
// state outlives any one machine and several servers can share it.
//
// Keys, under a prefix of the operator's choosing:
//   PREFIX schema             the layout version ("1")
//   PREFIX jobs/ID/e/SEQ      one append: its events, each length-delimited,
//                             SEQ the first one's sequence, 20 digits
//   PREFIX jobs/ID/head       the sequence of the job's last event, decimal
// Job ids hold no '/' (the server's rule), so one job's keys are one range.
//
// An append is a transaction comparing the job's head with the event before
// its first (no head at all for event 1) and putting the record and the new
// head, so that the log never has a hole even with several writers. One
// writer thread commits everything queued as one transaction holding one
// nested transaction per job (group commit; etcd takes at most 128
// operations in a transaction, a nested one's counted with its parent's).
//
// Unknown outcomes: a transaction whose answer is lost (a timeout, a leader
// lost) may still have been committed. The writer then sends the same
// transaction again, to the next endpoint, until it gets an answer; since
// each job's compare fails once its records are in, the failure branch reads
// the head and the records back, and records equal to the append's own mean
// it was committed (OK), not refused. After `give_up_after` without an
// answer the batch fails with UNAVAILABLE and its outcome stays unknown: the
// head compare keeps the next append of such a job from leaving a hole.
//
// Thread-safe.
#ifndef LRSCHED_SERVICE_STORE_ETCD_EVENT_STORE_H_
#define LRSCHED_SERVICE_STORE_ETCD_EVENT_STORE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "service/store/event_store.h"
#include "service/store/write_queue.h"

namespace lrsched {

struct EtcdStoreOptions {
  // host:port of each member; calls go to one at a time, the next one after
  // an error.
  std::vector<std::string> endpoints;
  // Every key starts with it; several installations can share one cluster.
  std::string prefix = "/lrsched/";
  // How long one call to etcd may take before it is sent again elsewhere.
  absl::Duration call_timeout = absl::Seconds(2);
  // How long a batch is sent again before it fails with UNAVAILABLE.
  absl::Duration give_up_after = absl::Seconds(15);
  // While writes fail, how often the store tries a small one of its own.
  absl::Duration probe_interval = absl::Seconds(1);
  // The most bytes of events in one transaction. etcd refuses requests over
  // its --max-request-bytes (1.5 MiB by default); an append larger than this
  // alone is refused with RESOURCE_EXHAUSTED.
  int64_t max_batch_bytes = 1 << 20;
  // When set, every write also compares the value of `fence_key` with
  // `fence_value` (the key of the replica that leads, etcd_leadership.h) and
  // fails with UNAVAILABLE when it differs: a replica that no longer leads
  // writes nothing, whatever it still believes.
  std::string fence_key;
  std::string fence_value;
};

class EtcdEventStore final : public EventStore {
 public:
  static constexpr int64_t kSchemaVersion = 1;
  // etcd's default --max-txn-ops: the operations of a transaction, where a
  // nested transaction gets what its parent's leave.
  static constexpr size_t kMaxTxnOps = 128;

  // Connects and checks the layout version under the prefix (writing it on
  // a first start). UNAVAILABLE naming the endpoints when no member answers
  // within call_timeout; FAILED_PRECONDITION when the prefix holds a newer
  // layout; INVALID_ARGUMENT for no endpoints or an empty prefix.
  static absl::StatusOr<std::unique_ptr<EtcdEventStore>> Open(const EtcdStoreOptions& options);

  // Writes what is queued (or gives up on it), then closes.
  ~EtcdEventStore() override;

  void Append(std::vector<v1::JobEvent> events, Done done) override {
    queue_.Append(std::move(events), std::move(done));
  }
  void DeleteJob(std::string job_id, Done done) override {
    queue_.DeleteJob(std::move(job_id), std::move(done));
  }
  using EventStore::LoadAll;
  absl::Status LoadAll(Visit visit, Damaged damaged) override;
  void LoadJob(std::string job_id, Loaded done) override {
    queue_.LoadJob(std::move(job_id), std::move(done));
  }
  void SetHealthListener(HealthListener listener) override {
    queue_.SetHealthListener(std::move(listener));
  }
  void Flush() override { queue_.Flush(); }
  const Stats* stats() const override { return &stats_; }

  // Where it keeps its keys, as --store names it: etcd://HOST:PORT,.../PREFIX.
  std::string address() const;
  // Transactions committed so far, retries not counted.
  int64_t transactions() const;

 private:
  using Operation = WriteQueue::Operation;
  // One job's appends of a batch, contiguous, written by one nested
  // transaction.
  struct JobWrite;

  explicit EtcdEventStore(const EtcdStoreOptions& options);
  void WriterLoop();
  // Commits the writes of `batch` (appends and deletions, none of a job
  // twice) and runs their callbacks.
  void Commit(std::vector<Operation*>& batch);
  // Sends `request` until etcd answers, rotating endpoints; UNAVAILABLE
  // once give_up_after has passed.
  absl::Status Send(const etcdserverpb::TxnRequest& request, etcdserverpb::TxnResponse* response);
  absl::Status Range(const std::string& key, const std::string& range_end, int64_t revision,
                     int64_t limit, etcdserverpb::RangeResponse* response);
  void Load(const std::string& job_id, Loaded done);
  absl::Status Probe();
  absl::Status CheckSchema();

  etcdserverpb::KV::Stub& kv();
  void NextEndpoint();

  std::string JobPrefix(const std::string& job_id) const;
  std::string HeadKey(const std::string& job_id) const;
  std::string RecordKey(const std::string& job_id, int64_t first_sequence) const;

  const EtcdStoreOptions options_;
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs_;
  // The endpoint in use; the writer's and LoadAll's (before any write).
  std::mutex endpoint_mu_;
  size_t endpoint_ = 0;

  WriteQueue queue_;
  std::atomic<int64_t> transactions_{0};
  Stats stats_;
  std::thread writer_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_STORE_ETCD_EVENT_STORE_H_
