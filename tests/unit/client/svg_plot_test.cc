// The SVG writer's output, checked for its structure: what a reader of the
// picture relies on (axes, ticks, labels, legend, one line per series, marks)
// rather than its exact bytes.
#include "client/svg_plot.h"

#include <regex>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lrsched::plot {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// A coordinate or attribute that came out as NaN or infinity.
constexpr char kNonFinite[] = "(=\"|,| )-?(nan|inf)";

int Count(const std::string& text, const std::string& pattern) {
  const std::regex re(pattern);
  return static_cast<int>(std::distance(std::sregex_iterator(text.begin(), text.end(), re),
                                        std::sregex_iterator()));
}

Figure TwoPanels() {
  Figure figure;
  figure.title = "job <a&b>";
  Panel rates{"learning rate", /*log_y=*/true, {}, {}};
  Series lr{"learning rate", "#1f77b4", {}};
  for (int step = 0; step <= 40; ++step) lr.points.emplace_back(step, 0.1 / (1 << (step / 10)));
  rates.series.push_back(lr);
  rates.marks = {{10, "plateau reduction: from step 10", "#d62728"},
                 {20, "plateau reduction: from step 20", "#d62728"},
                 {45, "override: from step 45", "#7f7f7f"}};
  figure.panels.push_back(rates);
  Panel metric{"aggregated metric", false, {{"metric", "#2ca02c", {{0, 1.0}, {1, 0.8}}}}, {}};
  figure.panels.push_back(metric);
  return figure;
}

TEST(SvgPlotTest, HasTheSizeTitleAxesAndLabelsOfEveryPanel) {
  const std::string svg = RenderSvg(TwoPanels());
  EXPECT_THAT(svg, HasSubstr("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" "
                             "height=\"770\""));
  EXPECT_THAT(svg, HasSubstr(">job &lt;a&amp;b&gt;</text>"));
  EXPECT_EQ(Count(svg, "class=\"panel\""), 2);
  EXPECT_EQ(Count(svg, "class=\"frame\""), 2);
  EXPECT_EQ(Count(svg, "class=\"x-label\"[^>]*>step<"), 2);
  EXPECT_THAT(svg, HasSubstr(">learning rate (log scale)</text>"));
  EXPECT_THAT(svg, HasSubstr(">aggregated metric</text>"));
  EXPECT_EQ(Count(svg, kNonFinite), 0);
  EXPECT_TRUE(svg.rfind("</svg>\n") == svg.size() - 7);
}

TEST(SvgPlotTest, DrawsOneLinePerSeriesWithEveryPointAndTheMarks) {
  const std::string svg = RenderSvg(TwoPanels());
  EXPECT_EQ(Count(svg, "<polyline class=\"series\""), 2);
  EXPECT_THAT(svg, HasSubstr("data-name=\"learning rate\" data-points=\"41\""));
  EXPECT_THAT(svg, HasSubstr("data-name=\"metric\" data-points=\"2\""));
  EXPECT_EQ(Count(svg, "class=\"mark\""), 3);
  EXPECT_THAT(svg, HasSubstr("<title>override: from step 45</title>"));
  // The legend: the series, then one entry per kind of mark.
  EXPECT_EQ(Count(svg, "class=\"legend\""), 4);
  EXPECT_EQ(Count(svg, "class=\"legend\".*>plateau reduction</text>"), 1);
}

TEST(SvgPlotTest, LogScaleTicksArePowersOfTen) {
  const std::string svg = RenderSvg(TwoPanels());
  EXPECT_THAT(svg, HasSubstr("class=\"y-tick\""));
  EXPECT_THAT(svg, HasSubstr(">0.1</text>"));
  EXPECT_THAT(svg, HasSubstr(">0.01</text>"));
  EXPECT_THAT(LogTicks(0.0004, 0.2), ElementsAre(0.001, 0.01, 0.1));
}

TEST(SvgPlotTest, LinearTicksAreRoundNumbersCoveringTheRange) {
  EXPECT_THAT(LinearTicks(0, 40, 8), ElementsAre(0, 5, 10, 15, 20, 25, 30, 35, 40));
  EXPECT_THAT(LinearTicks(0.63, 0.647, 5),
              ElementsAre(DoubleNear(0.63, 1e-12), DoubleNear(0.635, 1e-12),
                          DoubleNear(0.64, 1e-12), DoubleNear(0.645, 1e-12)));
}

TEST(SvgPlotTest, NonPositiveValuesAreLeftOutOnALogScale) {
  Figure figure;
  figure.panels.push_back({"lr", true, {{"lr", "red", {{0, 0.0}, {1, 0.1}, {2, 0.01}}}}, {}});
  const std::string svg = RenderSvg(figure);
  EXPECT_THAT(svg, HasSubstr("data-points=\"2\""));
}

TEST(SvgPlotTest, AnEmptyOrFlatFigureStillHasFiniteAxes) {
  Figure figure;
  figure.panels.push_back({"lr", false, {{"lr", "red", {{0, 0.1}, {1, 0.1}}}}, {}});
  figure.panels.push_back({"nothing", false, {}, {}});
  const std::string svg = RenderSvg(figure);
  EXPECT_EQ(Count(svg, kNonFinite), 0);
  EXPECT_EQ(Count(svg, "class=\"panel\""), 2);
}

}  // namespace
}  // namespace lrsched::plot
