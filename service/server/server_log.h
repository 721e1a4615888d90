// The server's log: one line per significant event on stderr, as text
// ("TIME LEVEL EVENT key=value ...") or as one JSON object per line, written
// by a thread of its own so that a callback thread never waits for whoever
// reads stderr.
#ifndef LRSCHED_SERVICE_SERVER_SERVER_LOG_H_
#define LRSCHED_SERVICE_SERVER_SERVER_LOG_H_

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/repeated_field.h"
#include "service/job/job.h"

namespace lrsched {

enum class LogFormat { kText, kJson };

// The fields of one line, in order.
class LogLine {
 public:
  LogLine& Add(absl::string_view key, absl::string_view value);
  LogLine& Add(absl::string_view key, const char* value) {
    return Add(key, absl::string_view(value));
  }
  LogLine& Add(absl::string_view key, int64_t value);
  LogLine& Add(absl::string_view key, double value);
  LogLine& Add(absl::string_view key, const google::protobuf::RepeatedField<double>& values);

 private:
  friend class ServerLog;
  struct Field {
    std::string key;
    std::string json;  // the value as JSON
    std::string text;  // the value as text
  };
  std::vector<Field> fields_;
};

class ServerLog : public JobObserver {
 public:
  // errors_only: the `error` log level.
  ServerLog(LogFormat format, bool errors_only, std::FILE* out = stderr);
  // Writes what is queued, then stops the writer.
  ~ServerLog() override;
  ServerLog(const ServerLog&) = delete;
  ServerLog& operator=(const ServerLog&) = delete;

  void Info(absl::string_view event, const LogLine& line);
  // A risk the operator chose (or overlooked), such as serving without
  // authentication; like Info, not logged at the `error` level.
  void Warning(absl::string_view event, const LogLine& line);
  void Error(absl::string_view event, const LogLine& line);
  // Waits until every line logged so far is written.
  void Flush();

  // JobObserver: job created or deleted, learning rate reduced, override
  // scheduled, world size changed; a job closed by a store failure.
  void OnEvent(const v1::JobEvent& event) override;
  void OnClosed(const std::string& job_id, const absl::Status& status) override;

  // The server is about to close every job with `closing` (a shutdown):
  // from now on such a close is not logged, as it is no failure; the
  // drain's summary line counts them. Call it once.
  void StartShutdown(const absl::Status& closing);

 private:
  void Log(absl::string_view level, absl::string_view event, const LogLine& line);
  void WriterLoop();

  const LogFormat format_;
  const bool errors_only_;
  std::FILE* const out_;
  absl::Mutex mu_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  int64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t queued_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t written_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Set once, by StartShutdown: closing_ first, then shutting_down_.
  absl::Status closing_;
  std::atomic<bool> shutting_down_{false};
  std::thread writer_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_SERVER_LOG_H_
