// Tests of the inline-SVG stage DAG: a box per stage coloured by state, an arrow per known
// dependency, columns by depth.
#include "report/dag_svg.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

int CountOf(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The x of the <rect> of stage `name`.
int BoxX(const std::string& svg, const std::string& name) {
  const size_t g = svg.find("data-stage=\"" + name + "\"");
  if (g == std::string::npos) return -1;
  const size_t x = svg.find("x=\"", g);
  return std::stoi(svg.substr(x + 3));
}

TEST(DagSvgTest, BoxesEdgesAndDepthColumns) {
  const std::string svg = RenderDagSvg({{"pretrain", {}, "succeeded", {"pretrain", "1.0 s"}},
                                        {"sft", {"pretrain"}, "failed", {"sft"}},
                                        {"rm", {"pretrain"}, "running", {}},
                                        {"grpo", {"sft", "rm", "unknown_dep"}, "pending", {}}});
  EXPECT_EQ(CountOf(svg, "<g class=\"stage\""), 4);
  EXPECT_EQ(CountOf(svg, "<path class=\"edge\""), 4);  // the unknown dependency draws nothing
  EXPECT_THAT(svg, HasSubstr("data-from=\"sft\" data-to=\"grpo\""));
  EXPECT_THAT(svg, HasSubstr(StateFill("succeeded")));
  EXPECT_THAT(svg, HasSubstr(StateFill("failed")));
  EXPECT_NE(StateFill("succeeded"), StateFill("failed"));
  EXPECT_LT(BoxX(svg, "pretrain"), BoxX(svg, "sft"));
  EXPECT_EQ(BoxX(svg, "sft"), BoxX(svg, "rm"));  // same depth, same column
  EXPECT_LT(BoxX(svg, "rm"), BoxX(svg, "grpo"));
  EXPECT_THAT(svg, HasSubstr(">1.0 s</text>"));
}

TEST(DagSvgTest, NamesAreEscapedAndEmptyGraphIsValid) {
  const std::string svg = RenderDagSvg({{"a<b", {}, "pending", {"x&y"}}});
  EXPECT_THAT(svg, HasSubstr("a&lt;b"));
  EXPECT_THAT(svg, HasSubstr("x&amp;y"));
  EXPECT_THAT(svg, Not(HasSubstr("a<b")));
  const std::string empty = RenderDagSvg({});
  EXPECT_THAT(empty, HasSubstr("<svg class=\"dag\""));
  EXPECT_THAT(empty, HasSubstr("</svg>"));
}

}  // namespace
}  // namespace r1
