// Views of a job for comparing a server with itself across a restart or a
// replay.
#ifndef LRSCHED_TESTS_TESTING_JOB_VIEWS_H_
#define LRSCHED_TESTS_TESTING_JOB_VIEWS_H_

#include "lrsched/v1/job.pb.h"

namespace lrsched::testing {

// A job's view without the workers' progress (Job.worker_steps), which the
// server knows exactly only for the calls it served itself: its log records
// a rank's request once per handed-out chunk, not at every Step.
inline v1::Job WithoutLiveProgress(v1::Job job) {
  job.clear_worker_steps();
  return job;
}

}  // namespace lrsched::testing

#endif  // LRSCHED_TESTS_TESTING_JOB_VIEWS_H_
