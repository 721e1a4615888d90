// The SVG writer's output, checked for its structure: what a reader of the
// picture relies on (axes, ticks, labels, legend, one line per series, marks)
// rather than its exact bytes.
#include "client/svg_plot.h"

#include <cmath>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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
  return static_cast<int>(
      std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

struct Box {
  double x, y, width, height;
  bool Holds(double px, double py) const {
    return px >= x && px <= x + width && py >= y && py <= y + height;
  }
};

std::vector<Box> LegendBoxes(const std::string& svg) {
  std::vector<Box> boxes;
  const std::regex re("class=\"legend\" data-box=\"([0-9.]+) ([0-9.]+) ([0-9.]+) ([0-9.]+)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator();
       ++it) {
    boxes.push_back(
        {std::stod((*it)[1]), std::stod((*it)[2]), std::stod((*it)[3]), std::stod((*it)[4])});
  }
  return boxes;
}

using Line = std::vector<std::pair<double, double>>;

// Every line drawn over the data: the series' polylines and the marks.
std::vector<Line> DrawnLines(const std::string& svg) {
  std::vector<Line> lines;
  const std::regex polyline("<polyline class=\"series\"[^>]* points=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), polyline);
       it != std::sregex_iterator(); ++it) {
    Line line;
    const std::string points = (*it)[1];
    const std::regex point("(-?[0-9.]+),(-?[0-9.]+)");
    for (auto p = std::sregex_iterator(points.begin(), points.end(), point);
         p != std::sregex_iterator(); ++p) {
      line.emplace_back(std::stod((*p)[1]), std::stod((*p)[2]));
    }
    lines.push_back(line);
  }
  const std::regex mark(
      "class=\"mark\"><line x1=\"([0-9.]+)\" x2=\"([0-9.]+)\" y1=\"([0-9.]+)\" "
      "y2=\"([0-9.]+)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), mark); it != std::sregex_iterator();
       ++it) {
    lines.push_back(
        {{std::stod((*it)[1]), std::stod((*it)[3])}, {std::stod((*it)[2]), std::stod((*it)[4])}});
  }
  return lines;
}

// Whether a line passes through the box: its points, and every pixel along
// each of its segments.
bool Crosses(const Line& line, const Box& box) {
  for (size_t i = 0; i < line.size(); ++i) {
    const auto [x0, y0] = line[i];
    const auto [x1, y1] = i + 1 < line.size() ? line[i + 1] : line[i];
    const int samples = 1 + static_cast<int>(std::hypot(x1 - x0, y1 - y0));
    for (int s = 0; s <= samples; ++s) {
      const double t = static_cast<double>(s) / samples;
      if (box.Holds(x0 + t * (x1 - x0), y0 + t * (y1 - y0))) return true;
    }
  }
  return false;
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
  // Title 40, then per panel a legend strip of one row (38), the frame (300)
  // and its x axis (50), and a margin of 6.
  EXPECT_THAT(svg, HasSubstr("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" "
                             "height=\"822\""));
  EXPECT_EQ(SvgHeight(TwoPanels()), 822);
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
  // A legend per panel: the series, then one entry per kind of mark, with
  // how many there are.
  EXPECT_EQ(Count(svg, "class=\"legend\""), 2);
  EXPECT_EQ(Count(svg, "class=\"legend-entry\""), 4);
  EXPECT_EQ(Count(svg, "class=\"legend-entry\".*>plateau reduction \\(2\\)</text>"), 1);
  EXPECT_EQ(Count(svg, "class=\"legend-entry\".*>override</text>"), 1);
}

// Curves through every corner of the frame and legends long enough to wrap:
// wherever a legend sat inside a frame, a curve would run through it.
Figure CrowdedFigure() {
  Figure figure = TwoPanels();
  Panel crowded{"loss", false, {}, {}};
  for (int i = 0; i < 8; ++i) {
    Series series{"a series with a long descriptive name " + std::to_string(i), "#333", {}};
    for (int step = 0; step <= 40; ++step) {
      series.points.emplace_back(step, i % 2 ? step / 40.0 : 1 - step / 40.0);
    }
    crowded.series.push_back(series);
  }
  crowded.marks = {{0, "override: from step 0", "#7f7f7f"}, {40, "override: at 40", "#7f7f7f"}};
  figure.panels.push_back(crowded);
  return figure;
}

TEST(SvgPlotTest, NoLegendBoxTouchesACurveOrAMark) {
  for (const Figure& figure : {TwoPanels(), CrowdedFigure()}) {
    const std::string svg = RenderSvg(figure);
    const std::vector<Box> boxes = LegendBoxes(svg);
    ASSERT_EQ(boxes.size(), figure.panels.size());
    const std::vector<Line> lines = DrawnLines(svg);
    ASSERT_GE(lines.size(), 4u);
    for (const Box& box : boxes) {
      EXPECT_GE(box.x, 0);
      EXPECT_LE(box.x + box.width, figure.width);
      for (const Line& line : lines) {
        EXPECT_FALSE(Crosses(line, box))
            << "legend box " << box.x << " " << box.y << " " << box.width << " " << box.height;
      }
    }
  }
}

TEST(SvgPlotTest, ALongLegendWrapsIntoRowsWithinTheFigure) {
  const Figure figure = CrowdedFigure();
  const std::string svg = RenderSvg(figure);
  const Box crowded = LegendBoxes(svg).back();
  EXPECT_GT(crowded.height, 2 * 18);
  EXPECT_EQ(Count(svg, "class=\"legend-entry\""), 4 + 8 + 1);
  EXPECT_THAT(svg, HasSubstr(absl::StrCat("height=\"", SvgHeight(figure), "\"")));
}

TEST(SvgPlotTest, DashedSeriesAreDashedInTheLegendToo) {
  Figure figure;
  figure.panels.push_back({"loss", false, {{"best", "#9467bd", {{0, 1.0}, {1, 0.5}}, "6 4"}}, {}});
  const std::string svg = RenderSvg(figure);
  EXPECT_EQ(Count(svg, "stroke-dasharray=\"6 4\""), 2);
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
