// Tests of the run journal: append + replay, transition rules, torn tail, corrupt lines.
#include "pipeline/journal.h"

#include <string>

#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

std::string FreshDir(const std::string& name) {
  return testing_util::ScratchDir("journal_test_" + name);
}

JournalRecord Rec(const std::string& stage, JournalEvent event, int32_t attempt = 0,
                  int64_t step = -1) {
  JournalRecord r;
  r.stage = stage;
  r.event = event;
  r.attempt = attempt;
  r.step = step;
  return r;
}

TEST(JournalTest, AppendThenReplayGivesEachStageState) {
  std::string path = JoinPath(FreshDir("replay"), "journal");
  {
    absl::StatusOr<std::unique_ptr<Journal>> j = Journal::Open(path);
    ASSERT_TRUE(j.ok()) << j.status();
    Journal& journal = **j;
    ASSERT_TRUE(journal.Append(Rec("a", JournalEvent::kPending)).ok());
    ASSERT_TRUE(journal.Append(Rec("b", JournalEvent::kPending)).ok());
    ASSERT_TRUE(journal.Append(Rec("a", JournalEvent::kRunning, 1)).ok());
    ASSERT_TRUE(journal.Append(Rec("a", JournalEvent::kCheckpoint, 1, 100)).ok());
    ASSERT_TRUE(journal.Append(Rec("a", JournalEvent::kSucceeded, 1)).ok());
    ASSERT_TRUE(journal.Append(Rec("b", JournalEvent::kRunning, 1)).ok());
    JournalRecord fail = Rec("b", JournalEvent::kFailed, 1);
    fail.error = "worker 3 died";
    ASSERT_TRUE(journal.Append(fail).ok());
    ASSERT_TRUE(journal.Append(Rec("b", JournalEvent::kRunning, 2)).ok());
    ASSERT_TRUE(journal.Append(Rec("b", JournalEvent::kCheckpoint, 2, 40)).ok());
  }
  absl::StatusOr<JournalReplay> r = ReplayJournal(path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->records, 9);
  EXPECT_FALSE(r->torn_tail);
  const StageStatus& a = r->stages.at("a");
  EXPECT_EQ(a.state, StageState::kSucceeded);
  EXPECT_EQ(a.attempt, 1);
  EXPECT_EQ(a.checkpoint_step, 100);
  EXPECT_GT(a.last_time_ms, 0);
  const StageStatus& b = r->stages.at("b");
  EXPECT_EQ(b.state, StageState::kRunning);
  EXPECT_EQ(b.attempt, 2);
  EXPECT_EQ(b.checkpoint_step, 40);
  EXPECT_EQ(b.error, "");  // cleared by the new attempt

  // Reopening continues from the replayed state.
  JournalReplay replay;
  absl::StatusOr<std::unique_ptr<Journal>> j = Journal::Open(path, &replay);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(replay.records, 9);
  EXPECT_EQ((*j)->Stages().at("b").attempt, 2);
  EXPECT_TRUE((*j)->Append(Rec("b", JournalEvent::kSucceeded, 2)).ok());
  EXPECT_EQ(ReplayJournal(path)->stages.at("b").state, StageState::kSucceeded);
}

TEST(JournalTest, LineFormat) {
  absl::StatusOr<JournalReplay> r = ReplayJournalText(
      "{\"stage\":\"s\",\"event\":\"running\",\"attempt\":1,\"step\":-1,\"time_ms\":5}\n"
      "{\"stage\":\"s\",\"event\":\"failed\",\"attempt\":1,\"time_ms\":7,\"error\":\"oom\"}\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stages.at("s").state, StageState::kFailed);
  EXPECT_EQ(r->stages.at("s").error, "oom");
  EXPECT_EQ(r->stages.at("s").last_time_ms, 7);
}

TEST(JournalTest, ImpossibleTransitionsAreRefused) {
  std::string path = JoinPath(FreshDir("transitions"), "journal");
  absl::StatusOr<std::unique_ptr<Journal>> j = Journal::Open(path);
  ASSERT_TRUE(j.ok());
  Journal& journal = **j;
  absl::Status s = journal.Append(Rec("a", JournalEvent::kSucceeded, 1));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "stage \"a\" is pending; cannot become succeeded");
  EXPECT_EQ(journal.Append(Rec("a", JournalEvent::kCheckpoint, 1, 5)).message(),
            "stage \"a\" is pending; cannot record a checkpoint");
  ASSERT_TRUE(journal.Append(Rec("a", JournalEvent::kRunning, 1)).ok());
  EXPECT_EQ(journal.Append(Rec("a", JournalEvent::kRunning, 1)).message(),
            "stage \"a\": attempt 1 must be > 1 (the previous attempt)");
  ASSERT_TRUE(journal.Append(Rec("a", JournalEvent::kSucceeded, 1)).ok());
  EXPECT_EQ(journal.Append(Rec("a", JournalEvent::kRunning, 2)).message(),
            "stage \"a\" is succeeded; cannot become running");
  // Nothing refused was written.
  EXPECT_EQ(ReplayJournal(path)->records, 2);
  EXPECT_TRUE(journal.Stages().count("a"));
}

