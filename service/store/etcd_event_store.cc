#include "service/store/etcd_event_store.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "service/common/status_macros.h"
#include "service/store/append_rules.h"

namespace lrsched {
namespace {

using etcdserverpb::Compare;
using etcdserverpb::RangeResponse;
using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;
using etcdserverpb::TxnResponse;

// The first key after every key that starts with `prefix`.
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    if (static_cast<unsigned char>(prefix.back()) != 0xff) {
      prefix.back() = static_cast<char>(prefix.back() + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // every key
}

// What etcd (or the way to it) answered, as a status of ours. Codes that say
// the call may not have reached a leader are retried by Send.
absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat("etcd: ", status.error_message()));
}

bool MayRetry(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kCancelled:
      return true;
    default:
      return false;
  }
}

std::string EncodeRecord(const std::vector<v1::JobEvent>& events) {
  std::string record;
  google::protobuf::io::StringOutputStream out(&record);
  for (const v1::JobEvent& event : events) {
    google::protobuf::util::SerializeDelimitedToZeroCopyStream(event, &out);
  }
  return record;
}

// Reads one job's keys (records, then the head, in key order) into events
// on `arena`: DATA_LOSS unless they are the job's events 1..head.
class JobReader {
 public:
  JobReader(std::string job_id, google::protobuf::Arena* arena)
      : job_id_(std::move(job_id)), arena_(arena) {}

  // `kind` is what follows the job's prefix: "e/SEQ" or "head".
  absl::Status Add(absl::string_view kind, absl::string_view value) {
    if (head_) return Damaged(absl::StrCat("key ", kind, " after its head"));
    if (kind == "head") {
      int64_t head = 0;
      if (!absl::SimpleAtoi(value, &head)) return Damaged("its head is not a number");
      head_ = head;
      return absl::OkStatus();
    }
    int64_t first = 0;
    if (!absl::ConsumePrefix(&kind, "e/") || !absl::SimpleAtoi(kind, &first)) {
      return Damaged(absl::StrCat("unknown key ", kind));
    }
    const int64_t expected = static_cast<int64_t>(events_.size()) + 1;
    if (first != expected) {
      return Damaged(absl::StrCat("a record starts at event ", first, ", expected ", expected));
    }
    google::protobuf::io::ArrayInputStream bytes(value.data(), static_cast<int>(value.size()));
    google::protobuf::io::CodedInputStream in(&bytes);
    while (true) {
      auto* event = google::protobuf::Arena::CreateMessage<v1::JobEvent>(arena_);
      bool clean_eof = false;
      if (!google::protobuf::util::ParseDelimitedFromCodedStream(event, &in, &clean_eof)) {
        if (clean_eof) break;
        return Damaged(absl::StrCat("event ", events_.size() + 1, " does not parse"));
      }
      const int64_t sequence = static_cast<int64_t>(events_.size()) + 1;
      if (event->job_id() != job_id_ || event->sequence() != sequence) {
        return Damaged(absl::StrCat("event ", sequence, " does not match its key"));
      }
      events_.push_back(event);
    }
    return absl::OkStatus();
  }

  // The events, once every key of the job has been added.
  absl::StatusOr<absl::Span<v1::JobEvent* const>> Finish() {
    if (events_.empty() && !head_) return absl::Span<v1::JobEvent* const>();
    const int64_t last = static_cast<int64_t>(events_.size());
    if (!head_ || *head_ != last) {
      return Damaged(absl::StrCat("its head says ", head_ ? absl::StrCat(*head_) : "nothing",
                                  " but its records end at event ", last));
    }
    return absl::Span<v1::JobEvent* const>(events_);
  }

  const std::string& job_id() const { return job_id_; }

 private:
  absl::Status Damaged(absl::string_view problem) const {
    return absl::DataLossError(absl::StrCat("job ", job_id_, " in etcd: ", problem));
  }

  const std::string job_id_;
  google::protobuf::Arena* const arena_;
  std::vector<v1::JobEvent*> events_;
  std::optional<int64_t> head_;
};

}  // namespace

struct EtcdEventStore::JobWrite {
  std::string job_id;
  std::vector<Operation*> appends;  // empty for a deletion
  std::vector<std::string> records;
  int64_t first = 0;
  int64_t last = 0;
};

