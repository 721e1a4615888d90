// etcd's protos are vendored verbatim and third_party/etcd/strip_options.sh
// cuts out what only Go needs (the gogoproto options, the grpc-gateway's
// google.api.http routes and their imports) before etcd_proto compiles them.
// lrsched talks to a real etcd with those messages, so the cut must leave
// etcd's wire format and services exactly as they are. This test compiles
// the originals (against stand-ins for the Go-only imports) and the stripped
// copies to descriptors, takes the Go-only options out of the originals, and
// requires the rest to be identical.

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace lrsched {
namespace {

using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::FileDescriptorProto;
using ::google::protobuf::FileDescriptorSet;
using ::google::protobuf::Message;
using ::google::protobuf::UnknownFieldSet;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

constexpr char kKvProto[] = "etcd/mvcc/mvccpb/kv.proto";
constexpr char kAuthProto[] = "etcd/auth/authpb/auth.proto";
constexpr char kRpcProto[] = "etcd/etcdserver/etcdserverpb/rpc.proto";

constexpr char kGogoImport[] = "gogoproto/gogo.proto";
constexpr char kAnnotationsImport[] = "google/api/annotations.proto";

// This binary links neither stand-in, so their extensions parse as unknown
// fields of the options, known by number only: gogo.proto's numbers for the
// FileOptions etcd sets, and google.api.http on MethodOptions.
const std::set<int>& GogoFileOptionNumbers() {
  static const auto* const numbers = new std::set<int>{
      63001,  // goproto_getters_all
      63002,  // goproto_enum_prefix_all
      63017,  // marshaler_all
      63018,  // unmarshaler_all
      63020,  // sizer_all
  };
  return *numbers;
}
constexpr int kHttpMethodOptionNumber = 72295728;

// What a FileDescriptorProto lost to the strip, counted so the test can tell
// that the originals had something to lose.
struct Removed {
  int imports = 0;
  int file_options = 0;
  int http_methods = 0;
};

std::map<std::string, FileDescriptorProto> ReadDescriptorSet(const std::string& path) {
  std::ifstream input(path, std::ios::binary);
  FileDescriptorSet set;
  if (!input || !set.ParseFromIstream(&input)) {
    ADD_FAILURE() << "cannot read a FileDescriptorSet from " << path;
    return {};
  }
  std::map<std::string, FileDescriptorProto> files;
  for (const FileDescriptorProto& file : set.file()) files[file.name()] = file;
  return files;
}

// Deletes the unknown fields of `options` numbered in `numbers`; returns how
// many distinct numbers were there.
int DeleteUnknownFields(Message& options, const std::set<int>& numbers) {
  UnknownFieldSet* unknown = options.GetReflection()->MutableUnknownFields(&options);
  std::set<int> found;
  for (int i = 0; i < unknown->field_count(); ++i) {
    if (numbers.count(unknown->field(i).number()) > 0) found.insert(unknown->field(i).number());
  }
  for (int number : found) unknown->DeleteByNumber(number);
  return static_cast<int>(found.size());
}

// The original as strip_options.sh should leave it. Only the Go-only options
// go: any other option stays and must then be in the stripped copy too.
Removed RemoveGoOnlyOptions(FileDescriptorProto& file) {
  Removed removed;
  auto* dependencies = file.mutable_dependency();
  for (auto it = dependencies->begin(); it != dependencies->end();) {
    if (*it == kGogoImport || *it == kAnnotationsImport) {
      it = dependencies->erase(it);
      ++removed.imports;
    } else {
      ++it;
    }
  }
  if (file.has_options()) {
    removed.file_options = DeleteUnknownFields(*file.mutable_options(), GogoFileOptionNumbers());
  }
  for (auto& service : *file.mutable_service()) {
    for (auto& method : *service.mutable_method()) {
      if (!method.has_options()) continue;
      removed.http_methods +=
          DeleteUnknownFields(*method.mutable_options(), {kHttpMethodOptionNumber});
    }
  }
  return removed;
}

// Clears every `options` field in `message`, nested ones too, that sets no
// option. protoc gives an rpc written with a body, `rpc A(B) returns (C) {}`,
// an empty options message that the same rpc ending in `;` lacks; the strip
// leaves such empty bodies behind, and either way nothing reaches the wire.
void ClearEmptyOptions(Message& message) {
  const auto* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const auto* field : fields) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        ClearEmptyOptions(*reflection->MutableRepeatedMessage(&message, field, i));
      }
    } else if (field->name() == "options" &&
               reflection->GetMessage(message, field).ByteSizeLong() == 0) {
      reflection->ClearField(&message, field);
    } else {
      ClearEmptyOptions(*reflection->MutableMessage(&message, field));
    }
  }
}

