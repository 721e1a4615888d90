// Reads the checked-in PyTorch traces (tests/data/traces/).
#ifndef LRSCHED_TESTS_TESTING_PYTORCH_TRACE_H_
#define LRSCHED_TESTS_TESTING_PYTORCH_TRACE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "trace.pb.h"

namespace lrsched::testing {

// The trace families, one file each: "step_lr" is step_lr.jsonl.gz.
const std::vector<std::string>& TraceFamilies();

// A SchedulerSpec from its proto3 JSON form; a parse error fails the test.
v1::SchedulerSpec ParseSpec(const std::string& json);

// The directory holding traces/ and manifest.json.
std::string TraceDir();

// Every case of one gzip-compressed JSONL trace file, e.g. "step_lr.jsonl.gz".
absl::StatusOr<std::vector<TraceCase>> LoadTraceFile(const std::string& file_name);

// The value counts the generator recorded per file in manifest.json.
struct ManifestEntry {
  std::string file_name;
  int64_t cases = 0;
  int64_t values = 0;
};
absl::StatusOr<std::vector<ManifestEntry>> LoadManifest();
absl::StatusOr<std::string> TorchVersion();

// Unpacks TraceCase.lrs or .momentums: byte-shuffled, XOR-delta float64.
// INVALID_ARGUMENT: the size is not a multiple of 8.
absl::StatusOr<std::vector<double>> DecodeValues(const std::string& packed);

// Bitwise equality that also holds for two NaNs: "equal to the last bit".
bool SameBits(double a, double b);

// Empty when `actual` equals `expected` bit for bit; otherwise a description
// of the first difference (step, group, both values in hex and decimal).
std::string FirstDifference(absl::Span<const double> expected, absl::Span<const double> actual,
                            size_t num_groups, const std::string& what);

}  // namespace lrsched::testing

#endif  // LRSCHED_TESTS_TESTING_PYTORCH_TRACE_H_
