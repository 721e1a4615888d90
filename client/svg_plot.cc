#include "client/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace lrsched::plot {
namespace {

constexpr int kLeft = 90, kRight = 30, kTop = 50, kGap = 60, kBottom = 60;

std::string Escape(const std::string& text) {
  return absl::StrReplaceAll(text, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

std::string TickLabel(double value) { return absl::StrFormat("%g", value); }

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

std::string RenderSvg(const Figure& figure) {
  const int panels = static_cast<int>(figure.panels.size());
  const int height =
      kTop + panels * figure.panel_height + std::max(0, panels - 1) * kGap + kBottom;
  const int plot_width = figure.width - kLeft - kRight;

  // One x range for every panel.
  double x_low = std::numeric_limits<double>::infinity(), x_high = -x_low;
  for (const Panel& panel : figure.panels) {
    for (const Series& series : panel.series) {
      for (const auto& [x, y] : series.points) {
        x_low = std::min(x_low, x);
        x_high = std::max(x_high, x);
      }
    }
    for (const Mark& mark : panel.marks) {
      x_low = std::min(x_low, mark.x);
      x_high = std::max(x_high, mark.x);
    }
  }
  if (!std::isfinite(x_low)) x_low = 0, x_high = 1;
  if (x_high == x_low) x_high = x_low + 1;
  const Axis x_axis{x_low, x_high, static_cast<double>(kLeft),
                    static_cast<double>(kLeft + plot_width), false};

  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect class=\"background\" width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text class=\"title\" x=\"%d\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">%s</text>\n",
      figure.width, height, figure.width, height, figure.width / 2, Escape(figure.title));

  for (int p = 0; p < panels; ++p) {
    const Panel& panel = figure.panels[p];
    const int top = kTop + p * (figure.panel_height + kGap);
    const int bottom = top + figure.panel_height;
    double y_low = std::numeric_limits<double>::infinity(), y_high = -y_low;
    for (const Series& series : panel.series) {
      for (const auto& [x, y] : series.points) {
        if (panel.log_y && !(y > 0)) continue;
        if (!std::isfinite(y)) continue;
        y_low = std::min(y_low, y);
        y_high = std::max(y_high, y);
      }
    }
    if (!std::isfinite(y_low)) y_low = panel.log_y ? 1 : 0, y_high = panel.log_y ? 10 : 1;
    if (y_high == y_low) {
      y_low = panel.log_y ? y_low / 2 : y_low - std::max(std::abs(y_low) * 0.1, 1e-12);
      y_high = panel.log_y ? y_high * 2 : y_high + std::max(std::abs(y_high) * 0.1, 1e-12);
    }
    if (panel.log_y) {
      y_low = std::pow(10, std::floor(std::log10(y_low) * 10) / 10);
      y_high = std::pow(10, std::ceil(std::log10(y_high) * 10) / 10);
    } else {
      const double pad = (y_high - y_low) * 0.05;
      y_low -= pad;
      y_high += pad;
    }
    const Axis y_axis{y_low, y_high, static_cast<double>(bottom), static_cast<double>(top),
                      panel.log_y};

    absl::StrAppendFormat(&svg, "<g class=\"panel\" data-log-y=\"%s\">\n",
                          panel.log_y ? "true" : "false");
    absl::StrAppendFormat(&svg,
                          "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                          "fill=\"none\" stroke=\"#444\"/>\n",
                          kLeft, top, plot_width, figure.panel_height);
    // Ticks and grid.
    const std::vector<double> y_ticks =
        panel.log_y ? LogTicks(y_low, y_high) : LinearTicks(y_low, y_high, 5);
    for (double tick : y_ticks) {
      if (tick < y_low || tick > y_high) continue;
      const double y = y_axis(tick);
      absl::StrAppendFormat(&svg,
                            "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" "
                            "stroke=\"#ddd\"/>\n<text class=\"y-tick\" x=\"%d\" y=\"%.1f\" "
                            "text-anchor=\"end\" dominant-baseline=\"middle\">%s</text>\n",
                            kLeft, kLeft + plot_width, y, y, kLeft - 6, y, TickLabel(tick));
    }
    for (double tick : LinearTicks(x_low, x_high, 8)) {
      if (tick < x_low || tick > x_high) continue;
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
                          kLeft + plot_width / 2, bottom + 38, Escape(figure.x_label));
    // Marks, under the series.
    for (const Mark& mark : panel.marks) {
      if (mark.x < x_low || mark.x > x_high) continue;
      const double x = x_axis(mark.x);
      absl::StrAppendFormat(&svg,
                            "<g class=\"mark\"><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" "
                            "stroke=\"%s\" stroke-dasharray=\"4 3\"/><title>%s</title></g>\n",
                            x, x, top, bottom, mark.color, Escape(mark.label));
    }
    // Series: a polyline each, in the order given.
    for (const Series& series : panel.series) {
      std::string points;
      int count = 0;
      for (const auto& [x, y] : series.points) {
        if (!std::isfinite(y) || (panel.log_y && !(y > 0))) continue;
        absl::StrAppendFormat(&points, "%s%.2f,%.2f", count++ ? " " : "", x_axis(x),
                              y_axis(std::clamp(y, y_low, y_high)));
      }
      absl::StrAppendFormat(&svg,
                            "<polyline class=\"series\" data-name=\"%s\" data-points=\"%d\" "
                            "fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" points=\"%s\"/>\n",
                            Escape(series.name), count, series.color, points);
    }
    // Legend: the series, then one entry per kind of mark.
    std::vector<std::pair<std::string, std::string>> entries;
    for (const Series& series : panel.series) entries.emplace_back(series.name, series.color);
    for (const Mark& mark : panel.marks) {
      const std::string kind = mark.label.substr(0, mark.label.find(':'));
      if (std::none_of(entries.begin(), entries.end(),
                       [&](const auto& entry) { return entry.first == kind; })) {
        entries.emplace_back(kind, mark.color);
      }
    }
    for (size_t i = 0; i < entries.size(); ++i) {
      const int y = top + 14 + static_cast<int>(i) * 16;
      const int x = kLeft + plot_width - 230;
      absl::StrAppendFormat(&svg,
                            "<g class=\"legend\"><line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" "
                            "stroke=\"%s\" stroke-width=\"3\"/><text x=\"%d\" y=\"%d\" "
                            "dominant-baseline=\"middle\">%s</text></g>\n",
                            x, x + 20, y, y, entries[i].second, x + 26, y,
                            Escape(entries[i].first));
    }
    svg += "</g>\n";
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace lrsched::plot