// What the comparison looks at: no empty options, and no source info, whose
// line numbers differ by construction and are not wire format either.
FileDescriptorProto Normalized(FileDescriptorProto file) {
  ClearEmptyOptions(file);
  file.clear_source_code_info();
  return file;
}

// How many `options` fields anywhere in `message`, nested ones too, set an
// option.
int CountOptions(const Message& message) {
  const auto* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  int count = 0;
  for (const auto* field : fields) {
    if (field->name() == "options" && reflection->GetMessage(message, field).ByteSizeLong() > 0) {
      ++count;
    }
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        count += CountOptions(reflection->GetRepeatedMessage(message, field, i));
      }
    } else {
      count += CountOptions(reflection->GetMessage(message, field));
    }
  }
  return count;
}

// An empty string when equal, else what differs.
std::string Difference(const FileDescriptorProto& original, const FileDescriptorProto& stripped) {
  std::string report;
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&report);
  if (differencer.Compare(original, stripped)) return "";
  return report.empty() ? "(differ)" : report;
}

std::vector<std::string> Names(const std::map<std::string, FileDescriptorProto>& files) {
  std::vector<std::string> names;
  for (const auto& [name, file] : files) names.push_back(name);
  return names;
}

class EtcdProtoStripTest : public ::testing::Test {
 protected:
  void SetUp() override {
    originals_ = ReadDescriptorSet(ETCD_ORIGINAL_DESCRIPTORS);
    stripped_ = ReadDescriptorSet(ETCD_STRIPPED_DESCRIPTORS);
    ASSERT_FALSE(originals_.empty());
    ASSERT_FALSE(stripped_.empty());
  }

  std::map<std::string, FileDescriptorProto> originals_;
  std::map<std::string, FileDescriptorProto> stripped_;
};

TEST_F(EtcdProtoStripTest, StrippedImportNothingButEachOther) {
  EXPECT_THAT(Names(stripped_), UnorderedElementsAre(kKvProto, kAuthProto, kRpcProto));
  for (const char* name : {kKvProto, kAuthProto, kRpcProto}) {
    EXPECT_EQ(originals_.count(name), 1u) << name;
  }
}

// Without this the comparison below could pass on files that never had the
// options, e.g. if the originals were replaced by stripped copies.
TEST_F(EtcdProtoStripTest, OriginalsHaveTheGoOnlyOptions) {
  for (const char* name : {kKvProto, kAuthProto}) {
    FileDescriptorProto file = originals_.at(name);
    const Removed removed = RemoveGoOnlyOptions(file);
    EXPECT_EQ(removed.imports, 1) << name;
    EXPECT_EQ(removed.file_options, 5) << name;
    EXPECT_EQ(removed.http_methods, 0) << name;
  }

  FileDescriptorProto rpc = originals_.at(kRpcProto);
  int methods = 0;
  for (const auto& service : rpc.service()) methods += service.method_size();
  const Removed removed = RemoveGoOnlyOptions(rpc);
  EXPECT_EQ(removed.imports, 2);
  EXPECT_EQ(removed.file_options, 2);
  EXPECT_GT(methods, 0);
  EXPECT_EQ(removed.http_methods, methods) << "every etcd rpc has a REST route";
}

TEST_F(EtcdProtoStripTest, StrippedHaveNoOptionsLeft) {
  for (const auto& [name, file] : stripped_) {
    EXPECT_EQ(CountOptions(file), 0) << name;
    EXPECT_THAT(file.dependency(), Each(StartsWith("etcd/"))) << name;
  }
}

TEST_F(EtcdProtoStripTest, StrippedEqualOriginalsLessGoOnlyOptions) {
  for (const auto& [name, stripped] : stripped_) {
    ASSERT_EQ(originals_.count(name), 1u) << name;
    FileDescriptorProto original = originals_.at(name);
    RemoveGoOnlyOptions(original);
    EXPECT_EQ(Difference(Normalized(original), Normalized(stripped)), "") << name;
  }
}

// The comparison must be able to fail, on what matters to the wire and on a
// leftover option alike.
TEST_F(EtcdProtoStripTest, ComparisonSeesWhatDiffers) {
  const FileDescriptorProto stripped = Normalized(stripped_.at(kKvProto));
  FileDescriptorProto original = Normalized(originals_.at(kKvProto));
  EXPECT_NE(Difference(original, stripped), "") << "options not removed yet";

  RemoveGoOnlyOptions(original);
  original = Normalized(original);
  ASSERT_EQ(Difference(original, stripped), "");
  ASSERT_GT(original.message_type_size(), 0);
  ASSERT_GT(original.message_type(0).field_size(), 0);
  auto* field = original.mutable_message_type(0)->mutable_field(0);
  field->set_number(field->number() + 100);
  EXPECT_THAT(Difference(original, stripped), HasSubstr("number"));
}

}  // namespace
}  // namespace lrsched
