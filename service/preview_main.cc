// lrsched-preview: prints a schedule's learning rates as a terminal chart,
// computed offline by the same math the server runs.
//
//   lrsched-preview --spec='{"cosine_annealing_lr": {"t_max": 100}}'
//                   --base_lrs=0.1 --steps=100
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "service/common/command_line.h"
#include "service/common/shortest_double.h"
#include "service/schedule/preview.h"

ABSL_FLAG(std::string, spec, "", "The SchedulerSpec in proto3 JSON form.");
ABSL_FLAG(std::string, base_lrs, "0.1", "Comma-separated base learning rates, one per group.");
ABSL_FLAG(int64_t, steps, 100, "Number of step() calls.");
ABSL_FLAG(std::string, metrics, "",
          "Comma-separated metrics for ReduceLROnPlateau: metric i decides step i + 1.");
ABSL_FLAG(std::string, title, "", "A title printed above the chart.");
ABSL_FLAG(int, width, 72, "Chart width in columns.");
ABSL_FLAG(int, height, 12, "Chart height in rows.");

namespace {

bool ParseNumbers(const std::string& text, std::vector<double>& out) {
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    double value;
    if (!absl::SimpleAtod(part, &value)) return false;
    out.push_back(value);
  }
  return true;
}

// The first and the last step under the chart's first and last column; when
// the chart is too narrow for both labels, one label for the range.
std::string StepAxis(int64_t steps, int columns) {
  if (steps == 0) return "step 0";
  const std::string first = "step 0", last = absl::StrCat("step ", steps);
  const int gap = columns - static_cast<int>(first.size() + last.size());
  if (gap < 1) return absl::StrCat("steps 0 to ", steps);
  return absl::StrCat(first, std::string(gap, ' '), last);
}

// One column per sampled step, one '*' at the row of its learning rate.
void PrintChart(const lrsched::PreviewResult& result, int64_t steps, int width, int height) {
  const size_t groups = result.num_groups;
  std::vector<double> lrs;  // group 0
  for (size_t i = 0; i < result.lrs.size(); i += groups) lrs.push_back(result.lrs[i]);
  const auto [low_it, high_it] = std::minmax_element(lrs.begin(), lrs.end());
  const double low = *low_it, high = *high_it;
  const int columns = static_cast<int>(std::min<int64_t>(width, steps + 1));
  std::vector<std::string> rows(height, std::string(columns, ' '));
  for (int c = 0; c < columns; ++c) {
    const int64_t t = columns == 1 ? 0 : c * steps / (columns - 1);
    const double fraction = high > low ? (lrs[t] - low) / (high - low) : 0.5;
    const int row = height - 1 - static_cast<int>(std::lround(fraction * (height - 1)));
    rows[row][c] = '*';
  }
  for (int r = 0; r < height; ++r) {
    const std::string label = r == 0            ? absl::StrFormat("%.3g", high)
                              : r == height - 1 ? absl::StrFormat("%.3g", low)
                                                : "";
    std::printf("%10s |%s\n", label.c_str(), rows[r].c_str());
  }
  std::printf("%10s +%s\n", "", std::string(columns, '-').c_str());
  std::printf("%10s  %s\n", "", StepAxis(steps, columns).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (lrsched::HandledHelp(
          argc, argv,
          "lrsched-preview: the learning rates of a schedule as a terminal chart, computed here\n"
          "by the server's own math, without a server.\n\n"
          "  lrsched-preview --spec='{\"step_lr\": {\"step_size\": 30}}' [--base_lrs=0.1] "
          "[--steps=100]",
          "service/preview_main.cc")) {
    return 0;
  }
  absl::ParseCommandLine(argc, argv);
  lrsched::v1::SchedulerSpec spec;
  if (const auto status =
          google::protobuf::util::JsonStringToMessage(absl::GetFlag(FLAGS_spec), &spec);
      !status.ok()) {
    std::fprintf(stderr, "lrsched-preview: --spec is not a SchedulerSpec: %s\n",
                 status.ToString().c_str());
    return 2;
  }
  std::vector<double> base_lrs, metrics;
  if (!ParseNumbers(absl::GetFlag(FLAGS_base_lrs), base_lrs) ||
      !ParseNumbers(absl::GetFlag(FLAGS_metrics), metrics)) {
    std::fprintf(stderr, "lrsched-preview: --base_lrs and --metrics take numbers a,b,c\n");
    return 2;
  }
  const int64_t steps = absl::GetFlag(FLAGS_steps);
  auto result = lrsched::Preview(spec, base_lrs, steps, metrics);
  if (!result.ok()) {
    std::fprintf(stderr, "lrsched-preview: %s\n", result.status().ToString().c_str());
    return 1;
  }
  if (!absl::GetFlag(FLAGS_title).empty()) std::printf("%s\n", absl::GetFlag(FLAGS_title).c_str());
  PrintChart(*result, steps, std::max(8, absl::GetFlag(FLAGS_width)),
             std::max(3, absl::GetFlag(FLAGS_height)));
  const size_t groups = result->num_groups;
  std::printf("  lr(0) = %s   lr(%lld) = %s\n\n", lrsched::ShortestDouble(result->lrs[0]).c_str(),
              static_cast<long long>(steps),
              lrsched::ShortestDouble(result->lrs[steps * groups]).c_str());
  return 0;
}
