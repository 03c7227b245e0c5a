// Tests of the safetensors reader/writer: bit-exact round trips, byte-exact format against
// hand-built files, and rejection of every kind of corrupt or truncated file.
#include "model/safetensors.h"

#include <stdlib.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

std::string MakeTempDir() {
  std::string tmpl = JoinPath(::testing::TempDir(), "safetensors_test.XXXXXX");
  char* dir = ::mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr);
  return tmpl;
}

void WriteRaw(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// 8-byte little-endian length + header + data.
std::string LengthPrefix(uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out;
}
std::string FileBytes(const std::string& header, const std::string& data) {
  return LengthPrefix(header.size()) + header + data;
}

std::string RawBytes(const at::Tensor& t) {
  at::Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir(); }
  void TearDown() override { RemoveAll(dir_).IgnoreError(); }
  std::string Path(const std::string& name) const { return JoinPath(dir_, name); }

  std::string dir_;
};

TEST_F(SafetensorsTest, RoundTripIsBitExactForEveryDtype) {
  at::manual_seed(7);
  NamedTensors tensors;
  // Special values: NaN payloads, infinities, -0 and subnormals must survive bit for bit.
  at::Tensor specials = at::tensor(
      {0.0f, -0.0f, 1e-40f, -1e-45f, INFINITY, -INFINITY, NAN, 65504.f, 3.14159265f, -2.5e-8f});
  tensors["f32"] = at::randn({3, 5});
  tensors["f32.specials"] = specials;
  tensors["bf16"] = at::randn({4, 3}).to(at::kBFloat16);
  tensors["bf16.specials"] = specials.to(at::kBFloat16);
  tensors["f16"] = at::randn({2, 2, 3}).to(at::kHalf);
  tensors["f16.specials"] = specials.to(at::kHalf);
  tensors["f64"] = at::randn({3}, at::kDouble);
  tensors["i64"] = at::tensor({int64_t{-1}, int64_t{1} << 40, int64_t{0}});
  tensors["i32"] = at::tensor({-7, 8, 2147483647}, at::kInt);
  tensors["i16"] = at::tensor({-300, 300}, at::kShort);
  tensors["i8"] = at::tensor({-128, 127}, at::kChar);
  tensors["u8"] = at::tensor({0, 255}, at::kByte);
  tensors["bool"] = at::tensor({1, 0, 1}, at::kByte).to(at::kBool);
  const std::string path = Path("all.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, tensors).ok());

  auto loaded = LoadSafetensors(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(loaded->count(name));
    const at::Tensor& got = loaded->at(name);
    EXPECT_EQ(got.scalar_type(), t.scalar_type());
    EXPECT_EQ(got.sizes(), t.sizes());
    EXPECT_TRUE(got.device().is_cpu());
    EXPECT_EQ(RawBytes(got), RawBytes(t));
  }
}

TEST_F(SafetensorsTest, ScalarsAndZeroSizeDimsRoundTrip) {
  NamedTensors tensors;
  tensors["scalar"] = at::scalar_tensor(2.5f);
  tensors["empty0"] = at::zeros({0}, at::kBFloat16);
  tensors["empty_mid"] = at::zeros({2, 0, 3});
  tensors["cube"] = at::arange(60, at::kFloat).reshape({3, 4, 5});
  const std::string path = Path("shapes.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, tensors).ok());
  auto file = OpenSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->names(), (std::vector<std::string>{"cube", "empty0", "empty_mid", "scalar"}));
  EXPECT_EQ(file->infos().at("scalar").shape, std::vector<int64_t>{});
  EXPECT_EQ(file->infos().at("empty_mid").shape, (std::vector<int64_t>{2, 0, 3}));
  for (const auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    auto got = file->Tensor(name);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->sizes(), t.sizes());
    EXPECT_EQ(got->scalar_type(), t.scalar_type());
    EXPECT_TRUE(at::equal(*got, t));
  }
  EXPECT_EQ(file->Tensor("scalar")->item<float>(), 2.5f);
}

