#include "tests/fuzz/fuzz_support.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/stubs/logging.h"

namespace lrsched::fuzz {
namespace {

// Splits "name[12]" into its name and whether an index followed it; false
// for anything else.
bool ParseSegment(absl::string_view segment, absl::string_view* name, bool* indexed) {
  const size_t bracket = segment.find('[');
  *name = segment.substr(0, bracket);
  *indexed = bracket != absl::string_view::npos;
  if (name->empty()) return false;
  if (!*indexed) return true;
  absl::string_view index = segment.substr(bracket + 1);
  if (!absl::ConsumeSuffix(&index, "]") || index.empty()) return false;
  for (char c : index) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

void SilenceProtobufLogs() { google::protobuf::SetLogHandler(nullptr); }

void Fail(absl::string_view what, const std::string& input) {
  std::fprintf(stderr, "\n*** fuzz check failed: %.*s\n*** input: %s\n",
               static_cast<int>(what.size()), what.data(), input.c_str());
  std::abort();
}

bool NamesField(const absl::Status& status, const google::protobuf::Descriptor& message) {
  if (status.code() != absl::StatusCode::kInvalidArgument) return false;
  const size_t colon = status.message().find(": ");
  if (colon == absl::string_view::npos) return false;
  const std::vector<absl::string_view> segments =
      absl::StrSplit(status.message().substr(0, colon), '.');
  const google::protobuf::Descriptor* type = &message;
  for (size_t i = 0; i < segments.size(); ++i) {
    absl::string_view name;
    bool indexed = false;
    if (type == nullptr || !ParseSegment(segments[i], &name, &indexed)) return false;
    const bool last = i + 1 == segments.size();
    const auto* field = type->FindFieldByName(std::string(name));
    if (field == nullptr) {
      // A oneof names a choice among fields: nothing can follow it.
      return last && !indexed && type->FindOneofByName(std::string(name)) != nullptr;
    }
    if (indexed && !field->is_repeated()) return false;
    type = field->message_type();
  }
  return true;
}

std::string Describe(const google::protobuf::Message& message, const absl::Status& status) {
  return absl::StrCat(message.GetTypeName(), " {", message.ShortDebugString(), "} -> ",
                      status.ToString());
}

}  // namespace lrsched::fuzz