TEST(JournalTest, TornTailIsToleratedReportedAndCutOnOpen) {
  std::string path = JoinPath(FreshDir("torn"), "journal");
  std::string good =
      "{\"stage\":\"a\",\"event\":\"running\",\"attempt\":1,\"step\":-1,\"time_ms\":1}\n";
  ASSERT_TRUE(WriteFileAtomic(path, good + "{\"stage\":\"a\",\"event\":\"succ").ok());
  absl::StatusOr<JournalReplay> r = ReplayJournal(path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->torn_tail);
  EXPECT_EQ(r->torn_tail_line, 2);
  EXPECT_EQ(r->records, 1);
  EXPECT_EQ(r->stages.at("a").state, StageState::kRunning);  // the torn success never happened

  // A complete-looking record without its newline is torn too (its write did not finish).
  absl::StatusOr<JournalReplay> r2 = ReplayJournalText(
      good + "{\"stage\":\"a\",\"event\":\"succeeded\",\"attempt\":1,\"time_ms\":2}");
  ASSERT_TRUE(r2.ok());
  EXPECT_TRUE(r2->torn_tail);
  EXPECT_EQ(r2->stages.at("a").state, StageState::kRunning);

  JournalReplay replay;
  absl::StatusOr<std::unique_ptr<Journal>> j = Journal::Open(path, &replay);
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_TRUE(replay.torn_tail);
  EXPECT_EQ(*ReadFile(path), good);  // the torn bytes are gone
  ASSERT_TRUE((*j)->Append(Rec("a", JournalEvent::kSucceeded, 1)).ok());
  absl::StatusOr<JournalReplay> after = ReplayJournal(path);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_FALSE(after->torn_tail);
  EXPECT_EQ(after->stages.at("a").state, StageState::kSucceeded);
}

TEST(JournalTest, CorruptMiddleLineIsAnErrorNamingTheLine) {
  std::string text =
      "{\"stage\":\"a\",\"event\":\"running\",\"attempt\":1}\n"
      "{\"stage\":\"a\",\"event\":\"chec\n"
      "{\"stage\":\"a\",\"event\":\"succeeded\",\"attempt\":1}\n";
  absl::StatusOr<JournalReplay> r = ReplayJournalText(text, "RUN/journal");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "RUN/journal:2: corrupt record (not a JSON object): {\"stage\":\"a\",\"event\":\"chec");
  EXPECT_THAT(ReplayJournalText("{\"stage\":\"a\",\"event\":\"exploded\"}\n").status().message(),
              HasSubstr("journal:1: corrupt record (bad \"event\" \"exploded\")"));
  EXPECT_THAT(ReplayJournalText("{\"event\":\"running\"}\n").status().message(),
              HasSubstr("journal:1: corrupt record (missing \"stage\")"));
  EXPECT_EQ(ReplayJournalText("{\"stage\":\"a\",\"event\":\"succeeded\",\"attempt\":1}\n")
                .status()
                .message(),
            "journal:1: stage \"a\" is pending; cannot become succeeded");
}

TEST(JournalTest, MissingFileIsEmpty) {
  absl::StatusOr<JournalReplay> r = ReplayJournal(JoinPath(FreshDir("missing"), "journal"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->records, 0);
  EXPECT_TRUE(r->stages.empty());
}

}  // namespace
}  // namespace r1