TEST_F(SafetensorsTest, NonContiguousTensorsAreWrittenContiguously) {
  at::Tensor base = at::arange(12, at::kFloat).reshape({3, 4});
  NamedTensors tensors;
  tensors["t"] = base.t();                                               // [4, 3], strides (1, 4)
  tensors["every_other"] = at::arange(10, at::kInt).slice(0, 0, 10, 2);  // 0 2 4 6 8
  const std::string path = Path("strided.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, tensors).ok());
  auto loaded = LoadSafetensors(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(at::equal(loaded->at("t"), base.t().contiguous()));
  EXPECT_TRUE(at::equal(loaded->at("every_other"), at::tensor({0, 2, 4, 6, 8}, at::kInt)));
}

// What Hugging Face's save_file({"x": torch.tensor([1., 2.])}) writes: 54 bytes of JSON padded
// with 2 spaces to 56, then the two floats.
TEST_F(SafetensorsTest, MatchesHuggingFaceBytesForOneTensor) {
  const std::string path = Path("hf.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{"x", at::tensor({1.0f, 2.0f})}}).ok());
  const std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_EQ(header.size(), 54u);
  const std::string expected = std::string("\x38\0\0\0\0\0\0\0", 8) + header + "  " +
                               std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8);
  auto bytes = ReadFile(path);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, expected);
}

// Metadata first, tensors in name order with back-to-back offsets, dtypes mixed, a scalar and an
// empty tensor; the F32 data starts at an odd offset so the reader must copy instead of map.
TEST_F(SafetensorsTest, MatchesHandBuiltFileWithMetadataAndMixedDtypes) {
  NamedTensors tensors;
  tensors["bb"] = at::tensor({1.0f, -2.0f});         // F32: 00 00 80 3f, 00 00 00 c0
  tensors["a"] = at::scalar_tensor(1.0, at::kHalf);  // F16: 00 3c
  tensors["c"] = at::zeros({0}, at::kChar);          // I8, no bytes
  const std::string path = Path("mixed.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, tensors, {{"format", "pt"}}).ok());

  const std::string header = R"({"__metadata__":{"format":"pt"},)"
                             R"("a":{"dtype":"F16","shape":[],"data_offsets":[0,2]},)"
                             R"("bb":{"dtype":"F32","shape":[2],"data_offsets":[2,10]},)"
                             R"("c":{"dtype":"I8","shape":[0],"data_offsets":[10,10]}})";
  ASSERT_EQ(header.size(), 193u);  // padded with 7 spaces to 200 = 0xc8
  const std::string expected = std::string("\xc8\0\0\0\0\0\0\0", 8) + header + "       " +
                               std::string("\x00\x3c", 2) +
                               std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);
  auto bytes = ReadFile(path);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, expected);

  auto file = OpenSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->metadata(), (SafetensorsMetadata{{"format", "pt"}}));
  auto bb = file->Tensor("bb");
  ASSERT_TRUE(bb.ok());
  EXPECT_TRUE(at::equal(*bb, tensors["bb"]));
  EXPECT_EQ(file->Tensor("a")->item<float>(), 1.0f);
}