absl::StatusOr<std::unique_ptr<EtcdEventStore>> EtcdEventStore::Open(
    const EtcdStoreOptions& options) {
  if (options.endpoints.empty()) {
    return absl::InvalidArgumentError("etcd store: no endpoints (HOST:PORT,...) given");
  }
  if (options.prefix.empty()) {
    return absl::InvalidArgumentError("etcd store: the key prefix must not be empty");
  }
  auto store = std::unique_ptr<EtcdEventStore>(new EtcdEventStore(options));
  LRSCHED_RETURN_IF_ERROR(store->CheckSchema());
  store->writer_ = std::thread([raw = store.get()] { raw->WriterLoop(); });
  return store;
}

EtcdEventStore::EtcdEventStore(const EtcdStoreOptions& options) : options_(options) {
  grpc::ChannelArguments arguments;
  // A long log is read in pages, but one record may be large.
  arguments.SetMaxReceiveMessageSize(-1);
  for (const std::string& endpoint : options_.endpoints) {
    stubs_.push_back(etcdserverpb::KV::NewStub(
        grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), arguments)));
  }
}

EtcdEventStore::~EtcdEventStore() {
  queue_.Stop();
  if (writer_.joinable()) writer_.join();
}

std::string EtcdEventStore::address() const {
  return absl::StrCat("etcd://", absl::StrJoin(options_.endpoints, ","), options_.prefix);
}

std::string EtcdEventStore::JobPrefix(const std::string& job_id) const {
  return absl::StrCat(options_.prefix, "jobs/", job_id, "/");
}
std::string EtcdEventStore::HeadKey(const std::string& job_id) const {
  return absl::StrCat(JobPrefix(job_id), "head");
}
std::string EtcdEventStore::RecordKey(const std::string& job_id, int64_t first_sequence) const {
  return absl::StrFormat("%se/%020d", JobPrefix(job_id), first_sequence);
}

etcdserverpb::KV::Stub& EtcdEventStore::kv() {
  std::lock_guard<std::mutex> lock(endpoint_mu_);
  return *stubs_[endpoint_];
}

void EtcdEventStore::NextEndpoint() {
  std::lock_guard<std::mutex> lock(endpoint_mu_);
  endpoint_ = (endpoint_ + 1) % stubs_.size();
}

absl::Status EtcdEventStore::CheckSchema() {
  const std::string key = absl::StrCat(options_.prefix, "schema");
  TxnRequest request;
  Compare* absent = request.add_compare();
  absent->set_key(key);
  absent->set_target(Compare::CREATE);
  absent->set_result(Compare::EQUAL);
  absent->set_create_revision(0);
  auto* put = request.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(absl::StrCat(kSchemaVersion));
  request.add_failure()->mutable_request_range()->set_key(key);
  // One try per member: a server that cannot reach etcd says so at once.
  absl::Status sent;
  TxnResponse response;
  for (size_t i = 0; i < stubs_.size(); ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoNanoseconds(options_.call_timeout));
    sent = FromGrpc(kv().Txn(&context, request, &response));
    if (sent.ok() || !MayRetry(sent.code())) break;
    NextEndpoint();
  }
  if (!sent.ok()) {
    return absl::Status(sent.code(), absl::StrCat(address(), ": ", sent.message()));
  }
  if (response.succeeded()) return absl::OkStatus();
  const auto& kvs = response.responses(0).response_range().kvs();
  int64_t version = 0;
  if (kvs.empty() || !absl::SimpleAtoi(kvs[0].value(), &version) || version < 1) {
    return absl::FailedPreconditionError(
        absl::StrCat(address(), ": key ", key, " is not lrsched's layout version"));
  }
  if (version > kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        address(), ": written in layout version ", version, ", newer than this build's ",
        kSchemaVersion, "; run a newer lrsched-server"));
  }
  return absl::OkStatus();
}

int64_t EtcdEventStore::transactions() const { return transactions_.load(); }

