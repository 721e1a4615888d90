#include "client/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace lrsched::plot {
namespace {

// Margins: left of the frames for y ticks and label; above the first legend
// for the title; below each frame for its x ticks and label.
constexpr int kLeft = 90, kRight = 30, kTitle = 40, kBelowFrame = 50, kBottom = 6;
// The legend strip: rows of entries in a box, then a gap before the frame.
constexpr int kRowHeight = 18, kPadding = 6, kLegendGap = 8, kSwatch = 22, kEntryGap = 18;

std::string Escape(const std::string& text) {
  return absl::StrReplaceAll(text,
                             {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

std::string TickLabel(double value) { return absl::StrFormat("%g", value); }

// An upper bound of the width of 12px sans-serif text, without the font's
// metrics (DejaVu Sans, the widest common one, is the reference): the
// legend's box must hold its text in whichever font a viewer picks.
int TextWidth(const std::string& text) {
  double width = 0;
  for (char c : text) {
    const bool narrow = std::string_view(" ,.:;()[]'!|iljtfr").find(c) != std::string_view::npos;
    const bool wide = (c >= 'A' && c <= 'Z') || c == 'm' || c == 'w';
    width += narrow ? 5 : wide ? 12 : 8;
  }
  return static_cast<int>(std::ceil(width));
}

// Maps data to pixels along one axis.
struct Axis {
  double low, high;
  double from, to;  // pixels
  bool log;
  double operator()(double v) const {
    const double a = log ? std::log10(low) : low;
    const double b = log ? std::log10(high) : high;
    const double t = ((log ? std::log10(v) : v) - a) / (b - a);
    return from + t * (to - from);
  }
};

struct LegendEntry {
  std::string name, color, dash;
  int x = 0, y = 0;  // of the swatch's left end, relative to the box
};

struct Legend {
  std::vector<LegendEntry> entries;
  int width = 0, height = 0;  // of the box; 0 when there are no entries
  int Strip() const { return entries.empty() ? 0 : height + kLegendGap; }
};

// The series, then one entry per kind of mark with their number, flowed
// into rows as wide as the frame.
Legend LayOutLegend(const Panel& panel, int plot_width) {
  Legend legend;
  for (const Series& series : panel.series) {
    legend.entries.push_back({series.name, series.color, series.dash});
  }
  // Kinds of marks in order of appearance, with how many there are.
  std::vector<std::pair<const Mark*, int>> kinds;
  const auto kind = [](const Mark& mark) { return mark.label.substr(0, mark.label.find(':')); };
  for (const Mark& mark : panel.marks) {
    const auto same = [&](const auto& entry) { return kind(*entry.first) == kind(mark); };
    const auto found = std::find_if(kinds.begin(), kinds.end(), same);
    if (found == kinds.end()) {
      kinds.emplace_back(&mark, 1);
    } else {
      ++found->second;
    }
  }
  for (const auto& [mark, count] : kinds) {
    legend.entries.push_back({count > 1 ? absl::StrCat(kind(*mark), " (", count, ")") : kind(*mark),
                              mark->color, "4 3"});
  }
  if (legend.entries.empty()) return legend;
  int x = kPadding, rows = 1;
  for (LegendEntry& entry : legend.entries) {
    const int width = kSwatch + 6 + TextWidth(entry.name);
    if (x > kPadding && x + width > plot_width - kPadding) x = kPadding, ++rows;
    entry.x = x;
    entry.y = kPadding + (rows - 1) * kRowHeight + kRowHeight / 2;
    x += width + kEntryGap;
    legend.width = std::max(legend.width, x - kEntryGap + kPadding);
  }
  legend.height = rows * kRowHeight + 2 * kPadding;
  return legend;
}

std::string RenderLegend(const Legend& legend, int left, int top) {
  if (legend.entries.empty()) return "";
  std::string svg = absl::StrFormat(
      "<g class=\"legend\" data-box=\"%d %d %d %d\">\n<rect class=\"legend-box\" x=\"%d\" "
      "y=\"%d\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
      left, top, legend.width, legend.height, left, top, legend.width, legend.height);
  for (const LegendEntry& entry : legend.entries) {
    const int x = left + entry.x, y = top + entry.y;
    absl::StrAppendFormat(
        &svg,
        "<g class=\"legend-entry\"><line x1=\"%d\" x2=\"%d\" y1=\"%d\" "
        "y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"%s/><text x=\"%d\" y=\"%d\" "
        "dominant-baseline=\"middle\">%s</text></g>\n",
        x, x + kSwatch, y, y, entry.color,
        entry.dash.empty() ? "" : absl::StrCat(" stroke-dasharray=\"", entry.dash, "\""),
        x + kSwatch + 6, y, Escape(entry.name));
  }
  return svg + "</g>\n";
}

// One x range for every panel: the series' points and the marks.
Axis XAxis(const Figure& figure, int plot_width) {
  double low = std::numeric_limits<double>::infinity(), high = -low;
  for (const Panel& panel : figure.panels) {
    for (const Series& series : panel.series) {
      for (const auto& [x, y] : series.points) {
        low = std::min(low, x);
        high = std::max(high, x);
      }
    }
    for (const Mark& mark : panel.marks) {
      low = std::min(low, mark.x);
      high = std::max(high, mark.x);
    }
  }
  if (!std::isfinite(low)) low = 0, high = 1;
  if (high == low) high = low + 1;
  return {low, high, static_cast<double>(kLeft), static_cast<double>(kLeft + plot_width), false};
}

// The panel's own y range, padded, so that small changes (a metric that
// stalls) fill the frame.
Axis YAxis(const Panel& panel, int top, int bottom) {
  double low = std::numeric_limits<double>::infinity(), high = -low;
  for (const Series& series : panel.series) {
    for (const auto& [x, y] : series.points) {
      if ((panel.log_y && !(y > 0)) || !std::isfinite(y)) continue;
      low = std::min(low, y);
      high = std::max(high, y);
    }
  }
  if (!std::isfinite(low)) low = panel.log_y ? 1 : 0, high = panel.log_y ? 10 : 1;
  if (high == low) {
    low = panel.log_y ? low / 2 : low - std::max(std::abs(low) * 0.1, 1e-12);
    high = panel.log_y ? high * 2 : high + std::max(std::abs(high) * 0.1, 1e-12);
  }
  if (panel.log_y) {
    low = std::pow(10, std::floor(std::log10(low) * 10) / 10);
    high = std::pow(10, std::ceil(std::log10(high) * 10) / 10);
  } else {
    const double pad = (high - low) * 0.05;
    low -= pad;
    high += pad;
  }
  return {low, high, static_cast<double>(bottom), static_cast<double>(top), panel.log_y};
}

std::string RenderAxes(const Panel& panel, const Axis& x_axis, const Axis& y_axis,
                       const std::string& x_label, int top, int bottom) {
  const int plot_width = static_cast<int>(x_axis.to - x_axis.from);
  std::string svg = absl::StrFormat(
      "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
      "stroke=\"#444\"/>\n",
      kLeft, top, plot_width, bottom - top);
  const std::vector<double> y_ticks =
      panel.log_y ? LogTicks(y_axis.low, y_axis.high) : LinearTicks(y_axis.low, y_axis.high, 5);
  for (double tick : y_ticks) {
    if (tick < y_axis.low || tick > y_axis.high) continue;
    const double y = y_axis(tick);
    absl::StrAppendFormat(&svg,
                          "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" "
                          "stroke=\"#ddd\"/>\n<text class=\"y-tick\" x=\"%d\" y=\"%.1f\" "
                          "text-anchor=\"end\" dominant-baseline=\"middle\">%s</text>\n",
                          kLeft, kLeft + plot_width, y, y, kLeft - 6, y, TickLabel(tick));
  }
  for (double tick : LinearTicks(x_axis.low, x_axis.high, 8)) {
    if (tick < x_axis.low || tick > x_axis.high) continue;
    const double x = x_axis(tick);
    absl::StrAppendFormat(&svg,
                          "<line class=\"x-tick-mark\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" "
                          "y2=\"%d\" stroke=\"#444\"/>\n<text class=\"x-tick\" x=\"%.1f\" "
                          "y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                          x, x, bottom, bottom + 5, x, bottom + 18, TickLabel(tick));
  }
  absl::StrAppendFormat(&svg,
                        "<text class=\"y-label\" transform=\"translate(22 %d) rotate(-90)\" "
                        "text-anchor=\"middle\">%s%s</text>\n",
                        (top + bottom) / 2, Escape(panel.y_label),
                        panel.log_y ? " (log scale)" : "");
  absl::StrAppendFormat(&svg,
                        "<text class=\"x-label\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s"
                        "</text>\n",
                        kLeft + plot_width / 2, bottom + 36, Escape(x_label));
  return svg;
}

// Marks under the series, then a polyline per series in the order given.
std::string RenderData(const Panel& panel, const Axis& x_axis, const Axis& y_axis, int top,
                       int bottom) {
  std::string svg;
  for (const Mark& mark : panel.marks) {
    if (mark.x < x_axis.low || mark.x > x_axis.high) continue;
    const double x = x_axis(mark.x);
    absl::StrAppendFormat(&svg,
                          "<g class=\"mark\"><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" "
                          "stroke=\"%s\" stroke-dasharray=\"4 3\"/><title>%s</title></g>\n",
                          x, x, top, bottom, mark.color, Escape(mark.label));
  }
  for (const Series& series : panel.series) {
    std::string points;
    int count = 0;
    for (const auto& [x, y] : series.points) {
      if (!std::isfinite(y) || (panel.log_y && !(y > 0))) continue;
      absl::StrAppendFormat(&points, "%s%.2f,%.2f", count++ ? " " : "", x_axis(x),
                            y_axis(std::clamp(y, y_axis.low, y_axis.high)));
    }
    absl::StrAppendFormat(
        &svg,
        "<polyline class=\"series\" data-name=\"%s\" data-points=\"%d\" "
        "fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s points=\"%s\"/>\n",
        Escape(series.name), count, series.color,
        series.dash.empty() ? "" : absl::StrCat(" stroke-dasharray=\"", series.dash, "\""), points);
  }
  return svg;
}

}  // namespace

std::vector<double> LinearTicks(double low, double high, int count) {
  if (!(high > low)) return {low};
  const double raw = (high - low) / std::max(1, count);
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double multiple : {1.0, 2.0, 5.0, 10.0}) {
    step = multiple * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double v = std::ceil(low / step) * step; v <= high + step * 1e-9; v += step) {
    ticks.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
  }
  return ticks;
}

std::vector<double> LogTicks(double low, double high) {
  const int first = static_cast<int>(std::ceil(std::log10(low) - 1e-9));
  const int last = static_cast<int>(std::floor(std::log10(high) + 1e-9));
  if (last - first < 1) return LinearTicks(low, high, 4);
  std::vector<double> ticks;
  for (int e = first; e <= last; ++e) ticks.push_back(std::pow(10.0, e));
  return ticks;
}

int SvgHeight(const Figure& figure) {
  const int plot_width = figure.width - kLeft - kRight;
  int height = kTitle + kBottom;
  for (const Panel& panel : figure.panels) {
    height += LayOutLegend(panel, plot_width).Strip() + figure.panel_height + kBelowFrame;
  }
  return height;
}

std::string RenderSvg(const Figure& figure) {
  const int height = SvgHeight(figure);
  const int plot_width = figure.width - kLeft - kRight;
  const Axis x_axis = XAxis(figure, plot_width);
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect class=\"background\" width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text class=\"title\" x=\"%d\" y=\"26\" text-anchor=\"middle\" font-size=\"16\">%s</text>\n",
      figure.width, height, figure.width, height, figure.width / 2, Escape(figure.title));
  int block = kTitle;
  for (const Panel& panel : figure.panels) {
    const Legend legend = LayOutLegend(panel, plot_width);
    const int top = block + legend.Strip();
    const int bottom = top + figure.panel_height;
    const Axis y_axis = YAxis(panel, top, bottom);
    absl::StrAppendFormat(&svg, "<g class=\"panel\" data-log-y=\"%s\">\n",
                          panel.log_y ? "true" : "false");
    svg += RenderLegend(legend, kLeft, block);
    svg += RenderAxes(panel, x_axis, y_axis, figure.x_label, top, bottom);
    svg += RenderData(panel, x_axis, y_axis, top, bottom);
    svg += "</g>\n";
    block = bottom + kBelowFrame;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace lrsched::plot