TEST_F(SafetensorsTest, TensorsOutliveTheFileObjectAndNeverWriteBack) {
  const std::string path = Path("keep.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{"w", at::arange(4, at::kFloat)}}).ok());
  auto before = ReadFile(path);
  ASSERT_TRUE(before.ok());
  at::Tensor w;
  {
    auto file = OpenSafetensors(path);
    ASSERT_TRUE(file.ok()) << file.status();
    auto t = file->Tensor("w");
    ASSERT_TRUE(t.ok());
    w = *t;
  }
  ASSERT_EQ(::unlink(path.c_str()), 0);
  EXPECT_TRUE(at::equal(w, at::arange(4, at::kFloat)));
  // In-place writes go to a private copy of the page, not to the file.
  ASSERT_TRUE(WriteSafetensors(path, {{"w", at::arange(4, at::kFloat)}}).ok());
  auto file = OpenSafetensors(path);
  ASSERT_TRUE(file.ok());
  at::Tensor v = *file->Tensor("w");
  v.mul_(10);
  EXPECT_EQ(v[3].item<float>(), 30.0f);
  EXPECT_EQ(*ReadFile(path), *before);
  EXPECT_EQ(file->Tensor("w")->index({3}).item<float>(), 30.0f);  // same mapping, same process
  auto fresh = LoadSafetensors(path);  // a new mapping sees the file, not the private copy
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(at::equal(fresh->at("w"), at::arange(4, at::kFloat)));
}

TEST_F(SafetensorsTest, MissingTensorAndMissingFileAreNotFound) {
  const std::string path = Path("one.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{"w", at::ones({1})}}).ok());
  auto file = OpenSafetensors(path);
  ASSERT_TRUE(file.ok());
  auto t = file->Tensor("nope");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(t.status().message(), HasSubstr(path));
  EXPECT_THAT(t.status().message(), HasSubstr("nope"));

  auto missing = OpenSafetensors(Path("absent.safetensors"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("absent.safetensors"));
}

TEST_F(SafetensorsTest, EveryTruncationIsDataLossNamingTheFile) {
  NamedTensors tensors;
  tensors["a"] = at::arange(3, at::kFloat);
  tensors["b"] = at::ones({2, 2}, at::kBFloat16);
  const std::string full_path = Path("full.safetensors");
  ASSERT_TRUE(WriteSafetensors(full_path, tensors).ok());
  const std::string full = *ReadFile(full_path);
  const std::string cut_path = Path("cut.safetensors");
  for (size_t cut = 0; cut < full.size(); ++cut) {
    SCOPED_TRACE(absl::StrCat("cut at ", cut, " of ", full.size()));
    WriteRaw(cut_path, full.substr(0, cut));
    auto file = OpenSafetensors(cut_path);
    ASSERT_FALSE(file.ok());
    EXPECT_EQ(file.status().code(), absl::StatusCode::kDataLoss) << file.status();
    EXPECT_THAT(file.status().message(), HasSubstr(cut_path));
  }
  EXPECT_TRUE(OpenSafetensors(full_path).ok());
}

struct CorruptCase {
  const char* label;
  std::string bytes;  // whole file
  absl::StatusCode code;
  const char* message_part;
};

TEST_F(SafetensorsTest, CorruptHeadersAreRejectedWithTheFileAndProblemNamed) {
  const std::string f32x2(8, '\x01');
  auto one = [&](const std::string& entry) { return FileBytes("{" + entry + "}", f32x2); };
  const std::vector<CorruptCase> cases = {
      {"length u64 max", LengthPrefix(~uint64_t{0}) + "{}", absl::StatusCode::kDataLoss,
       "header length"},
      {"length one past end", LengthPrefix(3) + "{}", absl::StatusCode::kDataLoss,
       "header length 3"},
      {"empty header", FileBytes("", ""), absl::StatusCode::kInvalidArgument, "JSON object"},
      {"not an object", FileBytes("[1, 2]", ""), absl::StatusCode::kInvalidArgument, "JSON object"},
      {"bad JSON", FileBytes(R"({"a": {"dtype": "F32",)", ""), absl::StatusCode::kInvalidArgument,
       "not valid JSON"},
      {"trailing garbage", FileBytes(R"({} x)", ""), absl::StatusCode::kInvalidArgument,
       "not valid JSON"},
      {"unknown dtype", one(R"("a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,8]})"),
       absl::StatusCode::kInvalidArgument, "unknown dtype \"F8_E4M3\""},
      {"dtype not a string", one(R"("a":{"dtype":4,"shape":[2],"data_offsets":[0,8]})"),
       absl::StatusCode::kInvalidArgument, "dtype"},
      {"entry not an object", one(R"("a":[1])"), absl::StatusCode::kInvalidArgument,
       "not a JSON object"},
      {"missing shape", one(R"("a":{"dtype":"F32","data_offsets":[0,8]})"),
       absl::StatusCode::kInvalidArgument, "shape"},
      {"negative dim", one(R"("a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"),
       absl::StatusCode::kInvalidArgument, "bad shape [-2]"},
      {"fractional dim", one(R"("a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]})"),
       absl::StatusCode::kInvalidArgument, "bad shape"},
      {"string dim", one(R"("a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]})"),
       absl::StatusCode::kInvalidArgument, "bad shape"},
      {"missing offsets", one(R"("a":{"dtype":"F32","shape":[2]})"),
       absl::StatusCode::kInvalidArgument, "data_offsets"},
      {"three offsets", one(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]})"),
       absl::StatusCode::kInvalidArgument, "data_offsets"},
      {"negative offset", one(R"("a":{"dtype":"F32","shape":[0],"data_offsets":[-1,-1]})"),
       absl::StatusCode::kInvalidArgument, "data_offsets"},
      {"begin after end", one(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]})"),
       absl::StatusCode::kInvalidArgument, "begin > end"},
      {"end past data", one(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]})"),
       absl::StatusCode::kDataLoss, "only 8 bytes"},
      {"size/shape mismatch", one(R"("a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]})"),
       absl::StatusCode::kInvalidArgument, "span 8 bytes"},
      {"dtype/size mismatch", one(R"("a":{"dtype":"BF16","shape":[2],"data_offsets":[0,8]})"),
       absl::StatusCode::kInvalidArgument, "span 8 bytes"},
      {"numel overflow",
       one(R"("a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]})"),
       absl::StatusCode::kInvalidArgument, "span 0 bytes"},
      {"overlap",
       one(R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
           R"("b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]})"),
       absl::StatusCode::kInvalidArgument, "overlap"},
      {"same range twice",
       one(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
           R"("b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]})"),
       absl::StatusCode::kInvalidArgument, "overlap"},
      {"duplicate key",
       one(R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
           R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]})"),
       absl::StatusCode::kInvalidArgument, "key \"a\" twice"},
      {"metadata not an object", one(R"("__metadata__":["pt"])"),
       absl::StatusCode::kInvalidArgument, "__metadata__"},
      {"metadata value not a string", one(R"("__metadata__":{"format":"pt","step":3})"),
       absl::StatusCode::kInvalidArgument, "\"step\""},
  };
  const std::string path = Path("corrupt.safetensors");
  for (const CorruptCase& c : cases) {
    SCOPED_TRACE(c.label);
    WriteRaw(path, c.bytes);
    auto file = OpenSafetensors(path);
    ASSERT_FALSE(file.ok());
    EXPECT_EQ(file.status().code(), c.code) << file.status();
    EXPECT_THAT(file.status().message(), HasSubstr(path));
    EXPECT_THAT(file.status().message(), HasSubstr(c.message_part));
  }
}

