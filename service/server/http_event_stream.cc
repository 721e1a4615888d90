#include "service/server/http_event_stream.h"

#include <civetweb.h>
#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/server/http_response.h"

namespace lrsched {
namespace {

bool SendChunk(mg_connection* connection, const std::string& text) {
  return mg_send_chunk(connection, text.data(), static_cast<unsigned>(text.size())) > 0;
}

}  // namespace

void HttpEventStream::Serve(mg_connection* connection, v1::SchedulerService::Stub* stub,
                            const v1::WatchJobRequest& request, absl::Duration keepalive) {
  static constexpr char kHead[] =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
      "X-Content-Type-Options: nosniff\r\nX-Accel-Buffering: no\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  bool writable =
      mg_write(connection, kHead, sizeof(kHead) - 1) > 0 && SendChunk(connection, ": watching\n\n");
  stub->async()->WatchJob(&context_, &request, this);
  // The next read is started from this thread once an event is written:
  // the hold keeps gRPC from ending the call (OnDone) in between.
  AddHold();
  reading_ = true;
  StartRead(&event_);
  StartCall();
  google::protobuf::util::JsonPrintOptions json;
  json.preserve_proto_field_names = true;
  json.always_print_primitive_fields = true;
  std::unique_lock<std::mutex> lock(mu_);
  bool held = true;
  // RemoveHold may run OnDone at once, which takes mu_.
  const auto release = [&] {
    held = false;
    lock.unlock();
    RemoveHold();
    lock.lock();
  };
  while (true) {
    if (!writable) {
      // The reader went away: end the call, and wait for gRPC to be done with
      // this reactor.
      lock.unlock();
      context_.TryCancel();
      lock.lock();
      changed_.wait(lock, [this] { return !reading_; });
      if (held) release();
      changed_.wait(lock, [this] { return done_; });
      return;
    }
    const bool woken = changed_.wait_for(lock, absl::ToChronoMilliseconds(keepalive), [&] {
      return has_event_ || (held && read_ended_) || done_;
    });
    if (has_event_) {
      v1::JobEvent event = std::move(event_);
      has_event_ = false;
      lock.unlock();
      std::string data;
      (void)google::protobuf::util::MessageToJsonString(event, &data, json);
      writable =
          SendChunk(connection, absl::StrCat("id: ", event.sequence(), "\ndata: ", data, "\n\n"));
      lock.lock();
      if (writable) {
        reading_ = true;
        lock.unlock();
        StartRead(&event_);
        lock.lock();
      }
    } else if (held && read_ended_) {
      release();
    } else if (done_) {
      if (status_.ok()) {
        SendChunk(connection, "event: end\ndata: {}\n\n");
      } else {
        SendChunk(connection, absl::StrCat("event: error\ndata: ", ErrorBody(status_), "\n\n"));
      }
      mg_send_chunk(connection, "", 0);
      return;
    } else if (!woken) {
      lock.unlock();
      writable = SendChunk(connection, ": keepalive\n\n");
      lock.lock();
    }
  }
}

void HttpEventStream::OnReadDone(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  reading_ = false;
  if (ok) {
    has_event_ = true;
  } else {
    read_ended_ = true;
  }
  changed_.notify_all();
}

void HttpEventStream::OnDone(const grpc::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  done_ = true;
  status_ = status;
  changed_.notify_all();
}

}  // namespace lrsched
