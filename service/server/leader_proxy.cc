#include "service/server/leader_proxy.h"

#include <grpc/grpc.h>
#include <grpcpp/generic/generic_stub.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace lrsched {
namespace {

// Why gRPC would not send this metadata on (it takes an illegal one for a
// misuse of its API and ends the process), or empty. A server accepts what
// a client's library would never send, such as bytes outside printable
// ASCII in a text value.
std::string Unsendable(grpc::string_ref key, grpc::string_ref value) {
  const grpc_slice key_slice = grpc_slice_from_static_buffer(key.data(), key.size());
  if (!grpc_header_key_is_legal(key_slice)) {
    return absl::StrCat("the metadata key '", absl::CHexEscape({key.data(), key.size()}),
                        "' is not a legal gRPC metadata key");
  }
  if (!grpc_is_binary_header(key_slice) &&
      !grpc_header_nonbin_value_is_legal(
          grpc_slice_from_static_buffer(value.data(), value.size()))) {
    return absl::StrCat("the value of metadata ", absl::string_view(key.data(), key.size()),
                        " must be printable ASCII (or its key end in -bin)");
  }
  return "";
}

// Metadata that gRPC sets itself on each hop.
bool Reserved(grpc::string_ref key) {
  const absl::string_view name(key.data(), key.size());
  return absl::StartsWith(name, ":") || absl::StartsWith(name, "grpc-") || name == "user-agent" ||
         name == "content-type" || name == "te" || name == "host";
}

class Refused final : public grpc::ServerGenericBidiReactor {
 public:
  Refused(LeaderProxy* proxy, const grpc::Status& status) : proxy_(proxy) { Finish(status); }
  void OnDone() override {
    LeaderProxy* proxy = proxy_;
    delete this;
    proxy->Ended();
  }

 private:
  LeaderProxy* const proxy_;
};

// One call carried from the caller (the server side) to the leader (the
// client side). Each side's reactions start the next step of the other; the
// call is deleted once both sides are done.
//
// gRPC ends the client call, and frees it, as soon as none of its own
// operations is outstanding, even while the server side is about to start
// one. A client read is always outstanding but while the caller is sent a
// response, which holds the client call open (AddHold) until the next read
// has started; once a read finds the leader's stream ended, the server side
// starts nothing more on the client call.
class ProxiedCall {
 public:
  ProxiedCall(LeaderProxy* proxy, grpc::GenericCallbackServerContext* context,
              const std::shared_ptr<grpc::Channel>& channel)
      : proxy_(proxy), server_(this), client_(this), server_context_(context), stub_(channel) {
    client_context_.set_deadline(context->deadline());
    for (const auto& [key, value] : context->client_metadata()) {
      if (Reserved(key)) continue;
      client_context_.AddMetadata(std::string(key.data(), key.size()),
                                  std::string(value.data(), value.size()));
    }
    stub_.PrepareBidiStreamingCall(&client_context_, context->method(), grpc::StubOptions(),
                                   &client_);
    client_.StartRead(&response_);
    server_.StartRead(&request_);
    client_.StartCall();
  }

  grpc::ServerGenericBidiReactor* reactor() { return &server_; }

 private:
  class ServerSide final : public grpc::ServerGenericBidiReactor {
   public:
    explicit ServerSide(ProxiedCall* call) : call_(call) {}
    void OnReadDone(bool ok) override {
      MutexLock lock(&call_->mu_);
      if (call_->leader_ended_) return;
      if (ok) {
        call_->client_.StartWrite(&call_->request_);
      } else {
        call_->client_.StartWritesDone();
      }
    }
    void OnWriteDone(bool ok) override {
      if (ok) {
        call_->client_.StartRead(&call_->response_);
      } else {
        call_->client_context_.TryCancel();
      }
      call_->client_.RemoveHold();
    }
    void OnCancel() override { call_->client_context_.TryCancel(); }
    void OnDone() override { call_->Release(); }

   private:
    ProxiedCall* const call_;
  };

