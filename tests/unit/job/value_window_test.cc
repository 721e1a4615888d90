#include "service/job/value_window.h"

#include <vector>

#include "gtest/gtest.h"

namespace lrsched {
namespace {

std::vector<double> Rates(int64_t step) { return {1.0 * step, 0.5 * step}; }
std::vector<double> Momentums(int64_t step) { return {0.9 + step, 0.8 + step}; }

// Steps well past the capacity wrap around the ring many times: every
// retained step still has its own values, and an override of the latest
// step lands on it alone.
TEST(ValueWindowTest, KeepsTheLatestStepsAcrossManyWrapsOfItsRing) {
  ValueWindow window(2, /*momentums=*/true, /*capacity=*/7);
  EXPECT_EQ(window.last(), -1);
  for (int64_t step = 0; step < 40; ++step) {
    window.Append(Rates(step), Momentums(step));
    EXPECT_EQ(window.last(), step);
    EXPECT_EQ(window.first(), std::max<int64_t>(0, step - 6));
    for (int64_t s = window.first(); s <= window.last(); ++s) {
      v1::StepValues values;
      window.Fill(s, &values);
      ASSERT_EQ(values.step(), s);
      ASSERT_EQ(std::vector<double>(values.lrs().begin(), values.lrs().end()), Rates(s));
      ASSERT_EQ(std::vector<double>(values.momentums().begin(), values.momentums().end()),
                Momentums(s));
    }
    EXPECT_FALSE(window.Contains(window.first() - 1));
  }
  window.ReplaceLast({7.0, 8.0}, {0.1, 0.2});
  v1::StepValues last, before;
  window.Fill(39, &last);
  window.Fill(38, &before);
  EXPECT_EQ(last.lrs(1), 8.0);
  EXPECT_EQ(last.momentums(0), 0.1);
  EXPECT_EQ(before.lrs(0), 38.0);
}

TEST(ValueWindowTest, WithoutMomentumsAStepTakesOneValuePerGroup) {
  ValueWindow window(3, /*momentums=*/false, /*capacity=*/2);
  EXPECT_EQ(window.stride(), 3u);
  for (int64_t step = 0; step < 5; ++step) window.Append({1.0 * step, 2.0, 3.0}, {});
  v1::StepValues values;
  window.Fill(3, &values);
  EXPECT_EQ(values.lrs(0), 3.0);
  EXPECT_EQ(values.momentums_size(), 0);
  EXPECT_EQ(window.first(), 3);
}

}  // namespace
}  // namespace lrsched
