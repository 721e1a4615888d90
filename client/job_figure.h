// The pictures lrschedctl draws: `plot JOB` (a job's learning rates, its
// metric history, and where reductions and overrides took effect) and
// `preview --plot` (a schedule before any job runs it).
#ifndef LRSCHED_CLIENT_JOB_FIGURE_H_
#define LRSCHED_CLIENT_JOB_FIGURE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/svg_plot.h"
#include "lrsched/v1/job.pb.h"
#include "lrsched/v1/scheduler_service.pb.h"

namespace lrsched::plot {

struct JobFigureOptions {
  bool log_scale = false;
  // lrsched-trainer's --log_csv of the job (empty: none), for its training
  // loss per epoch.
  std::string epoch_log;
};

// The picture of a job: its learning rates (one line per group; groups with
// the same rate at every step drawn share a line, named "groups 0 and 1
// (identical)"); with a metric history, the aggregated metric on a panel of
// its own with ReduceLROnPlateau's best value so far, so that the stall
// behind each reduction shows; with an epoch log, the training loss (on a
// panel of its own when the metric has one, else beside the validation loss).
// Every panel marks the reductions and overrides that took effect at a step
// drawn. Rates in the title and labels are the shortest text that reads back.
//
// `values`: the job's steps to draw, consecutive, as Step returned them; an
// epoch log ends the picture at its last epoch when that comes first.
// INVALID_ARGUMENT naming --epoch_log when that file cannot be read.
absl::StatusOr<Figure> JobFigure(const v1::Job& job, const std::vector<v1::StepValues>& values,
                                 const JobFigureOptions& options);

// A schedule's learning rates as PreviewSchedule computed them.
Figure PreviewFigure(const v1::PreviewScheduleRequest& request,
                     const v1::PreviewScheduleResponse& response, bool log_scale);

}  // namespace lrsched::plot

#endif  // LRSCHED_CLIENT_JOB_FIGURE_H_
