// A small SVG writer for lrsched's pictures: one or more stacked panels of
// line series over a shared step axis, with axis labels, ticks, a legend,
// and marks (vertical lines with a label) for events such as plateau
// reductions and operator overrides. Self-contained SVG 1.1, no scripts, no
// external fonts, so that any browser or image viewer shows it.
#ifndef LRSCHED_CLIENT_SVG_PLOT_H_
#define LRSCHED_CLIENT_SVG_PLOT_H_

#include <string>
#include <utility>
#include <vector>

namespace lrsched::plot {

struct Series {
  std::string name;
  std::string color;  // any SVG color
  std::vector<std::pair<double, double>> points;  // (x, y), x ascending
};

struct Mark {
  double x = 0;
  std::string label;
  std::string color;
};

struct Panel {
  std::string y_label;
  bool log_y = false;  // points with y <= 0 are left out
  std::vector<Series> series;
  std::vector<Mark> marks;
};

struct Figure {
  std::string title;
  std::string x_label = "step";
  int width = 900;
  int panel_height = 300;
  std::vector<Panel> panels;
};

// "Nice" tick values (1, 2 or 5 times a power of ten apart) covering
// [low, high], about `count` of them.
std::vector<double> LinearTicks(double low, double high, int count);
// Powers of ten covering [low, high] (both > 0), or nice linear ticks when the
// range is within one decade.
std::vector<double> LogTicks(double low, double high);

std::string RenderSvg(const Figure& figure);

}  // namespace lrsched::plot

#endif  // LRSCHED_CLIENT_SVG_PLOT_H_
