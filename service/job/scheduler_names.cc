#include "service/job/scheduler_names.h"

namespace lrsched {

std::string SchedulerClassName(v1::SchedulerSpec::KindCase kind) {
  const auto* field = v1::SchedulerSpec::descriptor()->FindFieldByNumber(kind);
  return field == nullptr ? "" : field->message_type()->name();
}

std::string SchedulerFieldName(v1::SchedulerSpec::KindCase kind) {
  const auto* field = v1::SchedulerSpec::descriptor()->FindFieldByNumber(kind);
  return field == nullptr ? "none" : field->name();
}

}  // namespace lrsched
