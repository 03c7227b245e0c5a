// Inline-SVG stage DAG (see dag_svg.h).
#include "report/dag_svg.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "report/html.h"

namespace r1 {
namespace {

constexpr int kBoxW = 190, kBoxH = 62, kColGap = 60, kRowGap = 18, kMargin = 12;

}  // namespace

std::string StateFill(const std::string& state) {
  if (state == "succeeded") return "#dafbe1";
  if (state == "running") return "#ddf4ff";
  if (state == "failed") return "#ffebe9";
  if (state == "pending") return "#f6f8fa";
  return "#eaeef2";
}

std::string RenderDagSvg(const std::vector<DagBox>& boxes) {
  // Depth: 0 for a stage without (known) dependencies, else 1 + the deepest dependency's.
  std::map<std::string, int> depth;
  std::map<std::string, std::pair<int, int>> cell;  // name -> (column, row)
  std::vector<int> rows_in_column;
  for (const DagBox& box : boxes) {
    int d = 0;
    for (const std::string& dep : box.depends_on) {
      auto it = depth.find(dep);
      if (it != depth.end()) d = std::max(d, it->second + 1);
    }
    depth[box.name] = d;
    if (static_cast<int>(rows_in_column.size()) <= d) rows_in_column.resize(d + 1, 0);
    cell[box.name] = {d, rows_in_column[d]++};
  }
  const int columns = static_cast<int>(rows_in_column.size());
  const int rows =
      rows_in_column.empty() ? 0 : *std::max_element(rows_in_column.begin(), rows_in_column.end());
  const int width = std::max(1, 2 * kMargin + columns * kBoxW + std::max(0, columns - 1) * kColGap);
  const int height = std::max(1, 2 * kMargin + rows * kBoxH + std::max(0, rows - 1) * kRowGap);
  auto left = [](int column) { return kMargin + column * (kBoxW + kColGap); };
  auto top = [](int row) { return kMargin + row * (kBoxH + kRowGap); };

  std::string svg = absl::StrFormat(
      "<svg class=\"dag\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"stage graph\">\n<title>stage graph</title>\n"
      "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" "
      "markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#57606a\"/>"
      "</marker></defs>\n",
      width, height, width, height);
  // Arrows first, so that boxes are drawn over their ends.
  for (const DagBox& box : boxes) {
    const auto [to_col, to_row] = cell[box.name];
    for (const std::string& dep : box.depends_on) {
      auto it = cell.find(dep);
      if (it == cell.end()) continue;
      const auto [from_col, from_row] = it->second;
      const double x1 = left(from_col) + kBoxW, y1 = top(from_row) + kBoxH / 2.0;
      const double x2 = left(to_col), y2 = top(to_row) + kBoxH / 2.0;
      const double bend = (x2 - x1) / 2;
      absl::StrAppend(&svg, absl::StrFormat("<path class=\"edge\" data-from=\"%s\" data-to=\"%s\" "
                                            "d=\"M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f\" "
                                            "fill=\"none\" stroke=\"#57606a\" stroke-width=\"1.3\" "
                                            "marker-end=\"url(#arrow)\"/>\n",
                                            EscapeHtml(dep), EscapeHtml(box.name), x1, y1,
                                            x1 + bend, y1, x2 - bend, y2, x2, y2));
    }
  }
  for (const DagBox& box : boxes) {
    const auto [col, row] = cell[box.name];
    const int x = left(col), y = top(row);
    const std::string stroke = box.state == "failed" ? "#cf222e" : "#8c959f";
    absl::StrAppend(&svg, "<g class=\"stage\" data-stage=\"", EscapeHtml(box.name), "\">",
                    absl::StrFormat("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"6\" "
                                    "fill=\"%s\" stroke=\"%s\"/>",
                                    x, y, kBoxW, kBoxH, StateFill(box.state), stroke));
    absl::StrAppend(&svg,
                    absl::StrFormat("<text x=\"%d\" y=\"%d\" font-size=\"13\" font-weight=\"bold\" "
                                    "fill=\"#1f2328\">",
                                    x + 10, y + 19),
                    EscapeHtml(TruncateUtf8(box.name, 24)), "</text>");
    for (size_t i = 0; i < box.lines.size() && i < 2; ++i) {
      absl::StrAppend(&svg,
                      absl::StrFormat("<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#57606a\">",
                                      x + 10, y + 37 + 16 * static_cast<int>(i)),
                      EscapeHtml(TruncateUtf8(box.lines[i], 30)), "</text>");
    }
    absl::StrAppend(&svg, "</g>\n");
  }
  absl::StrAppend(&svg, "</svg>");
  return svg;
}

}  // namespace r1