void EtcdEventStore::WriterLoop() {
  while (true) {
    std::deque<Operation> queued;
    if (!queue_.Take(&queued, options_.probe_interval)) return;
    if (queued.empty()) {
      queue_.ReportHealth(Probe());
      continue;
    }
    // Writes in call order, cut into transactions where a job comes twice
    // (unless its appends follow each other), at etcd's limits, and before
    // each read or flush, which must see every write queued before it.
    struct InBatch {
      int64_t last = 0;  // its last event; -1: deleted in this batch
      size_t records = 0;
    };
    std::vector<Operation*> batch;
    absl::flat_hash_map<std::string, InBatch> jobs;
    size_t most_records = 0;
    int64_t bytes = 0;
    const auto commit = [&] {
      Commit(batch);
      jobs.clear();
      most_records = 0;
      bytes = 0;
    };
    for (Operation& operation : queued) {
      if (!operation.is_write()) {
        commit();
        if (operation.load_job) {
          Load(*operation.load_job, std::move(operation.loaded));
        } else {
          std::move(operation.done)(absl::OkStatus());
        }
        continue;
      }
      const std::string& job_id =
          operation.delete_job ? *operation.delete_job : operation.events.front().job_id();
      int64_t size = 0;
      for (const v1::JobEvent& event : operation.events) {
        size += static_cast<int64_t>(event.ByteSizeLong()) + 10;
      }
      const auto seen = jobs.find(job_id);
      const bool follows = seen != jobs.end() && !operation.delete_job &&
                           seen->second.last >= 0 &&
                           operation.events.front().sequence() == seen->second.last + 1;
      // etcd counts a nested transaction's operations against what its
      // parent leaves: jobs plus one job's puts (records and head).
      const size_t jobs_after = jobs.size() + (seen == jobs.end() ? 1 : 0);
      const size_t records_after =
          std::max(most_records, (seen == jobs.end() ? 0 : seen->second.records) + 1);
      if ((seen != jobs.end() && !follows) || jobs_after + records_after + 1 > kMaxTxnOps ||
          bytes + size > options_.max_batch_bytes) {
        commit();
      }
      InBatch& in_batch = jobs[job_id];
      in_batch.last = operation.delete_job ? -1 : operation.events.back().sequence();
      ++in_batch.records;
      most_records = std::max(most_records, in_batch.records);
      bytes += size;
      batch.push_back(&operation);
    }
    commit();
  }
}

