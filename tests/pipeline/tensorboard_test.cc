// TensorBoard event files (pipeline/tensorboard.h): what the writer puts on disk is read back by
// an independent reader (tests/tfevents_reader.h: its own CRC-32C and protobuf wire decoding),
// resume truncation keeps every step exactly once, a torn tail is cut, damage before the end is
// an error naming the file and the offset.
#include "pipeline/tensorboard.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/metrics.h"
#include "pipeline/run_dir.h"
#include "tests/test_util.h"
#include "tests/tfevents_reader.h"

namespace r1 {
namespace {

using ::r1::testing_util::DecodedEvent;
using ::r1::testing_util::ScratchDir;
using ::r1::testing_util::SummarySteps;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Pair;

// The one event file of `dir`, decoded strictly; fails the test on any damage.
std::vector<DecodedEvent> ReadOnlyEventFile(const std::string& dir, std::string* path = nullptr) {
  std::vector<DecodedEvent> events;
  std::string error;
  EXPECT_TRUE(testing_util::ReadOnlyEventFileIn(dir, &events, &error, path)) << error;
  return events;
}

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void WriteSteps(const std::string& dir, int64_t first, int64_t last) {
  TensorBoardWriter writer(dir);
  for (int64_t step = first; step <= last; ++step) {
    ASSERT_TRUE(writer.Write(step, {{"loss", 1.0 / static_cast<double>(step)}}).ok());
  }
}

TEST(TensorBoardTest, IndependentReaderDecodesHeaderTagsStepsAndValues) {
  const std::string dir = JoinPath(ScratchDir("tb_format"), "tensorboard/sft");  // made lazily
  const double before = NowSeconds();
  TensorBoardWriter writer(dir);
  EXPECT_EQ(writer.path(), "");
  ASSERT_TRUE(writer.Write(1, {{"loss", 2.5}, {"lr", 1e-4}}).ok());
  ASSERT_TRUE(writer.Write(2, {{"loss", 0.1}, {"grad_norm", NAN}}).ok());
  ASSERT_TRUE(writer.Write(3, {}).ok());

  std::string path;
  std::vector<DecodedEvent> events = ReadOnlyEventFile(dir, &path);
  EXPECT_EQ(writer.path(), path);
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof(host) - 1), 0);
  EXPECT_THAT(path, MatchesRegex(".*/events\\.out\\.tfevents\\.[0-9]{10}\\..*"));
  EXPECT_THAT(path, ::testing::EndsWith(std::string(".") + host));
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].offset, 0);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  EXPECT_EQ(events[0].step, 0);
  EXPECT_FALSE(events[0].has_summary);
  for (const DecodedEvent& e : events) {
    EXPECT_GE(e.wall_time, before - 1);
    EXPECT_LE(e.wall_time, NowSeconds() + 1);
  }
  EXPECT_EQ(SummarySteps(events), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_THAT(events[1].values, ElementsAre(Pair("loss", 2.5f), Pair("lr", 1e-4f)));
  ASSERT_EQ(events[2].values.size(), 2u);
  EXPECT_EQ(events[2].values[0].first, "grad_norm");
  EXPECT_TRUE(std::isnan(events[2].values[0].second));
  EXPECT_EQ(events[2].values[1], std::make_pair(std::string("loss"), 0.1f));
  EXPECT_TRUE(events[3].values.empty());
  EXPECT_EQ(events[1].file_version, "");
}

TEST(TensorBoardTest, FrameTfRecordLayout) {
  const std::string record = FrameTfRecord("abc");
  ASSERT_EQ(record.size(), 8u + 4u + 3u + 4u);
  EXPECT_EQ(record.substr(0, 8), std::string("\x03\0\0\0\0\0\0\0", 8));  // little endian
  EXPECT_EQ(record.substr(12, 3), "abc");
  using testing_util::BitwiseCrc32c;
  using testing_util::LittleEndianAt;
  using testing_util::TfRecordMask;
  EXPECT_EQ(BitwiseCrc32c("123456789"), 0xE3069283u);  // the reader's own CRC is the standard
  EXPECT_EQ(LittleEndianAt(record, 8, 4), TfRecordMask(BitwiseCrc32c(record.substr(0, 8))));
  EXPECT_EQ(LittleEndianAt(record, 15, 4), TfRecordMask(BitwiseCrc32c("abc")));
}

