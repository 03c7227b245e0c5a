// The HTML report in a real browser: headless Chromium loads the report of a small real run
// (with a sampled rollout made of HTML), must exit 0, take a screenshot (a PNG of the window's
// size), parse the page into the DOM we wrote (DAG, tables, charts; the rollout's markup as text,
// no script element), and log no console message about the page. Skipped, saying why, where
// Chromium is not installed (scripts/test.sh installs it through scripts/setup.sh).
// R1_REPORT_SCREENSHOT=FILE.png keeps a copy of the screenshot.
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "base/file_util.h"
#include "base/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cli/cli_fixture.h"
#include "tests/cli/report_run.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kWidth = 1280, kHeight = 2000;

// The Chromium binary: $R1_CHROMIUM, else the first of the usual names in PATH; "" when none.
std::string FindChromium() {
  if (const char* env = std::getenv("R1_CHROMIUM"); env != nullptr && *env != '\0') return env;
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    absl::StatusOr<std::string> path = FindInPath(name);
    if (path.ok()) return *path;
  }
  return "";
}

struct BrowserRun {
  int exit_code = -1;  // -1: killed after the timeout, or could not start
  std::string out, err;
};

// Runs headless Chromium on file://`page` with `mode_flag` (--screenshot=... or --dump-dom), its
// own profile directory under `dir`, at most 120 s. Chromium refuses to run as root with its
// sandbox; the test machine has no GPU and no D-Bus (it logs noise about them on stderr).
BrowserRun RunChromium(const std::string& chromium, const std::string& dir, const std::string& page,
                       const std::string& mode_flag) {
  const std::string out = JoinPath(dir, "chromium.out"), err = JoinPath(dir, "chromium.err");
  const std::string command =
      absl::StrCat("exec '", chromium, "' --headless --no-sandbox --disable-gpu --hide-scrollbars ",
                   "--no-first-run --user-data-dir='", JoinPath(dir, "profile"),
                   "' --window-size=", kWidth, ",", kHeight, " --enable-logging=stderr --v=0 ",
                   mode_flag, " 'file://", page, "' > '", out, "' 2> '", err, "'");
  BrowserRun run;
  absl::StatusOr<Subprocess> child = Subprocess::Spawn({"/bin/sh", "-c", command});
  if (!child.ok()) {
    run.err = std::string(child.status().message());
    return run;
  }
  absl::StatusOr<ExitInfo> exit = child->Wait(absl::Seconds(120));
  if (!exit.ok()) {
    child->Terminate(absl::Seconds(5));
  } else if (exit->exited) {
    run.exit_code = exit->exit_code;
  }
  run.out = ReadFile(out).value_or("");
  run.err = ReadFile(err).value_or("");
  return run;
}

// Chromium's log lines about the page: console messages ("INFO:CONSOLE(12)] ..." / ":CONSOLE:")
// and anything naming the page's URL (a resource that failed to load, a parse error). The rest
// of its stderr is about the machine (no GPU, no D-Bus, running as root) and is ignored.
std::vector<std::string> PageMessages(const std::string& stderr_text, const std::string& page) {
  std::vector<std::string> messages;
  for (absl::string_view line : absl::StrSplit(stderr_text, '\n', absl::SkipEmpty())) {
    if (absl::StrContains(line, ":CONSOLE") || absl::StrContains(line, "file://" + page)) {
      messages.emplace_back(line);
    }
  }
  return messages;
}

// Width and height from a PNG's IHDR chunk; {-1, -1} when `png` is not a PNG.
std::pair<int, int> PngSize(const std::string& png) {
  static const std::string kSignature("\x89PNG\r\n\x1a\n", 8);
  if (png.size() < 24 || png.compare(0, 8, kSignature) != 0 || png.compare(12, 4, "IHDR") != 0) {
    return {-1, -1};
  }
  auto be32 = [&](size_t at) {
    return (static_cast<unsigned char>(png[at]) << 24) |
           (static_cast<unsigned char>(png[at + 1]) << 16) |
           (static_cast<unsigned char>(png[at + 2]) << 8) | static_cast<unsigned char>(png[at + 3]);
  };
  return {static_cast<int>(be32(16)), static_cast<int>(be32(20))};
}

class ReportBrowserTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    chromium_ = FindChromium();
  }
  std::string chromium_;
};