  class ClientSide final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
   public:
    explicit ClientSide(ProxiedCall* call) : call_(call) {}
    void OnReadDone(bool ok) override {
      if (ok) {
        AddHold();
        call_->server_.StartWrite(&call_->response_);
        return;
      }
      // The leader has ended the call; OnDone brings its status.
      MutexLock lock(&call_->mu_);
      call_->leader_ended_ = true;
    }
    void OnWriteDone(bool ok) override {
      if (ok) call_->server_.StartRead(&call_->request_);
    }
    void OnDone(const grpc::Status& status) override {
      for (const auto& [key, value] : call_->client_context_.GetServerTrailingMetadata()) {
        if (Reserved(key)) continue;
        call_->server_context_->AddTrailingMetadata(std::string(key.data(), key.size()),
                                                    std::string(value.data(), value.size()));
      }
      call_->server_.Finish(status);
      call_->Release();
    }

   private:
    ProxiedCall* const call_;
  };

  void Release() {
    if (references_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    LeaderProxy* proxy = proxy_;
    delete this;
    proxy->Ended();
  }

  LeaderProxy* const proxy_;
  ServerSide server_;
  ClientSide client_;
  grpc::GenericCallbackServerContext* const server_context_;
  grpc::GenericStub stub_;
  grpc::ClientContext client_context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  Mutex mu_;
  bool leader_ended_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int> references_{2};
};

}  // namespace

void LeaderProxy::SetSelf(const std::string& address) {
  MutexLock lock(&mu_);
  self_ = address;
  if (leader_ == self_) channels_.clear();
}

void LeaderProxy::SetLeader(const std::string& address) {
  MutexLock lock(&mu_);
  if (address == leader_) return;
  leader_ = address;
  channels_.clear();
  if (address.empty() || address == self_) return;
  for (int i = 0; i < kConnections; ++i) {
    grpc::ChannelArguments arguments;
    // A connection of each channel's own: the leader's limit on the calls
    // of one connection then holds for each, not for every caller behind
    // this replica together.
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    if (!server_name_.empty()) arguments.SetSslTargetNameOverride(server_name_);
    channels_.push_back(grpc::CreateCustomChannel(address, credentials_, arguments));
  }
}

void LeaderProxy::Ended() {
  std::lock_guard<std::mutex> lock(calls_mu_);
  if (--active_ == 0) no_calls_.notify_all();
}

void LeaderProxy::AwaitNoCalls() {
  std::unique_lock<std::mutex> lock(calls_mu_);
  no_calls_.wait(lock, [this] { return active_ == 0; });
}

std::unique_ptr<grpc::CallbackGenericService> LeaderProxy::NewService() {
  class Service final : public grpc::CallbackGenericService {
   public:
    explicit Service(LeaderProxy* proxy) : proxy_(proxy) {}
    grpc::ServerGenericBidiReactor* CreateReactor(
        grpc::GenericCallbackServerContext* context) override {
      return proxy_->Forward(context);
    }

   private:
    LeaderProxy* const proxy_;
  };
  return std::make_unique<Service>(this);
}

grpc::ServerGenericBidiReactor* LeaderProxy::Forward(grpc::GenericCallbackServerContext* context) {
  std::shared_ptr<grpc::Channel> channel;
  {
    MutexLock lock(&mu_);
    if (!channels_.empty()) channel = channels_[next_channel_++ % channels_.size()];
  }
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    ++active_;
  }
  if (channel == nullptr) {
    return new Refused(this, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                          "no replica leads yet (a new one takes "
                                          "over within the lease TTL); retry"));
  }
  if (require_token_ && absl::StartsWith(context->method(), "/lrsched.v1.SchedulerService/") &&
      context->client_metadata().find("authorization") == context->client_metadata().end()) {
    return new Refused(this, grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                          "no token: through a replica that does not lead, "
                                          "callers name themselves with a bearer token, not "
                                          "a client certificate"));
  }
  for (const auto& [key, value] : context->client_metadata()) {
    if (Reserved(key)) continue;
    if (const std::string unsendable = Unsendable(key, value); !unsendable.empty()) {
      return new Refused(this, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                            absl::StrCat(unsendable, ": a replica that does not "
                                                         "lead cannot forward the call")));
    }
  }
  forwarded_.fetch_add(1, std::memory_order_relaxed);
  return (new ProxiedCall(this, context, channel))->reactor();
}

}  // namespace lrsched
