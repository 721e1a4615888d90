#include "service/job/metric_history.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace lrsched {
namespace {

constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();

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
  EXPECT_FALSE(history.AppendShown(4, kNoLimit, kNoLimit, &shown));
  ASSERT_EQ(shown.size(), 1);
  EXPECT_EQ(shown[0].step(), 3);
}

TEST(MetricHistoryTest, PagesBackFromTheLatestByBytes) {
  MetricHistory history;
  for (int64_t step = 0; step < 100; ++step) history.Add(Decision(step, 0.5));
  const size_t each = history.latest().ByteSizeLong() + 4;
  google::protobuf::RepeatedPtrField<v1::AggregatedMetric> page;
  EXPECT_TRUE(history.AppendShown(100, kNoLimit, 30 * each, &page));
  ASSERT_EQ(page.size(), 30);
  EXPECT_EQ(page[0].step(), 70);
  EXPECT_EQ(page[29].step(), 99);
  // The page before it, and the last page, which has nothing older.
  page.Clear();
  EXPECT_TRUE(history.AppendShown(100, 70, 30 * each, &page));
  EXPECT_EQ(page[0].step(), 40);
  EXPECT_EQ(page[29].step(), 69);
  page.Clear();
  EXPECT_FALSE(history.AppendShown(100, 10, 30 * each, &page));
  ASSERT_EQ(page.size(), 10);
  EXPECT_EQ(page[0].step(), 0);
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
