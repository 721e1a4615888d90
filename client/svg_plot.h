// A small SVG writer for lrsched's pictures: one or more stacked panels of
// line series over a shared step axis, with axis labels, ticks, a legend,
// and marks (vertical lines with a label) for events such as plateau
// reductions and operator overrides. Self-contained SVG 1.1, no scripts, no
// external fonts, so that any browser or image viewer shows it.
//
// Each panel's legend sits in a strip of its own above the panel's frame, so
// it never hides a curve, whatever the data. The SVG names its geometry for
// tests: a legend is `<g class="legend" data-box="X Y W H">` holding every
// pixel it draws, and each series is a `<polyline class="series">`.
//
// Plain functions, no shared state: safe to call from any thread.
#ifndef LRSCHED_CLIENT_SVG_PLOT_H_
#define LRSCHED_CLIENT_SVG_PLOT_H_

#include <string>
#include <utility>
#include <vector>

namespace lrsched::plot {

struct Series {
  std::string name;
  std::string color;                              // any SVG color
  std::vector<std::pair<double, double>> points;  // (x, y), x ascending
  // An SVG stroke-dasharray ("6 4"), or empty for a solid line.
  std::string dash = "";
};

struct Mark {
  double x = 0;
  // "KIND: details"; the legend has one entry per KIND, with their number
  // ("plateau reduction (7)"), and each mark shows its label on hover.
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
  // The frame of each panel; its legend strip comes on top of it.
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

// The pixel height RenderSvg gives `figure`: frames, legend strips, title and
// axis labels.
int SvgHeight(const Figure& figure);

}  // namespace lrsched::plot

#endif  // LRSCHED_CLIENT_SVG_PLOT_H_
