// How lrschedctl and its pictures name things to a person.
#ifndef LRSCHED_CLIENT_CTL_TEXT_H_
#define LRSCHED_CLIENT_CTL_TEXT_H_

#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "google/protobuf/repeated_field.h"
#include "lrsched/v1/scheduler_spec.pb.h"
#include "service/common/shortest_double.h"

namespace lrsched::ctl {

// The scheduler's PyTorch name: the message type of the spec's kind.
inline std::string SchedulerName(const v1::SchedulerSpec& spec) {
  const auto* field = spec.GetDescriptor()->FindFieldByNumber(spec.kind_case());
  return field == nullptr ? "(none)" : field->message_type()->name();
}

// Rates as Python prints them: the shortest text that reads back the same.
inline std::string Rates(const google::protobuf::RepeatedField<double>& rates) {
  std::vector<std::string> texts;
  for (double rate : rates) texts.push_back(ShortestDouble(rate));
  return absl::StrJoin(texts, ",");
}

}  // namespace lrsched::ctl

#endif  // LRSCHED_CLIENT_CTL_TEXT_H_
