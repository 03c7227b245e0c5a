// Inline-SVG line charts (see line_chart.h).
#include "report/line_chart.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "report/html.h"

namespace r1 {
namespace {

// Plot area margins, px: room for the y tick labels on the left and the x label below.
constexpr double kLeft = 62, kRight = 14, kTop = 30, kBottom = 40;

std::string Px(double v) { return absl::StrFormat("%.1f", v); }

// The tick spacing for `span` split into about `target` parts: 1, 2 or 5 times a power of ten.
double NiceStep(double span, int32_t target) {
  const double raw = span / std::max(1, target);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / magnitude;
  const double nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  return nice * magnitude;
}

// [lo, hi] widened when empty, so that a constant series still has an axis.
void WidenIfEmpty(double* lo, double* hi, bool integer_only) {
  if (*hi > *lo) return;
  const double pad = integer_only ? 1.0 : (*lo != 0.0 ? std::fabs(*lo) * 0.1 : 1.0);
  *lo -= pad;
  *hi += pad;
}

}  // namespace

std::vector<double> NiceTicks(double lo, double hi, int32_t target, bool integer_only) {
  std::vector<double> ticks;
  if (!std::isfinite(lo) || !std::isfinite(hi)) return ticks;
  if (lo > hi) std::swap(lo, hi);
  WidenIfEmpty(&lo, &hi, integer_only);
  double step = NiceStep(hi - lo, target);
  if (integer_only) step = std::max(1.0, std::round(step));
  if (!std::isfinite(step) || step <= 0) return ticks;
  const double first = std::ceil(lo / step - 1e-9) * step;
  for (int32_t i = 0; i < 1000; ++i) {
    const double t = first + i * step;
    if (t > hi + step * 1e-9) break;
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);  // no "-0"
  }
  return ticks;
}

std::vector<ChartPoint> ThinForPlot(const std::vector<ChartPoint>& points, double x_lo, double x_hi,
                                    int32_t columns) {
  if (columns < 1 || points.size() < 4 * static_cast<size_t>(columns) || !(x_hi > x_lo)) {
    return points;
  }
  auto column = [&](double x) {
    return static_cast<int64_t>(std::floor((x - x_lo) / (x_hi - x_lo) * columns));
  };
  std::vector<ChartPoint> thinned;
  size_t begin = 0;
  while (begin < points.size()) {
    size_t end = begin + 1;
    const int64_t c = column(points[begin].x);
    while (end < points.size() && column(points[end].x) == c) ++end;
    size_t lowest = begin, highest = begin;
    for (size_t i = begin; i < end; ++i) {
      if (points[i].y < points[lowest].y) lowest = i;
      if (points[i].y > points[highest].y) highest = i;
    }
    std::vector<size_t> keep = {begin, lowest, highest, end - 1};
    std::sort(keep.begin(), keep.end());
    keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
    for (size_t i : keep) thinned.push_back(points[i]);
    begin = end;
  }
  return thinned;
}

