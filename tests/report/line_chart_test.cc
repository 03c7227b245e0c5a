// Tests of the inline-SVG line chart: tick choice, one polyline point per finite value, a single
// point, missing values, escaping of the title, and the thinning of long series.
#include "report/line_chart.h"

#include <cmath>
#include <string>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pointwise;

// The value of attribute `name` of the first element that starts with `element_prefix`.
std::string Attribute(const std::string& svg, const std::string& element_prefix,
                      const std::string& name) {
  const size_t element = svg.find(element_prefix);
  if (element == std::string::npos) return "";
  const size_t start = svg.find(name + "=\"", element);
  if (start == std::string::npos) return "";
  const size_t value = start + name.size() + 2;
  return svg.substr(value, svg.find('"', value) - value);
}

int CountOf(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(NiceTicksTest, MultiplesOfOneTwoOrFive) {
  EXPECT_THAT(NiceTicks(0, 1, 5),
              Pointwise(DoubleNear(1e-12), std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1}));
  EXPECT_THAT(NiceTicks(1, 16, 5, /*integer_only=*/true), ElementsAre(5, 10, 15));
  EXPECT_THAT(NiceTicks(1, 3, 5, /*integer_only=*/true), ElementsAre(1, 2, 3));
  EXPECT_THAT(NiceTicks(-3, 7, 4), ElementsAre(-2, 0, 2, 4, 6));
  // One value: a range around it, still with ticks.
  EXPECT_FALSE(NiceTicks(0.5, 0.5, 4).empty());
  EXPECT_THAT(NiceTicks(4, 4, 5, true), ElementsAre(3, 4, 5));
  EXPECT_TRUE(NiceTicks(0, INFINITY, 4).empty());
}

TEST(LineChartTest, OnePolylinePointPerFiniteValueInOrder) {
  LineChartOptions options;
  options.title = "loss";
  const std::string svg = RenderLineChart({{1, 2.0}, {2, 1.5}, {3, NAN}, {4, 1.0}}, options);
  const std::string points = Attribute(svg, "<polyline class=\"series\"", "points");
  const std::vector<std::string> pairs = absl::StrSplit(points, ' ');
  ASSERT_EQ(pairs.size(), 3u) << svg;  // the NaN is left out
  // x grows, and the falling loss is drawn rising on screen (y grows downwards).
  double last_x = -1, last_y = -1;
  for (const std::string& pair : pairs) {
    const std::vector<std::string> xy = absl::StrSplit(pair, ',');
    ASSERT_EQ(xy.size(), 2u);
    EXPECT_GT(std::stod(xy[0]), last_x);
    EXPECT_GT(std::stod(xy[1]), last_y);
    last_x = std::stod(xy[0]);
    last_y = std::stod(xy[1]);
  }
  EXPECT_THAT(svg, HasSubstr("1 missing value"));
  EXPECT_THAT(svg, HasSubstr("<title>loss</title>"));
  EXPECT_THAT(svg, HasSubstr(">step</text>"));   // x axis label
  EXPECT_GE(CountOf(svg, "class=\"tick\""), 4);  // ticks on both axes
}

TEST(LineChartTest, SinglePointIsACircleAndNoDataIsSaid) {
  const std::string one = RenderLineChart({{7, 0.25}}, {});
  EXPECT_THAT(one, HasSubstr("<circle class=\"series\""));
  EXPECT_THAT(one, Not(HasSubstr("<polyline class=\"series\"")));
  EXPECT_THAT(one, Not(HasSubstr("nan")));
  const std::string none = RenderLineChart({{1, NAN}, {2, NAN}}, {});
  EXPECT_THAT(none, HasSubstr("no values (all null or NaN)"));
  EXPECT_THAT(none, Not(HasSubstr("class=\"series\"")));
  EXPECT_THAT(RenderLineChart({}, {}), HasSubstr(">no values<"));
}

TEST(LineChartTest, ConstantSeriesStaysInsideThePlot) {
  LineChartOptions options;
  const std::string svg = RenderLineChart({{1, 1e-5}, {2, 1e-5}, {3, 1e-5}}, options);
  const std::string points = Attribute(svg, "<polyline class=\"series\"", "points");
  for (const std::string& pair : std::vector<std::string>(absl::StrSplit(points, ' '))) {
    const std::vector<std::string> xy = absl::StrSplit(pair, ',');
    const double y = std::stod(xy[1]);
    EXPECT_GT(y, 0);
    EXPECT_LT(y, options.height);
  }
}

TEST(LineChartTest, TitleIsEscaped) {
  LineChartOptions options;
  options.title = "a<b & \"c\"";
  const std::string svg = RenderLineChart({{1, 1}, {2, 2}}, options);
  EXPECT_THAT(svg, HasSubstr("a&lt;b &amp; &quot;c&quot;"));
  EXPECT_THAT(svg, Not(HasSubstr("a<b")));
}

}  // namespace
TEST(ThinForPlotTest, KeepsEveryColumnsExtremesInOrder) {
  std::vector<ChartPoint> points;
  for (int i = 0; i < 100000; ++i) points.push_back({static_cast<double>(i), double(i % 7)});
  points[54321].y = 1000;   // a spike
  points[77777].y = -1000;  // a dip
  const std::vector<ChartPoint> thinned = ThinForPlot(points, 0, 99999, 300);
  EXPECT_LE(thinned.size(), 4u * 301);
  EXPECT_GE(thinned.size(), 300u);
  EXPECT_EQ(thinned.front().x, 0);
  EXPECT_EQ(thinned.back().x, 99999);
  bool spike = false, dip = false;
  for (size_t i = 0; i < thinned.size(); ++i) {
    if (i > 0) EXPECT_GT(thinned[i].x, thinned[i - 1].x);
    spike |= thinned[i].x == 54321 && thinned[i].y == 1000;
    dip |= thinned[i].x == 77777 && thinned[i].y == -1000;
  }
  EXPECT_TRUE(spike);
  EXPECT_TRUE(dip);
}

TEST(ThinForPlotTest, ShortSeriesComeBackUnchanged) {
  const std::vector<ChartPoint> points = {{1, 3}, {2, 1}, {3, 2}};
  const std::vector<ChartPoint> thinned = ThinForPlot(points, 1, 3, 300);
  ASSERT_EQ(thinned.size(), 3u);
  EXPECT_EQ(thinned[1].y, 1);
}

TEST(LineChartTest, AMillionStepsMakeASmallChart) {
  std::vector<ChartPoint> points;
  for (int i = 0; i < 1000000; ++i) points.push_back({static_cast<double>(i), std::sin(i * 1e-3)});
  LineChartOptions options;
  options.title = "reward";
  const std::string svg = RenderLineChart(points, options);
  const std::vector<std::string> pairs =
      absl::StrSplit(Attribute(svg, "<polyline class=\"series\"", "points"), ' ');
  EXPECT_LE(pairs.size(), 4u * options.width);
  EXPECT_LT(svg.size(), 100000u);
}

}  // namespace r1