TEST_F(ReportBrowserTest, ChromiumRendersTheReportOfARealRun) {
  if (chromium_.empty()) {
    GTEST_SKIP() << "Chromium is not installed (looked for $R1_CHROMIUM, chromium, "
                    "chromium-browser, google-chrome in PATH): the report is not checked in a "
                    "browser. Install it with `apt-get install chromium`, or run the tests "
                    "through scripts/test.sh, whose set-up installs it.";
  }
  const std::string config = JoinPath(dir_, "run.yaml");
  ASSERT_TRUE(WriteFileAtomic(config, kReportRunYaml).ok());
  const std::string run_dir = JoinPath(dir_, "run");
  RunResult run = Run("run " + config + " --run-dir " + run_dir);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  // A later step's rollout whose text is HTML: the report must show it as text.
  ASSERT_TRUE(
      AppendFileSynced(JoinPath(run_dir, "grpo/samples.jsonl"),
                       "{\"step\":99,\"time_ms\":1,\"samples\":[{\"prompt\":\"p & q\",\"response\":"
                       "\"<script>document.title='pwned'</script><img src=x onerror=alert(1)>\","
                       "\"reward\":1,\"reward_terms\":{\"format\":1}}]}\n")
          .ok());
  const std::string page = JoinPath(dir_, "report.html");
  RunResult report = Run("report " + run_dir + " --out " + page);
  ASSERT_EQ(report.exit_code, 0) << report.err;

  // The screenshot.
  const std::string png_path = JoinPath(dir_, "report.png");
  BrowserRun shot = RunChromium(chromium_, dir_, page, "--screenshot=" + png_path);
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  EXPECT_THAT(PageMessages(shot.err, page), ::testing::IsEmpty()) << shot.err;
  absl::StatusOr<std::string> png = ReadFile(png_path);
  ASSERT_TRUE(png.ok()) << "no screenshot: " << shot.err;
  EXPECT_EQ(PngSize(*png), std::make_pair(kWidth, kHeight));
  // A page of charts and tables, not a blank window (which compresses to a few KB).
  EXPECT_GT(png->size(), 30000u);
  if (const char* keep = std::getenv("R1_REPORT_SCREENSHOT"); keep != nullptr && *keep != '\0') {
    EXPECT_TRUE(WriteFileAtomic(keep, *png).ok()) << keep;
  }

  // The DOM the browser built from the page.
  BrowserRun dom = RunChromium(chromium_, dir_, page, "--dump-dom");
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  EXPECT_THAT(PageMessages(dom.err, page), ::testing::IsEmpty()) << dom.err;
  EXPECT_THAT(dom.out, HasSubstr("<title>r1 run report: report_run</title>"));
  EXPECT_THAT(dom.out, HasSubstr("<svg class=\"dag\""));
  for (const char* stage : {"pretrain", "grpo", "eval"}) {
    EXPECT_THAT(dom.out, HasSubstr(absl::StrCat("<g class=\"stage\" data-stage=\"", stage, "\"")));
  }
  EXPECT_THAT(dom.out, HasSubstr("<table class=\"evals\">"));
  EXPECT_THAT(dom.out, HasSubstr("data-metric=\"reward_mean\""));
  EXPECT_THAT(dom.out, HasSubstr("<polyline class=\"series\""));
  // The rollout's markup is text in a <pre>, not elements.
  EXPECT_THAT(dom.out, HasSubstr("&lt;script&gt;document.title='pwned'&lt;/script&gt;"));
  EXPECT_THAT(dom.out, HasSubstr("p &amp; q"));
  EXPECT_THAT(dom.out, Not(HasSubstr("<script")));
  EXPECT_THAT(dom.out, Not(HasSubstr("<img")));
}

// The console check above can fail: a page that logs an error and loads a missing image is
// caught by the same filter.
TEST_F(ReportBrowserTest, ConsoleMessagesOfAPageAreCaught) {
  if (chromium_.empty()) GTEST_SKIP() << "Chromium is not installed (see the test above)";
  const std::string page = JoinPath(dir_, "bad.html");
  ASSERT_TRUE(WriteFileAtomic(page,
                              "<!DOCTYPE html><html><head><title>bad</title></head><body>"
                              "<script>console.error('broken page')</script></body></html>")
                  .ok());
  BrowserRun dom = RunChromium(chromium_, dir_, page, "--dump-dom");
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  const std::vector<std::string> messages = PageMessages(dom.err, page);
  ASSERT_FALSE(messages.empty()) << dom.err;
  EXPECT_THAT(messages[0], HasSubstr("broken page"));
}

}  // namespace
}  // namespace r1