std::string RenderLineChart(const std::vector<ChartPoint>& points,
                            const LineChartOptions& options) {
  const double width = options.width, height = options.height;
  const double plot_w = width - kLeft - kRight, plot_h = height - kTop - kBottom;
  std::vector<ChartPoint> finite;
  for (const ChartPoint& p : points) {
    if (std::isfinite(p.x) && std::isfinite(p.y)) finite.push_back(p);
  }
  const size_t missing = points.size() - finite.size();

  std::string svg = absl::StrFormat(
      "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">\n<title>%s</title>\n",
      options.width, options.height, options.width, options.height, EscapeHtml(options.title),
      EscapeHtml(options.title));
  absl::StrAppend(&svg, "<rect x=\"0.5\" y=\"0.5\" width=\"", Px(width - 1), "\" height=\"",
                  Px(height - 1), "\" fill=\"#ffffff\" stroke=\"#d0d7de\"/>\n");
  absl::StrAppend(&svg, "<text x=\"", Px(kLeft),
                  "\" y=\"18\" font-size=\"13\" font-weight=\"bold\"", " fill=\"#1f2328\">",
                  EscapeHtml(options.title), "</text>\n");

  if (finite.empty()) {
    absl::StrAppend(&svg, "<text class=\"no-data\" x=\"", Px(width / 2), "\" y=\"", Px(height / 2),
                    "\" text-anchor=\"middle\" font-size=\"12\" fill=\"#8c959f\">",
                    points.empty() ? "no values" : "no values (all null or NaN)",
                    "</text>\n</svg>");
    return svg;
  }

  double x_lo = finite.front().x, x_hi = x_lo, y_lo = finite.front().y, y_hi = y_lo;
  for (const ChartPoint& p : finite) {
    x_lo = std::min(x_lo, p.x);
    x_hi = std::max(x_hi, p.x);
    y_lo = std::min(y_lo, p.y);
    y_hi = std::max(y_hi, p.y);
  }
  std::vector<double> x_ticks = NiceTicks(x_lo, x_hi, 5, options.integer_x_ticks);
  std::vector<double> y_ticks = NiceTicks(y_lo, y_hi, 4);
  // The axes span the data and every tick.
  WidenIfEmpty(&x_lo, &x_hi, options.integer_x_ticks);
  WidenIfEmpty(&y_lo, &y_hi, false);
  if (!x_ticks.empty())
    x_lo = std::min(x_lo, x_ticks.front()), x_hi = std::max(x_hi, x_ticks.back());
  if (!y_ticks.empty())
    y_lo = std::min(y_lo, y_ticks.front()), y_hi = std::max(y_hi, y_ticks.back());
  auto sx = [&](double x) { return kLeft + (x - x_lo) / (x_hi - x_lo) * plot_w; };
  auto sy = [&](double y) { return kTop + plot_h - (y - y_lo) / (y_hi - y_lo) * plot_h; };

  // Grid lines, tick marks and labels.
  for (double t : y_ticks) {
    const std::string y = Px(sy(t));
    absl::StrAppend(&svg, "<line x1=\"", Px(kLeft), "\" y1=\"", y, "\" x2=\"", Px(kLeft + plot_w),
                    "\" y2=\"", y, "\" stroke=\"#eaeef2\"/>");
    absl::StrAppend(&svg, "<line x1=\"", Px(kLeft - 4), "\" y1=\"", y, "\" x2=\"", Px(kLeft),
                    "\" y2=\"", y, "\" stroke=\"#57606a\"/>");
    absl::StrAppend(&svg, "<text class=\"tick\" x=\"", Px(kLeft - 6), "\" y=\"", Px(sy(t) + 4),
                    "\" text-anchor=\"end\" font-size=\"10\" fill=\"#57606a\">",
                    EscapeHtml(FormatNumber(t)), "</text>\n");
  }
  for (double t : x_ticks) {
    const std::string x = Px(sx(t));
    absl::StrAppend(&svg, "<line x1=\"", x, "\" y1=\"", Px(kTop + plot_h), "\" x2=\"", x,
                    "\" y2=\"", Px(kTop + plot_h + 4), "\" stroke=\"#57606a\"/>");
    absl::StrAppend(&svg, "<text class=\"tick\" x=\"", x, "\" y=\"", Px(kTop + plot_h + 16),
                    "\" text-anchor=\"middle\" font-size=\"10\" fill=\"#57606a\">",
                    EscapeHtml(FormatNumber(t)), "</text>\n");
  }
  // Axes.
  absl::StrAppend(&svg, "<polyline class=\"axes\" points=\"", Px(kLeft), ",", Px(kTop), " ",
                  Px(kLeft), ",", Px(kTop + plot_h), " ", Px(kLeft + plot_w), ",",
                  Px(kTop + plot_h), "\" fill=\"none\" stroke=\"#57606a\"/>\n");
  absl::StrAppend(&svg, "<text x=\"", Px(kLeft + plot_w / 2), "\" y=\"", Px(height - 6),
                  "\" text-anchor=\"middle\" font-size=\"11\" fill=\"#57606a\">",
                  EscapeHtml(options.x_label), "</text>\n");
  if (missing > 0) {
    absl::StrAppend(&svg, "<text class=\"missing\" x=\"", Px(kLeft + plot_w), "\" y=\"18\"",
                    " text-anchor=\"end\" font-size=\"10\" fill=\"#bc4c00\">", missing,
                    missing == 1 ? " missing value" : " missing values", "</text>\n");
  }

  // The series.
  if (finite.size() == 1) {
    absl::StrAppend(&svg, "<circle class=\"series\" cx=\"", Px(sx(finite[0].x)), "\" cy=\"",
                    Px(sy(finite[0].y)), "\" r=\"3\" fill=\"#0969da\"/>\n");
  } else {
    const std::vector<ChartPoint> drawn =
        ThinForPlot(finite, x_lo, x_hi, static_cast<int32_t>(std::ceil(plot_w)));
    absl::StrAppend(&svg, "<polyline class=\"series\" points=\"");
    for (size_t i = 0; i < drawn.size(); ++i) {
      absl::StrAppend(&svg, i > 0 ? " " : "", Px(sx(drawn[i].x)), ",", Px(sy(drawn[i].y)));
    }
    absl::StrAppend(&svg, "\" fill=\"none\" stroke=\"#0969da\" stroke-width=\"1.5\"/>\n");
  }
  absl::StrAppend(&svg, "</svg>");
  return svg;
}

}  // namespace r1
