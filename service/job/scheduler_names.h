// The names of the scheduler a spec holds, as people read them in logs,
// metrics and error messages.
#ifndef LRSCHED_SERVICE_JOB_SCHEDULER_NAMES_H_
#define LRSCHED_SERVICE_JOB_SCHEDULER_NAMES_H_

#include <string>

#include "lrsched/v1/scheduler_spec.pb.h"

namespace lrsched {

// The PyTorch class a spec's scheduler is, e.g. "ReduceLROnPlateau"; "" when
// the spec has none.
std::string SchedulerClassName(v1::SchedulerSpec::KindCase kind);

// The spec's field of its scheduler, e.g. "reduce_lr_on_plateau"; "none" when
// the spec has none.
std::string SchedulerFieldName(v1::SchedulerSpec::KindCase kind);

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_JOB_SCHEDULER_NAMES_H_
