// The pictures of a job and of a preview, checked as figures (panels, series,
// marks) before they become SVG: what each shows and what it leaves out.
#include "client/job_figure.h"

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lrsched::plot {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

// Steps 0..last with the given rates per group at every step.
std::vector<v1::StepValues> Steps(int last, const std::vector<std::vector<double>>& lrs) {
  std::vector<v1::StepValues> values;
  for (int step = 0; step <= last; ++step) {
    v1::StepValues& value = values.emplace_back();
    value.set_step(step);
    for (double lr : lrs[step]) value.add_lrs(lr);
  }
  return values;
}

// A plateau job of `groups` identical groups over steps 0..29, reduced by
// the metrics of steps 7 and 29 (the last one takes effect at step 30, which
// the run never trained).
v1::Job PlateauJob(int groups) {
  v1::Job job;
  job.set_job_id("plateau");
  job.mutable_spec()->mutable_reduce_lr_on_plateau();
  for (int g = 0; g < groups; ++g) job.add_base_lrs(0.1);
  for (int step = 0; step <= 29; ++step) {
    v1::AggregatedMetric& metric = *job.add_metric_history();
    metric.set_step(step);
    metric.set_value(step < 5 ? 1.0 - step * 0.01 : 0.96 + step * 0.0001);
    metric.mutable_plateau()->set_best(step < 5 ? metric.value() : 0.96);
    metric.set_reduced(step == 7 || step == 29);
    for (int g = 0; g < groups; ++g) metric.add_lrs(step < 7 ? 0.1 : step < 29 ? 0.05 : 0.025);
  }
  return job;
}

std::vector<v1::StepValues> PlateauValues(int last, int groups) {
  std::vector<std::vector<double>> lrs;
  for (int step = 0; step <= last; ++step) {
    lrs.emplace_back(groups, step <= 7 ? 0.1 : step <= 29 ? 0.05 : 0.025);
  }
  return Steps(last, lrs);
}

std::string WriteEpochLog(int epochs) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/epochs.csv");
  std::ofstream file(path);
  file << "epoch,train_loss,validation_loss,validation_accuracy,lr,samples_per_second,reduced\n";
  for (int epoch = 0; epoch < epochs; ++epoch) {
    file << epoch << "," << 2.0 - epoch * 0.05 << ",0.96,0.5,0.1,1000,0\n";
  }
  return path;
}

JobFigureOptions WithEpochLog(const std::string& path) {
  JobFigureOptions options;
  options.epoch_log = path;
  return options;
}

std::vector<double> MarkSteps(const Panel& panel) {
  std::vector<double> steps;
  for (const Mark& mark : panel.marks) steps.push_back(mark.x);
  return steps;
}

TEST(JobFigureTest, IdenticalGroupsShareOneLineAndTheLegendSaysSo) {
  auto figure = JobFigure(PlateauJob(2), PlateauValues(29, 2), {});
  ASSERT_TRUE(figure.ok()) << figure.status();
  ASSERT_THAT(figure->panels[0].series, SizeIs(1));
  EXPECT_EQ(figure->panels[0].series[0].name, "learning rate, groups 0 and 1 (identical)");
  EXPECT_THAT(figure->panels[0].series[0].points, SizeIs(30));
}

TEST(JobFigureTest, GroupsThatDifferAtOneStepHaveALineEach) {
  std::vector<std::vector<double>> lrs(12, {0.1, 0.1, 0.01});
  lrs[5][1] = 0.2;
  const Figure figure = PreviewFigure({}, {}, false);
  EXPECT_THAT(figure.panels[0].series, IsEmpty());
  v1::PreviewScheduleRequest request;
  request.add_base_lrs(0.1);
  v1::PreviewScheduleResponse response;
  for (auto& value : Steps(11, lrs)) *response.add_values() = value;
  const Figure preview = PreviewFigure(request, response, false);
  EXPECT_THAT(preview.panels[0].series,
              ElementsAre(Field(&Series::name, "learning rate, group 0"),
                          Field(&Series::name, "learning rate, group 1"),
                          Field(&Series::name, "learning rate, group 2")));
  lrs[5][1] = 0.1;
  response.clear_values();
  for (auto& value : Steps(11, lrs)) *response.add_values() = value;
  EXPECT_THAT(PreviewFigure(request, response, false).panels[0].series,
              ElementsAre(Field(&Series::name, "learning rate, groups 0 and 1 (identical)"),
                          Field(&Series::name, "learning rate, group 2")));
}