TEST_F(SafetensorsTest, AcceptsGapsEmptyTensorsInsideOthersAndPaddedHeaders) {
  // Not what our writer produces, but valid: unordered offsets, a gap, an empty tensor whose
  // offsets fall inside another tensor, trailing spaces, unknown per-entry fields.
  const std::string header =
      R"({"b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]},)"
      R"("e":{"dtype":"F32","shape":[0,5],"data_offsets":[1,1],"extra":true},)"
      R"("a":{"dtype":"I16","shape":[2],"data_offsets":[0,4]}}    )";
  const std::string data("\x01\x00\xff\xff\x00\x00\x07\x09", 8);
  const std::string path = Path("odd.safetensors");
  WriteRaw(path, FileBytes(header, data));
  auto loaded = LoadSafetensors(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(at::equal(loaded->at("a"), at::tensor({1, -1}, at::kShort)));
  EXPECT_TRUE(at::equal(loaded->at("b"), at::tensor({7, 9}, at::kByte)));
  EXPECT_EQ(loaded->at("e").sizes(), (std::vector<int64_t>{0, 5}));
}

TEST_F(SafetensorsTest, WriterRejectsWhatTheFormatCannotHoldAndLeavesNothingBehind) {
  const std::string path = Path("bad.safetensors");
  struct Case {
    const char* label;
    NamedTensors tensors;
    const char* message_part;
  };
  const std::vector<Case> cases = {
      {"complex", {{"z", at::zeros({2}, at::kComplexFloat)}}, "\"z\""},
      {"undefined", {{"u", at::Tensor()}}, "undefined"},
      {"reserved name", {{"__metadata__", at::ones({1})}}, "reserved"},
      {"empty name", {{"", at::ones({1})}}, "reserved or empty"},
      {"sparse", {{"s", at::eye(2).to_sparse()}}, "dense"},
      {"name not UTF-8", {{"bad\xff", at::ones({1})}}, "UTF-8"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    absl::Status s = WriteSafetensors(path, c.tensors);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(s.message(), HasSubstr(c.message_part));
    EXPECT_THAT(s.message(), HasSubstr(path));
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
  absl::Status bad_meta = WriteSafetensors(path, {}, {{"k", "\xc3"}});
  EXPECT_EQ(bad_meta.code(), absl::StatusCode::kInvalidArgument) << bad_meta;
  EXPECT_TRUE(std::filesystem::is_empty(dir_));

  absl::Status no_dir = WriteSafetensors(Path("no/such/dir/x.safetensors"), {});
  EXPECT_FALSE(no_dir.ok());
  EXPECT_THAT(no_dir.message(), HasSubstr("no/such/dir/x.safetensors"));
}

TEST_F(SafetensorsTest, RewriteReplacesTheFileAtomically) {
  const std::string path = Path("w.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{"w", at::ones({4})}}).ok());
  ASSERT_TRUE(WriteSafetensors(path, {{"v", at::zeros({1}, at::kHalf)}}).ok());
  auto file = OpenSafetensors(path);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->names(), std::vector<std::string>{"v"});
  // No temporary file is left beside it.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(SafetensorsTest, EmptyFileOfTensorsRoundTrips) {
  const std::string path = Path("empty.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {}).ok());
  // "{}" padded to 8: the smallest valid file.
  EXPECT_EQ(*ReadFile(path), std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
  auto loaded = LoadSafetensors(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->empty());
}

TEST(SafetensorsDtypeTest, NamesMapBothWays) {
  EXPECT_EQ(*SafetensorsDtypeName(at::kBFloat16), "BF16");
  EXPECT_EQ(*SafetensorsDtypeName(at::kHalf), "F16");
  EXPECT_EQ(*SafetensorsDtypeName(at::kBool), "BOOL");
  EXPECT_EQ(*SafetensorsDtypeFromName("F32"), at::kFloat);
  EXPECT_EQ(*SafetensorsDtypeFromName("I8"), at::kChar);
  EXPECT_FALSE(SafetensorsDtypeFromName("f32").ok());
  EXPECT_FALSE(SafetensorsDtypeName(at::kComplexDouble).ok());
}

}  // namespace
}  // namespace r1
