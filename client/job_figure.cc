#include "client/job_figure.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/ctl_text.h"
#include "service/common/shortest_double.h"

namespace lrsched::plot {
namespace {

constexpr const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"};

// The groups' names in a legend: "group 0", "groups 0 and 1", "groups 0, 1 and 2".
std::string GroupNames(const std::vector<int>& groups) {
  if (groups.size() == 1) return absl::StrCat("group ", groups[0]);
  std::vector<int> head(groups.begin(), groups.end() - 1);
  return absl::StrCat("groups ", absl::StrJoin(head, ", "), " and ", groups.back());
}

// Learning rate of each group per step. Groups with the same rates at every
// step share one line (drawn apart, the first would hide under the last),
// and the legend says they are identical.
std::vector<Series> RateSeries(const std::vector<v1::StepValues>& values) {
  std::vector<Series> series;
  if (values.empty()) return series;
  const int groups = values[0].lrs_size();
  std::vector<std::vector<int>> classes;  // groups with identical rates, by first group
  for (int g = 0; g < groups; ++g) {
    const auto same = [&](const std::vector<int>& members) {
      return std::all_of(values.begin(), values.end(), [&](const v1::StepValues& step) {
        return step.lrs(g) == step.lrs(members[0]);
      });
    };
    const auto found = std::find_if(classes.begin(), classes.end(), same);
    if (found == classes.end()) {
      classes.push_back({g});
    } else {
      found->push_back(g);
    }
  }
  for (const std::vector<int>& members : classes) {
    std::string name = "learning rate";
    if (groups > 1) {
      absl::StrAppend(&name, ", ", GroupNames(members), members.size() > 1 ? " (identical)" : "");
    }
    Series line{name, kColors[series.size() % 5], {}};
    for (const auto& step : values) line.points.emplace_back(step.step(), step.lrs(members[0]));
    series.push_back(std::move(line));
  }
  return series;
}

// Training and validation loss per epoch from lrsched-trainer's --log_csv
// (a header line, then epoch,train_loss,validation_loss,...).
absl::StatusOr<std::vector<Series>> ReadEpochLog(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  if (!file || !std::getline(file, line)) {
    return absl::InvalidArgumentError(absl::StrCat("--epoch_log: cannot read ", path));
  }
  const std::vector<std::string> header = absl::StrSplit(line, ',');
  const auto column = [&](const std::string& name) {
    return std::find(header.begin(), header.end(), name) - header.begin();
  };
  const size_t epoch = column("epoch"), train = column("train_loss"),
               validation = column("validation_loss");
  if (epoch == header.size() || train == header.size() || validation == header.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--epoch_log: ", path, " has no epoch, train_loss and validation_loss columns"));
  }
  std::vector<Series> series = {{"training loss", "#ff7f0e", {}},
                                {"validation loss", "#2ca02c", {}}};
  for (int number = 2; std::getline(file, line); ++number) {
    const std::vector<std::string> fields = absl::StrSplit(line, ',');
    double x, train_loss, validation_loss;
    if (fields.size() != header.size() || !absl::SimpleAtod(fields[epoch], &x) ||
        !absl::SimpleAtod(fields[train], &train_loss) ||
        !absl::SimpleAtod(fields[validation], &validation_loss)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--epoch_log: ", path, " line ", number, " is not a number row"));
    }
    series[0].points.emplace_back(x, train_loss);
    series[1].points.emplace_back(x, validation_loss);
  }
  return series;
}

// Where ReduceLROnPlateau reduced the rates and where overrides took effect,
// with the rates they set, for steps up to `last_drawn` only (a reduction
// decided by the last epoch's metric takes effect at a step the run never
// trained).
std::vector<Mark> EventMarks(const v1::Job& job, double last_drawn) {
  std::vector<Mark> marks;
  for (const auto& metric : job.metric_history()) {
    if (!metric.reduced() || metric.step() + 1 > last_drawn) continue;
    marks.push_back({static_cast<double>(metric.step() + 1),
                     absl::StrCat("plateau reduction: from step ", metric.step() + 1, ", lr ",
                                  ctl::Rates(metric.lrs())),
                     "#d62728"});
  }
  for (const auto& change : job.overrides()) {
    if (change.effective_step() > last_drawn) continue;
    const std::string what = change.has_lrs()
                                 ? absl::StrCat("lr ", ctl::Rates(change.lrs().values()))
                                 : absl::StrCat("factor ", ShortestDouble(change.factor()));
    marks.push_back({static_cast<double>(change.effective_step()),
                     absl::StrCat("override: from step ", change.effective_step(), ", ", what),
                     "#7f7f7f"});
  }
  return marks;
}

// The server's aggregated metric, which ReduceLROnPlateau decides on, with
// the best value it compares each new one with: on a panel of its own, so
// that its range is the metric's own and a stall (the metric staying above
// its best for more than `patience` steps) shows as the reason of each
// reduction.
Panel MetricPanel(const v1::Job& job, bool validation_loss, double last_drawn) {
  Panel panel{validation_loss ? "validation loss" : "aggregated metric", false, {}, {}};
  Series metric{validation_loss ? "validation loss (aggregated by lrsched)" : "aggregated metric",
                "#2ca02c",
                {}};
  Series best{"best so far (what ReduceLROnPlateau compares with)", "#9467bd", {}, "6 4"};
  for (const auto& entry : job.metric_history()) {
    if (entry.step() > last_drawn) continue;
    metric.points.emplace_back(entry.step(), entry.value());
    if (entry.has_plateau() && std::isfinite(entry.plateau().best())) {
      best.points.emplace_back(entry.step(), entry.plateau().best());
    }
  }
  panel.series.push_back(std::move(metric));
  if (!best.points.empty()) panel.series.push_back(std::move(best));
  return panel;
}

}  // namespace

absl::StatusOr<Figure> JobFigure(const v1::Job& job, const std::vector<v1::StepValues>& values,
                                 const JobFigureOptions& options) {
  Figure figure;
  figure.title = absl::StrCat("job ", job.job_id(), ": ", ctl::SchedulerName(job.spec()),
                              ", base_lrs ", ctl::Rates(job.base_lrs()));
  std::vector<Series> losses;  // training, validation
  if (!options.epoch_log.empty()) {
    auto read = ReadEpochLog(options.epoch_log);
    if (!read.ok()) return read.status();
    losses = *std::move(read);
  }
  // A picture of the run: the steps it trained, not the ones handed out
  // ahead of it.
  double last_drawn = values.empty() ? -1 : values.back().step();
  if (!losses.empty() && !losses[0].points.empty()) {
    last_drawn = std::min(last_drawn, losses[0].points.back().first);
  }
  const std::vector<Mark> marks = EventMarks(job, last_drawn);
  std::vector<v1::StepValues> drawn = values;
  drawn.erase(std::remove_if(drawn.begin(), drawn.end(),
                             [&](const v1::StepValues& step) { return step.step() > last_drawn; }),
              drawn.end());
  figure.panels.push_back({"learning rate", options.log_scale, RateSeries(drawn), marks});
  if (job.metric_history_size() > 0) {
    figure.panels.push_back(MetricPanel(job, !losses.empty(), last_drawn));
    // The training loss falls far below the metric's stall: on the metric's
    // scale the stall would be a flat line.
    if (!losses.empty()) figure.panels.push_back({"training loss", false, {losses[0]}, {}});
  } else if (!losses.empty()) {
    figure.panels.push_back({"loss", false, std::move(losses), {}});
  }
  for (size_t p = 1; p < figure.panels.size(); ++p) figure.panels[p].marks = marks;
  if (figure.panels.size() > 2) figure.panel_height = 240;
  return figure;
}

Figure PreviewFigure(const v1::PreviewScheduleRequest& request,
                     const v1::PreviewScheduleResponse& response, bool log_scale) {
  Figure figure;
  figure.title = absl::StrCat("preview: ", ctl::SchedulerName(request.spec()), ", base_lrs ",
                              ctl::Rates(request.base_lrs()));
  Panel rates{"learning rate", log_scale, {}, {}};
  rates.series = RateSeries({response.values().begin(), response.values().end()});
  figure.panels.push_back(std::move(rates));
  return figure;
}

}  // namespace lrsched::plot