TEST(JobFigureTest, GroupsAreComparedOverTheStepsDrawnOnly) {
  // Identical over the 30 epochs trained; apart in values handed out after.
  std::vector<v1::StepValues> values = PlateauValues(40, 2);
  values.back().set_lrs(1, 0.5);
  auto figure = JobFigure(PlateauJob(2), values, WithEpochLog(WriteEpochLog(30)));
  ASSERT_TRUE(figure.ok()) << figure.status();
  EXPECT_THAT(figure->panels[0].series,
              ElementsAre(Field(&Series::name, "learning rate, groups 0 and 1 (identical)")));
}

TEST(JobFigureTest, MarksOnlyReductionsThatTookEffectAtAStepDrawn) {
  // Values handed out ahead of the run, to step 40; the run trained 0..29.
  auto figure = JobFigure(PlateauJob(1), PlateauValues(40, 1), WithEpochLog(WriteEpochLog(30)));
  ASSERT_TRUE(figure.ok()) << figure.status();
  EXPECT_THAT(figure->panels[0].series[0].points, SizeIs(30));
  for (const Panel& panel : figure->panels) EXPECT_THAT(MarkSteps(panel), ElementsAre(8));
  // Without an epoch log, the steps drawn are the values given.
  figure = JobFigure(PlateauJob(1), PlateauValues(29, 1), {});
  ASSERT_TRUE(figure.ok()) << figure.status();
  EXPECT_THAT(MarkSteps(figure->panels[0]), ElementsAre(8));
  figure = JobFigure(PlateauJob(1), PlateauValues(30, 1), {});
  ASSERT_TRUE(figure.ok()) << figure.status();
  EXPECT_THAT(MarkSteps(figure->panels[0]), ElementsAre(8, 30));
}

TEST(JobFigureTest, TheMetricHasAPanelOfItsOwnWithTheBestValueItIsComparedWith) {
  auto figure = JobFigure(PlateauJob(1), PlateauValues(29, 1), WithEpochLog(WriteEpochLog(30)));
  ASSERT_TRUE(figure.ok()) << figure.status();
  ASSERT_THAT(figure->panels, SizeIs(3));
  const Panel& metric = figure->panels[1];
  EXPECT_EQ(metric.y_label, "validation loss");
  ASSERT_THAT(metric.series, SizeIs(2));
  EXPECT_EQ(metric.series[0].name, "validation loss (aggregated by lrsched)");
  EXPECT_THAT(metric.series[0].points, SizeIs(30));
  EXPECT_THAT(metric.series[1].name, HasSubstr("best so far"));
  EXPECT_THAT(metric.series[1].dash, Not(IsEmpty()));
  // The training loss, which falls from 2 to 0.55, is not on the metric's
  // scale: there the stall at 0.96 would be a flat line.
  EXPECT_EQ(figure->panels[2].y_label, "training loss");
  EXPECT_THAT(figure->panels[2].series, ElementsAre(Field(&Series::name, "training loss")));
}

TEST(JobFigureTest, WithoutMetricsBothLossesShareAPanel) {
  v1::Job job;
  job.set_job_id("cosine");
  job.add_base_lrs(0.01);
  std::vector<std::vector<double>> lrs(15, {0.01});
  auto figure = JobFigure(job, Steps(14, lrs), WithEpochLog(WriteEpochLog(15)));
  ASSERT_TRUE(figure.ok()) << figure.status();
  ASSERT_THAT(figure->panels, SizeIs(2));
  EXPECT_THAT(figure->panels[1].series, ElementsAre(Field(&Series::name, "training loss"),
                                                    Field(&Series::name, "validation loss")));
}

TEST(JobFigureTest, RatesAreShownAsTheShortestTextThatReadsBack) {
  v1::Job job = PlateauJob(1);
  v1::Override& change = *job.add_overrides();
  change.set_effective_step(12);
  change.mutable_lrs()->add_values(0.1 + 0.2);
  auto figure = JobFigure(job, PlateauValues(29, 1), {});
  ASSERT_TRUE(figure.ok()) << figure.status();
  EXPECT_EQ(figure->title, "job plateau: ReduceLROnPlateau, base_lrs 0.1");
  ASSERT_THAT(figure->panels[0].marks, SizeIs(2));
  EXPECT_EQ(figure->panels[0].marks[0].label, "plateau reduction: from step 8, lr 0.05");
  EXPECT_EQ(figure->panels[0].marks[1].label, "override: from step 12, lr 0.30000000000000004");
}

TEST(JobFigureTest, AnEpochLogWithoutTheLossColumnsIsRefused) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/bad.csv");
  std::ofstream(path) << "epoch,loss\n0,1\n";
  auto figure = JobFigure(PlateauJob(1), PlateauValues(29, 1), WithEpochLog(path));
  EXPECT_EQ(figure.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(figure.status().message(), HasSubstr("--epoch_log"));
}

}  // namespace
}  // namespace lrsched::plot
