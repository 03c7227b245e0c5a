// A line chart as inline SVG (no script, no external resource): axes with tick marks and labels,
// one series of (x, y) points. Used for the per-stage metric curves of the run report.
#ifndef R1_REPORT_LINE_CHART_H_
#define R1_REPORT_LINE_CHART_H_

#include <cstdint>
#include <string>
#include <vector>

namespace r1 {

// One point; a non-finite y (a null in metrics.jsonl) is a missing value: not drawn, counted.
struct ChartPoint {
  double x = 0.0;
  double y = 0.0;
};

struct LineChartOptions {
  std::string title;  // shown above the plot (escaped)
  std::string x_label = "step";
  int32_t width = 380;          // px
  int32_t height = 230;         // px
  bool integer_x_ticks = true;  // x ticks at whole numbers only (steps)
};

// "Nice" tick positions (multiples of 1, 2 or 5 times a power of ten) covering [lo, hi], about
// `target` of them, ascending. lo == hi gets a small range around it; with `integer_only`, the
// spacing is at least 1. Non-finite bounds give no ticks.
std::vector<double> NiceTicks(double lo, double hi, int32_t target, bool integer_only = false);

// The points of a series reduced for a plot `columns` pixels wide whose x axis spans [x_lo, x_hi]:
// each run of consecutive points that fall in one pixel column keeps its first, lowest, highest
// and last point, in their original order, so a drawn line looks the same (every spike and dip
// stays) with at most 4 points a column. Fewer than 4 * columns points come back unchanged.
std::vector<ChartPoint> ThinForPlot(const std::vector<ChartPoint>& points, double x_lo, double x_hi,
                                    int32_t columns);

// An <svg class="chart"> element. The finite points, in the given order, are one
// <polyline class="series"> (two or more, thinned by ThinForPlot for the plot's width, so a run of
// a million steps is still a small page) or one <circle class="series"> (exactly one); with none,
// the plot area says so. A caption line counts the missing (non-finite) values when there are any.
std::string RenderLineChart(const std::vector<ChartPoint>& points, const LineChartOptions& options);

}  // namespace r1

#endif  // R1_REPORT_LINE_CHART_H_