TEST(TensorBoardTest, MetricsWriterOfAStageWritesJsonlAndEvents) {
  const std::string root = ScratchDir("tb_metrics");
  absl::StatusOr<RunDir> run_dir = RunDir::Create(JoinPath(root, "run"), "run: {name: x}\n");
  ASSERT_TRUE(run_dir.ok()) << run_dir.status();
  EXPECT_EQ(run_dir->TensorBoardDir("grpo"), JoinPath(root, "run/tensorboard/grpo"));
  MetricsWriter metrics(*run_dir, "grpo");
  ASSERT_NE(metrics.tensorboard(), nullptr);
  ASSERT_TRUE(metrics.Write(4, {{"reward_mean", 0.75}}).ok());
  ASSERT_TRUE(metrics.Write(5, {{"reward_mean", 0.5}}).ok());
  EXPECT_EQ(metrics.Write(6, {{"step", 1.0}}).code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::vector<nlohmann::json>> lines = ReadJsonlRecords(metrics.path());
  ASSERT_TRUE(lines.ok());
  EXPECT_EQ(lines->size(), 2u);
  std::vector<DecodedEvent> events = ReadOnlyEventFile(run_dir->TensorBoardDir("grpo"));
  EXPECT_EQ(SummarySteps(events), (std::vector<int64_t>{4, 5}));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_THAT(events[2].values, ElementsAre(Pair("reward_mean", 0.5f)));
  EXPECT_EQ(MetricsWriter(JoinPath(root, "m.jsonl")).tensorboard(), nullptr);  // JSONL only
}

TEST(TensorBoardTest, ResumeTruncatesAfterCheckpointAndAppendsToTheSameFile) {
  const std::string dir = ScratchDir("tb_resume");
  WriteSteps(dir, 1, 10);
  std::string path_before;
  ReadOnlyEventFile(dir, &path_before);
  absl::StatusOr<int64_t> dropped = TruncateTensorBoardAfterStep(dir, 6);
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_EQ(*dropped, 4);
  EXPECT_EQ(SummarySteps(ReadOnlyEventFile(dir)), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  WriteSteps(dir, 7, 8);  // a new writer, as a resumed stage makes
  std::string path_after;
  std::vector<DecodedEvent> events = ReadOnlyEventFile(dir, &path_after);
  EXPECT_EQ(path_after, path_before);
  EXPECT_EQ(SummarySteps(events), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  ASSERT_EQ(events.size(), 9u);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");  // kept: the header has step 0
  EXPECT_THAT(events[8].values, ElementsAre(Pair("loss", 1.0f / 8)));
  // Nothing after the step: the file is left as it is; truncating to 0 keeps only the header.
  EXPECT_EQ(*TruncateTensorBoardAfterStep(dir, 8), 0);
  EXPECT_EQ(*TruncateTensorBoardAfterStep(dir, 0), 8);
  events = ReadOnlyEventFile(dir);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  EXPECT_EQ(*TruncateTensorBoardAfterStep(JoinPath(dir, "absent"), 3), 0);
}

// Each way an interrupted append can end a file: a short header, a record running past the end,
// a last record whose data CRC fails, a tail of zeros. Truncation and a reopening writer both
// cut it, keeping every whole record.
TEST(TensorBoardTest, TornTailIsDroppedByTruncationAndByAReopeningWriter) {
  const std::string frame = FrameTfRecord(std::string(40, 'x'));
  std::string bad_crc_last = frame;
  bad_crc_last[20] ^= 0x01;
  const std::vector<std::string> tails = {frame.substr(0, 7), frame.substr(0, 30), bad_crc_last,
                                          std::string(64, '\0')};
  for (size_t i = 0; i < tails.size(); ++i) {
    SCOPED_TRACE("tail " + std::to_string(i));
    const std::string dir = ScratchDir("tb_torn_" + std::to_string(i));
    WriteSteps(dir, 1, 3);
    std::string path;
    ReadOnlyEventFile(dir, &path);
    ASSERT_TRUE(AppendFileSynced(path, tails[i]).ok());
    absl::StatusOr<TfRecordFile> file = ReadTfRecordFile(path);
    ASSERT_TRUE(file.ok()) << file.status();
    EXPECT_EQ(file->records.size(), 4u);
    EXPECT_EQ(file->torn_tail_bytes, static_cast<int64_t>(tails[i].size()));
    if (i % 2 == 0) {
      absl::StatusOr<int64_t> dropped = TruncateTensorBoardAfterStep(dir, 2);
      ASSERT_TRUE(dropped.ok()) << dropped.status();
      EXPECT_EQ(*dropped, 1);  // step 3; the torn tail is not an event
      WriteSteps(dir, 3, 4);
    } else {
      WriteSteps(dir, 4, 4);  // the writer cuts the tail before appending
    }
    EXPECT_EQ(SummarySteps(ReadOnlyEventFile(dir)), (std::vector<int64_t>{1, 2, 3, 4}));
  }
}

// Damage before the end is not what a crash leaves: reading, truncating and writing all fail
// with DataLoss naming the file and the damaged record's offset, and change nothing.
TEST(TensorBoardTest, DamageBeforeTheEndIsAnErrorNamingFileAndOffset) {
  const std::string dir = ScratchDir("tb_damaged");
  WriteSteps(dir, 1, 3);
  std::string path;
  std::vector<DecodedEvent> events = ReadOnlyEventFile(dir, &path);
  ASSERT_EQ(events.size(), 4u);
  const std::string clean = *ReadFile(path);
  const int64_t second = events[2].offset;  // the record of step 2, followed by step 3's
  struct Damage {
    int64_t byte;
    std::string what;
  };
  for (const Damage& d :
       {Damage{second + 14, "data fails its CRC"}, Damage{second + 2, "length fails its CRC"}}) {
    SCOPED_TRACE(d.what);
    std::string damaged = clean;
    damaged[static_cast<size_t>(d.byte)] ^= 0x40;
    ASSERT_TRUE(WriteFileAtomic(path, damaged).ok());
    const std::string where = path + ": damaged TFRecord at byte offset " + std::to_string(second);
    absl::StatusOr<TfRecordFile> file = ReadTfRecordFile(path);
    EXPECT_EQ(file.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(file.status().message(), HasSubstr(where));
    EXPECT_THAT(file.status().message(), HasSubstr(d.what));
    absl::StatusOr<int64_t> dropped = TruncateTensorBoardAfterStep(dir, 1);
    EXPECT_EQ(dropped.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(dropped.status().message(), HasSubstr(where));
    absl::Status write = TensorBoardWriter(dir).Write(4, {{"loss", 1.0}});
    EXPECT_EQ(write.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(write.message(), HasSubstr(where));
    EXPECT_EQ(*ReadFile(path), damaged);
  }
}

TEST(TensorBoardTest, RecordThatIsNotAnEventIsNamed) {
  const std::string dir = ScratchDir("tb_not_event");
  WriteSteps(dir, 1, 1);
  std::string path;
  ReadOnlyEventFile(dir, &path);
  const int64_t offset = static_cast<int64_t>(ReadFile(path)->size());
  ASSERT_TRUE(
      AppendFileSynced(path, FrameTfRecord("\xff\xff\xff")).ok());  // a truncated varint key
  absl::StatusOr<int64_t> dropped = TruncateTensorBoardAfterStep(dir, 5);
  EXPECT_EQ(dropped.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(dropped.status().message(), path + ": the record at byte offset " +
                                            std::to_string(offset) + " is not a tensorboard.Event");
}

TEST(TensorBoardTest, LeftoverTempFilesAreNotEventFilesAndTruncationRemovesThem) {
  const std::string dir = ScratchDir("tb_temp");
  WriteSteps(dir, 1, 2);
  std::string path;
  ReadOnlyEventFile(dir, &path);
  const std::string temp = path + ".tmp-123-0";
  ASSERT_TRUE(WriteFileAtomic(temp, "partial").ok());
  EXPECT_FALSE(IsEventFileName("events.out.tfevents.1.host.tmp-123-0"));
  EXPECT_TRUE(IsEventFileName("events.out.tfevents.1700000000.host"));
  EXPECT_FALSE(IsEventFileName("metrics.jsonl"));
  EXPECT_THAT(*ListEventFiles(dir), ElementsAre(path));
  ASSERT_TRUE(TruncateTensorBoardAfterStep(dir, 1).ok());
  EXPECT_FALSE(PathExists(temp));
  EXPECT_EQ(SummarySteps(ReadOnlyEventFile(dir)), (std::vector<int64_t>{1}));
}

}  // namespace
}  // namespace r1
