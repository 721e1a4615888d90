// What the fuzz targets share: a failed check that the fuzzer records as a
// crash, and the check that a refusal names a field of the request.
#ifndef LRSCHED_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define LRSCHED_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace lrsched::fuzz {

// Silences protobuf's log lines (a string field that is not UTF-8, ...):
// expected for fuzzed bytes, and millions of them would bury a failure. For
// LLVMFuzzerInitialize.
void SilenceProtobufLogs();

// Prints `what` and `input` (the decoded input, for the report) to stderr and
// aborts, which libFuzzer records as a crash with the input that caused it.
[[noreturn]] void Fail(absl::string_view what, const std::string& input);

// Whether `status` is INVALID_ARGUMENT and its message starts with a field
// path of `message`'s type ("steps", "base_lrs[3]",
// "spec.sequential_lr.schedulers[1].step_lr.gamma", or a oneof's name such
// as "change") followed by ": ", as request_validation.h and
// scheduler_factory.h promise.
bool NamesField(const absl::Status& status, const google::protobuf::Descriptor& message);

// A message and a status for Fail.
std::string Describe(const google::protobuf::Message& message, const absl::Status& status);

}  // namespace lrsched::fuzz

#endif  // LRSCHED_TESTS_FUZZ_FUZZ_SUPPORT_H_
