#include "service/store/etcd_leadership.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace lrsched {

EtcdLeadership::EtcdLeadership(EtcdLeadershipOptions options) : options_(std::move(options)) {
  for (const std::string& endpoint : options_.endpoints) {
    channels_.push_back(grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials()));
    kv_.push_back(etcdserverpb::KV::NewStub(channels_.back()));
    leases_.push_back(etcdserverpb::Lease::NewStub(channels_.back()));
  }
}

EtcdLeadership::~EtcdLeadership() { Resign(); }

std::string EtcdLeadership::AddressOf(const std::string& value) {
  return value.substr(0, value.find(' '));
}

etcdserverpb::KV::Stub& EtcdLeadership::kv() { return *kv_[endpoint_]; }
etcdserverpb::Lease::Stub& EtcdLeadership::lease() { return *leases_[endpoint_]; }
void EtcdLeadership::NextEndpoint() { endpoint_ = (endpoint_ + 1) % kv_.size(); }

std::unique_ptr<grpc::ClientContext> EtcdLeadership::Context() const {
  auto context = std::make_unique<grpc::ClientContext>();
  // A renewal that takes longer than a third of the TTL is as good as lost.
  const absl::Duration timeout = std::min(options_.call_timeout, options_.ttl / 3);
  context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(timeout));
  return context;
}

int64_t EtcdLeadership::Grant() {
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(options_.ttl))));
  etcdserverpb::LeaseGrantResponse response;
  auto context = Context();
  if (!lease().LeaseGrant(context.get(), request, &response).ok() || !response.error().empty()) {
    NextEndpoint();
    return 0;
  }
  return response.id();
}

absl::StatusOr<int64_t> EtcdLeadership::KeepAlive(int64_t lease_id) {
  auto context = Context();
  auto stream = lease().LeaseKeepAlive(context.get());
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(lease_id);
  etcdserverpb::LeaseKeepAliveResponse response;
  const bool answered = stream->Write(request) && stream->Read(&response);
  stream->WritesDone();
  const grpc::Status finished = stream->Finish();
  if (!answered) {
    NextEndpoint();
    return absl::UnavailableError(absl::StrCat(
        "etcd: lease renewal: ", finished.ok() ? "no answer" : finished.error_message()));
  }
  return response.ttl();
}

absl::StatusOr<std::string> EtcdLeadership::Campaign(
    const std::function<void(const std::string&)>& on_leader, absl::Notification& stop) {
  std::string told = "\n";  // no address: the first answer is always told
  const std::string key = leader_key();
  while (!stop.HasBeenNotified()) {
    if (lease_id_ != 0 && absl::Now() - lease_renewed_ > options_.ttl / 3) {
      const absl::Time sent = absl::Now();
      auto remaining = KeepAlive(lease_id_);
      if (remaining.ok() && *remaining > 0) {
        lease_renewed_ = sent;
      } else if (remaining.ok() || sent - lease_renewed_ > options_.ttl) {
        lease_id_ = 0;
      }
    }
    if (lease_id_ == 0) {
      const absl::Time sent = absl::Now();
      lease_id_ = Grant();
      lease_renewed_ = sent;
    }
    if (lease_id_ != 0) {
      const std::string value = absl::StrFormat("%s %x", options_.identity, lease_id_);
      etcdserverpb::TxnRequest request;
      etcdserverpb::Compare* free = request.add_compare();
      free->set_key(key);
      free->set_target(etcdserverpb::Compare::CREATE);
      free->set_result(etcdserverpb::Compare::EQUAL);
      free->set_create_revision(0);
      auto* put = request.add_success()->mutable_request_put();
      put->set_key(key);
      put->set_value(value);
      put->set_lease(lease_id_);
      request.add_failure()->mutable_request_range()->set_key(key);
      etcdserverpb::TxnResponse response;
      auto context = Context();
      if (kv().Txn(context.get(), request, &response).ok()) {
        const auto& held = response.succeeded()
                               ? std::string()
                               : (response.responses(0).response_range().kvs().empty()
                                      ? std::string()
                                      : response.responses(0).response_range().kvs(0).value());
        // Held by our own value: an earlier try took it, its answer lost.
        if (response.succeeded() || held == value) {
          value_ = value;
          on_leader(options_.identity);
          return value;
        }
        const std::string leader = AddressOf(held);
        if (leader != told) {
          on_leader(leader);
          told = leader;
        }
      } else {
        NextEndpoint();
      }
    }
    stop.WaitForNotificationWithTimeout(options_.poll);
  }
  return absl::CancelledError("stopped before leading");
}

absl::Status EtcdLeadership::HoldUntilLost(absl::Notification& stop) {
  const std::string key = leader_key();
  while (!stop.WaitForNotificationWithTimeout(options_.ttl / 4)) {
    const absl::Time sent = absl::Now();
    auto remaining = KeepAlive(lease_id_);
    if (remaining.ok() && *remaining <= 0) {
      lease_id_ = 0;
      return absl::UnavailableError("the lease expired");
    }
    if (remaining.ok()) {
      lease_renewed_ = sent;
      etcdserverpb::RangeRequest request;
      request.set_key(key);
      etcdserverpb::RangeResponse response;
      auto context = Context();
      if (kv().Range(context.get(), request, &response).ok()) {
        const std::string held = response.kvs().empty() ? "" : response.kvs(0).value();
        if (held != value_) {
          return absl::UnavailableError(
              absl::StrCat(key, " is held by ", held.empty() ? "nobody" : AddressOf(held), " now"));
        }
      } else {
        NextEndpoint();
      }
    }
    // etcd counts the TTL from when it took the last renewal, which is
    // after it was sent: giving up here is never later than etcd does.
    if (absl::Now() - lease_renewed_ >= options_.ttl) {
      return absl::UnavailableError(
          absl::StrCat("the lease could not be renewed for ", absl::FormatDuration(options_.ttl)));
    }
  }
  return absl::OkStatus();
}

void EtcdLeadership::Resign() {
  if (lease_id_ == 0) return;
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(lease_id_);
  etcdserverpb::LeaseRevokeResponse response;
  for (size_t i = 0; i < kv_.size(); ++i) {
    auto context = Context();
    if (lease().LeaseRevoke(context.get(), request, &response).ok()) break;
    NextEndpoint();
  }
  lease_id_ = 0;
  value_.clear();
}

}  // namespace lrsched
