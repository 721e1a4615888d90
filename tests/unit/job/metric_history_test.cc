#include "service/job/metric_history.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace lrsched {
namespace {

MetricHistory::Entry Decision(int64_t step, double value) {
  MetricHistory::Entry entry;
  entry.metric.set_step(step);
  entry.metric.set_value(value);
  entry.reports.push_back(MetricReport{value, 1.0});
  return entry;
}

TEST(MetricHistoryTest, FindsOnlyTheStepsItRecordedAndStillKeeps) {
  MetricHistory history;
  history.Add(Decision(3, 0.5));
  history.Add(Decision(5, 0.25));
  history.Add(Decision(6, 0.125));
  ASSERT_NE(history.Find(5), nullptr);
  EXPECT_EQ(history.Find(5)->metric.value(), 0.25);
  EXPECT_EQ(history.Find(4), nullptr);
  EXPECT_EQ(history.latest().step(), 6);

  history.DropBefore(5);
  EXPECT_EQ(history.first_step(), 5);
  EXPECT_EQ(history.Find(3), nullptr);
  history.DropBefore(7);
  EXPECT_TRUE(history.empty());
}

TEST(MetricHistoryTest, ShowsADecisionOnlyOnceTheStepItDecidesMayBeShown) {
  MetricHistory history;
  history.Add(Decision(3, 0.5));
  history.Add(Decision(4, 0.25));
  google::protobuf::RepeatedPtrField<v1::AggregatedMetric> shown;
  history.AppendShown(4, &shown);
  ASSERT_EQ(shown.size(), 1);
  EXPECT_EQ(shown[0].step(), 3);
}

TEST(MetricHistoryTest, SameDecisionComparesBitsWithNaNEqualToItself) {
  v1::AggregatedMetric a;
  a.set_step(2);
  a.set_value(std::numeric_limits<double>::quiet_NaN());
  a.add_lrs(0.1);
  v1::AggregatedMetric b = a;
  EXPECT_TRUE(SameDecision(a, b));
  b.set_lrs(0, std::nextafter(0.1, 1.0));
  EXPECT_FALSE(SameDecision(a, b));
}

}  // namespace
}  // namespace lrsched