void EtcdEventStore::Commit(std::vector<Operation*>& batch) {
  if (batch.empty()) return;
  const auto started = std::chrono::steady_clock::now();
  std::vector<absl::Status> results(batch.size());
  // One write per job of the batch, in order of its first operation.
  std::vector<JobWrite> writes;
  absl::flat_hash_map<std::string, size_t> write_of_job;
  std::vector<std::optional<size_t>> write_of(batch.size());
  // Appends behind one refused here: they fail as they would behind a
  // refused compare, naming the head the log ends at after the commit.
  std::vector<bool> behind_refused(batch.size(), false);
  absl::flat_hash_map<std::string, bool> refused_job;
  for (size_t i = 0; i < batch.size(); ++i) {
    Operation& operation = *batch[i];
    if (operation.delete_job) {
      writes.push_back({*operation.delete_job, {}, {}, 0, 0});
      write_of[i] = writes.size() - 1;
      continue;
    }
    const std::string& job_id = operation.events.front().job_id();
    const auto existing = write_of_job.find(job_id);
    if (refused_job[job_id] && existing != write_of_job.end()) {
      behind_refused[i] = true;
      write_of[i] = existing->second;
      continue;
    }
    results[i] = CheckAppend(operation.events);
    std::string record = results[i].ok() ? EncodeRecord(operation.events) : std::string();
    if (results[i].ok() && static_cast<int64_t>(record.size()) > options_.max_batch_bytes) {
      results[i] = absl::ResourceExhaustedError(absl::StrCat(
          "job ", job_id, ": an append of ", record.size(),
          " bytes is more than one etcd request takes (", options_.max_batch_bytes, " bytes)"));
    }
    if (!results[i].ok()) {
      refused_job[job_id] = true;
      continue;
    }
    auto [found, added] = write_of_job.try_emplace(job_id, writes.size());
    if (added) writes.push_back({job_id, {}, {}, operation.events.front().sequence(), 0});
    JobWrite& write = writes[found->second];
    write.appends.push_back(&operation);
    write.records.push_back(std::move(record));
    write.last = operation.events.back().sequence();
    write_of[i] = found->second;
  }
  TxnRequest request;
  for (const JobWrite& write : writes) {
    RequestOp* op = request.add_success();
    if (write.appends.empty()) {
      auto* remove = op->mutable_request_delete_range();
      remove->set_key(JobPrefix(write.job_id));
      remove->set_range_end(PrefixEnd(JobPrefix(write.job_id)));
      continue;
    }
    TxnRequest* txn = op->mutable_request_txn();
    Compare* head = txn->add_compare();
    head->set_key(HeadKey(write.job_id));
    head->set_result(Compare::EQUAL);
    if (write.first == 1) {
      head->set_target(Compare::CREATE);
      head->set_create_revision(0);
    } else {
      head->set_target(Compare::VALUE);
      head->set_value(absl::StrCat(write.first - 1));
    }
    for (size_t k = 0; k < write.records.size(); ++k) {
      auto* put = txn->add_success()->mutable_request_put();
      put->set_key(RecordKey(write.job_id, write.appends[k]->events.front().sequence()));
      put->set_value(write.records[k]);
    }
    auto* put_head = txn->add_success()->mutable_request_put();
    put_head->set_key(HeadKey(write.job_id));
    put_head->set_value(absl::StrCat(write.last));
    // Read back on failure: the head says what the log expected; records
    // equal to these say an earlier send of this very transaction committed.
    txn->add_failure()->mutable_request_range()->set_key(HeadKey(write.job_id));
    auto* records = txn->add_failure()->mutable_request_range();
    records->set_key(RecordKey(write.job_id, write.first));
    records->set_range_end(
        RecordKey(write.job_id, write.appends.back()->events.front().sequence()) + '\0');
  }
  if (!options_.fence_key.empty()) {
    Compare* fence = request.add_compare();
    fence->set_key(options_.fence_key);
    fence->set_target(Compare::VALUE);
    fence->set_result(Compare::EQUAL);
    fence->set_value(options_.fence_value);
  }
  absl::Status sent = absl::OkStatus();
  TxnResponse response;
  if (!writes.empty()) sent = Send(request, &response);
  if (sent.ok() && !response.succeeded()) {
    sent = absl::UnavailableError(absl::StrCat(
        address(), ": this server no longer leads (", options_.fence_key,
        " names another), so it wrote nothing; a retry reaches the one that leads"));
  }
  // Where each job's log ends after the commit, and whether its appends
  // are in.
  std::vector<int64_t> head_after(writes.size(), 0);
  std::vector<bool> written(writes.size(), true);
  for (size_t w = 0; w < writes.size() && sent.ok(); ++w) {
    const JobWrite& write = writes[w];
    if (write.appends.empty()) continue;
    head_after[w] = write.last;
    const TxnResponse& txn = response.responses(static_cast<int>(w)).response_txn();
    if (txn.succeeded()) continue;
    const auto& head_kvs = txn.responses(0).response_range().kvs();
    int64_t head = 0;
    if (!head_kvs.empty() && !absl::SimpleAtoi(head_kvs[0].value(), &head)) head = -1;
    const auto& record_kvs = txn.responses(1).response_range().kvs();
    bool ours = head == write.last &&
                record_kvs.size() == static_cast<int>(write.records.size());
    for (int k = 0; ours && k < record_kvs.size(); ++k) {
      ours = record_kvs[k].value() == write.records[static_cast<size_t>(k)];
    }
    if (ours) continue;
    head_after[w] = head;
    written[w] = false;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!write_of[i]) continue;
    const size_t w = *write_of[i];
    if (!sent.ok()) {
      results[i] = sent;
    } else if (behind_refused[i] || !written[w]) {
      results[i] = NotFollowing(writes[w].job_id, batch[i]->events.front().sequence(),
                                head_after[w]);
    }
  }
  stats_.commit_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  stats_.batch_operations.Observe(static_cast<double>(batch.size()));
  if (!writes.empty()) {
    if (sent.ok()) ++transactions_;
    queue_.ReportHealth(sent);
  }
  for (size_t i = 0; i < batch.size(); ++i) std::move(batch[i]->done)(results[i]);
  batch.clear();
}

absl::Status EtcdEventStore::Send(const TxnRequest& request, TxnResponse* response) {
  const absl::Time give_up = absl::Now() + options_.give_up_after;
  absl::Duration backoff = absl::Milliseconds(20);
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoNanoseconds(options_.call_timeout));
    const absl::Status sent = FromGrpc(kv().Txn(&context, request, response));
    if (sent.ok()) return sent;
    if (!MayRetry(sent.code())) return sent;
    NextEndpoint();
    if (absl::Now() + backoff > give_up) {
      return absl::UnavailableError(absl::StrCat(
          address(), ": no answer for ", absl::FormatDuration(options_.give_up_after),
          ", so whether the write took effect is unknown; last error: ", sent.message()));
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Milliseconds(500));
  }
}

