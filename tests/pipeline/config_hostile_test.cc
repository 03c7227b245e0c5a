// Hostile YAML in a config's free-form values (generator options, reward params): aliases that
// name their own anchor or expand exponentially are config errors naming the key, never a crash
// (fuzz/config_fuzzer found the first: unbounded recursion, a stack overflow).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "pipeline/config.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

std::string AllErrors(const ConfigParseResult& result) {
  std::string out;
  for (const ConfigError& e : result.errors) out += e.ToString() + "\n";
  return out;
}

TEST(ConfigHostileTest, AliasOfItsOwnAnchorIsAnError) {
  const ConfigParseResult result = ParseConfigCollect(R"(
datasets:
  cold_start_countdown:
    synthetic:
      kind: countdown
      count: 20
      seed: 12
      options: &countdown {min_numbers: 2, max_numb: *countdown}
)");
  EXPECT_THAT(AllErrors(result), HasSubstr("options: nested deeper than 32 levels"));
}

TEST(ConfigHostileTest, ExponentialAliasesAreAnError) {
  const ConfigParseResult result = ParseConfigCollect(R"(
datasets:
  corpus:
    synthetic:
      kind: arithmetic
      count: 20
      options:
        a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
        f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
)");
  EXPECT_THAT(AllErrors(result), HasSubstr("options: holds more than 100000 values"));
}

TEST(ConfigHostileTest, OrdinaryAliasesStillWork) {
  const ConfigParseResult result = ParseConfigCollect(R"(
datasets:
  a:
    synthetic: {kind: arithmetic, count: 20, seed: 1, options: &ops {max_digits: 2}}
  b:
    synthetic: {kind: arithmetic, count: 20, seed: 2, options: *ops}
)");
  EXPECT_THAT(AllErrors(result), ::testing::Not(HasSubstr("options")));
}

}  // namespace
}  // namespace r1
