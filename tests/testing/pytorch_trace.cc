#include "tests/testing/pytorch_trace.h"

#include <zlib.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace lrsched::testing {
namespace {

absl::StatusOr<std::string> ReadGzip(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::string contents;
  char buffer[1 << 16];
  int read;
  while ((read = gzread(file, buffer, sizeof buffer)) > 0) contents.append(buffer, read);
  const bool failed = read < 0;
  gzclose(file);
  if (failed) return absl::DataLossError(absl::StrCat("cannot decompress ", path));
  return contents;
}

}  // namespace

const std::vector<std::string>& TraceFamilies() {
  static const auto* families = new std::vector<std::string>{
      "step_lr", "multi_step_lr", "exponential_lr", "cosine_annealing_lr", "cyclic_lr",
      "reduce_lr_on_plateau", "linear_lr", "constant_lr", "polynomial_lr", "one_cycle_lr",
      "cosine_annealing_warm_restarts", "sequential_lr", "chained_scheduler"};
  return *families;
}

v1::SchedulerSpec ParseSpec(const std::string& json) {
  v1::SchedulerSpec spec;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &spec);
  EXPECT_TRUE(status.ok()) << json << ": " << status.ToString();
  return spec;
}

std::string TraceDir() { return absl::StrCat(LRSCHED_TEST_DATA_DIR, "/traces"); }

absl::StatusOr<std::vector<TraceCase>> LoadTraceFile(const std::string& file_name) {
  const std::string path = absl::StrCat(TraceDir(), "/", file_name);
  absl::StatusOr<std::string> contents = ReadGzip(path);
  if (!contents.ok()) return contents.status();
  std::vector<TraceCase> cases;
  for (absl::string_view line : absl::StrSplit(*contents, '\n', absl::SkipEmpty())) {
    TraceCase trace;
    const auto status = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(line.data(), line.size()), &trace);
    if (!status.ok()) {
      return absl::DataLossError(absl::StrCat(path, " line ", cases.size() + 1, ": ",
                                              status.ToString()));
    }
    cases.push_back(std::move(trace));
  }
  return cases;
}

absl::StatusOr<std::vector<ManifestEntry>> LoadManifest() {
  const std::string path = absl::StrCat(TraceDir(), "/manifest.json");
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream text;
  text << in.rdbuf();
  google::protobuf::Struct manifest;
  if (!google::protobuf::util::JsonStringToMessage(text.str(), &manifest).ok()) {
    return absl::DataLossError(absl::StrCat(path, " is not valid JSON"));
  }
  std::vector<ManifestEntry> entries;
  for (const auto& [name, entry] : manifest.fields().at("files").struct_value().fields()) {
    const auto& fields = entry.struct_value().fields();
    entries.push_back({name, static_cast<int64_t>(fields.at("cases").number_value()),
                       static_cast<int64_t>(fields.at("values").number_value())});
  }
  return entries;
}

absl::StatusOr<std::string> TorchVersion() {
  std::ifstream in(absl::StrCat(TraceDir(), "/manifest.json"));
  std::stringstream text;
  text << in.rdbuf();
  google::protobuf::Struct manifest;
  if (!google::protobuf::util::JsonStringToMessage(text.str(), &manifest).ok()) {
    return absl::DataLossError("manifest.json is not valid JSON");
  }
  return manifest.fields().at("torch_version").string_value();
}

absl::StatusOr<std::vector<double>> DecodeValues(const std::string& packed) {
  if (packed.size() % 8 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("packed values: ", packed.size(), " bytes is not a multiple of 8"));
  }
  const size_t count = packed.size() / 8;
  std::vector<double> values(count);
  uint64_t previous = 0;
  for (size_t i = 0; i < count; ++i) {
    uint64_t word = 0;
    for (size_t byte = 0; byte < 8; ++byte) {
      word |= uint64_t{static_cast<unsigned char>(packed[byte * count + i])} << (8 * byte);
    }
    previous ^= word;
    std::memcpy(&values[i], &previous, sizeof previous);
  }
  return values;
}

bool SameBits(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  uint64_t bits_a, bits_b;
  std::memcpy(&bits_a, &a, sizeof a);
  std::memcpy(&bits_b, &b, sizeof b);
  return bits_a == bits_b;
}

std::string FirstDifference(absl::Span<const double> expected, absl::Span<const double> actual,
                            size_t num_groups, const std::string& what) {
  if (expected.size() != actual.size()) {
    return absl::StrCat(what, ": expected ", expected.size(), " values, got ", actual.size());
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    if (!SameBits(expected[i], actual[i])) {
      return absl::StrFormat("%s differs first at step %d, group %d: PyTorch %a (%.17g), "
                             "lrsched %a (%.17g)",
                             what, i / num_groups, i % num_groups, expected[i], expected[i],
                             actual[i], actual[i]);
    }
  }
  return "";
}

}  // namespace lrsched::testing