absl::Status EtcdEventStore::Range(const std::string& key, const std::string& range_end,
                                   int64_t revision, int64_t limit, RangeResponse* response) {
  etcdserverpb::RangeRequest request;
  request.set_key(key);
  request.set_range_end(range_end);
  request.set_revision(revision);
  request.set_limit(limit);
  const absl::Time give_up = absl::Now() + options_.give_up_after;
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoNanoseconds(options_.call_timeout));
    const absl::Status read = FromGrpc(kv().Range(&context, request, response));
    if (read.ok() || !MayRetry(read.code()) || absl::Now() > give_up) {
      return read.ok() ? read
                       : absl::Status(read.code(), absl::StrCat(address(), ": ", read.message()));
    }
    NextEndpoint();
    absl::SleepFor(absl::Milliseconds(100));
  }
}

void EtcdEventStore::Load(const std::string& job_id, Loaded done) {
  google::protobuf::Arena arena;
  JobReader reader(job_id, &arena);
  const std::string prefix = JobPrefix(job_id);
  const std::string end = PrefixEnd(prefix);
  std::string from = prefix;
  int64_t revision = 0;
  while (true) {
    RangeResponse page;
    const absl::Status read = Range(from, end, revision, 1000, &page);
    if (!read.ok()) {
      std::move(done)(read);
      return;
    }
    revision = page.header().revision();
    for (const auto& kv : page.kvs()) {
      const absl::Status added =
          reader.Add(absl::string_view(kv.key()).substr(prefix.size()), kv.value());
      if (!added.ok()) {
        std::move(done)(added);
        return;
      }
    }
    if (!page.more() || page.kvs().empty()) break;
    from = page.kvs(page.kvs_size() - 1).key() + '\0';
  }
  std::move(done)(reader.Finish());
}

absl::Status EtcdEventStore::LoadAll(Visit visit, Damaged damaged) {
  const std::string prefix = absl::StrCat(options_.prefix, "jobs/");
  const std::string end = PrefixEnd(prefix);
  std::string from = prefix;
  // Every page at the revision of the first: one consistent picture.
  int64_t revision = 0;
  auto arena = std::make_unique<google::protobuf::Arena>();
  std::optional<JobReader> reader;
  // The job being skipped after a damaged key, until its keys end.
  std::optional<std::string> skipping;
  const auto finish = [&]() -> absl::Status {
    if (!reader) return absl::OkStatus();
    auto events = reader->Finish();
    const absl::Status visited = !events.ok()        ? damaged(reader->job_id(), events.status())
                                 : events->empty() ? absl::OkStatus()
                                                   : visit(*events);
    reader.reset();
    arena = std::make_unique<google::protobuf::Arena>();
    return visited;
  };
  while (true) {
    RangeResponse page;
    LRSCHED_RETURN_IF_ERROR(Range(from, end, revision, 1000, &page));
    revision = page.header().revision();
    for (const auto& kv : page.kvs()) {
      absl::string_view rest = absl::string_view(kv.key()).substr(prefix.size());
      const size_t slash = rest.find('/');
      const std::string job_id(rest.substr(0, slash));
      const absl::string_view kind =
          slash == absl::string_view::npos ? absl::string_view() : rest.substr(slash + 1);
      if (skipping && *skipping == job_id) continue;
      skipping.reset();
      if (reader && reader->job_id() != job_id) LRSCHED_RETURN_IF_ERROR(finish());
      if (!reader) reader.emplace(job_id, arena.get());
      const absl::Status added = reader->Add(kind, kv.value());
      if (!added.ok()) {
        reader.reset();
        arena = std::make_unique<google::protobuf::Arena>();
        skipping = job_id;
        LRSCHED_RETURN_IF_ERROR(damaged(job_id, added));
      }
    }
    if (!page.more() || page.kvs().empty()) break;
    from = page.kvs(page.kvs_size() - 1).key() + '\0';
  }
  return finish();
}

absl::Status EtcdEventStore::Probe() {
  etcdserverpb::PutRequest request;
  request.set_key(absl::StrCat(options_.prefix, "probe"));
  etcdserverpb::PutResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoNanoseconds(options_.call_timeout));
  const absl::Status put = FromGrpc(kv().Put(&context, request, &response));
  if (!put.ok()) NextEndpoint();
  return put.ok() ? put : absl::Status(put.code(), absl::StrCat(address(), ": ", put.message()));
}

}  // namespace lrsched
