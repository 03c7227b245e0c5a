// worker_api/tls_credentials: reading cluster.tls's PEM files (errors name the setting and the
// file), and the credentials it builds (insecure when TLS is off).
#include "worker_api/tls_credentials.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

const std::string kTlsDir = std::string(R1_SOURCE_DIR) + "/tests/data/tls";

TlsConfig GoodTls() {
  TlsConfig tls;
  tls.cert = kTlsDir + "/node1.pem";
  tls.key = kTlsDir + "/node1.key";
  tls.ca = kTlsDir + "/ca1.pem";
  return tls;
}

TEST(TlsCredentialsTest, ReadsTheThreeFiles) {
  absl::StatusOr<TlsPem> pem = ReadTlsPem(GoodTls());
  ASSERT_TRUE(pem.ok()) << pem.status();
  EXPECT_THAT(pem->cert, HasSubstr("-----BEGIN CERTIFICATE-----"));
  EXPECT_THAT(pem->key, HasSubstr("PRIVATE KEY-----"));
  EXPECT_THAT(pem->ca, HasSubstr("-----BEGIN CERTIFICATE-----"));
  EXPECT_NE(pem->cert, pem->ca);
}

TEST(TlsCredentialsTest, MissingFileNamesTheKeyAndTheFile) {
  TlsConfig tls = GoodTls();
  tls.cert = "/nonexistent/dir/node.pem";
  absl::StatusOr<TlsPem> pem = ReadTlsPem(tls);
  ASSERT_FALSE(pem.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(pem.status()));
  EXPECT_EQ(pem.status().message(),
            "cluster.tls.cert: cannot read /nonexistent/dir/node.pem: No such file or directory");

  tls = GoodTls();
  tls.ca = "/nonexistent/ca.pem";
  EXPECT_THAT(std::string(ReadTlsPem(tls, "--tls-").status().message()),
              HasSubstr("--tls-ca: cannot read /nonexistent/ca.pem"));
}

TEST(TlsCredentialsTest, WrongKindOfFileOrUnsetField) {
  TlsConfig tls = GoodTls();
  tls.key = tls.cert;  // a certificate where the key belongs
  EXPECT_EQ(ReadTlsPem(tls).status().message(),
            absl::StrCat("cluster.tls.key: ", tls.cert, " is not a PEM private key"));

  tls = GoodTls();
  tls.ca = tls.key;  // a key where a certificate belongs
  absl::Status s = ReadTlsPem(tls).status();
  EXPECT_THAT(std::string(s.message()), HasSubstr("cluster.tls.ca: "));
  EXPECT_THAT(std::string(s.message()), HasSubstr("is not a PEM certificate"));
  // The file's contents never appear in the message.
  EXPECT_THAT(std::string(s.message()), ::testing::Not(HasSubstr("BEGIN")));

  tls = GoodTls();
  tls.key.clear();
  EXPECT_EQ(ReadTlsPem(tls).status().message(), "cluster.tls.key: not set");
}

TEST(TlsCredentialsTest, EmptyFileIsNotPem) {
  const std::string dir = testing_util::ScratchDir("tls_creds");
  const std::string empty = JoinPath(dir, "empty.pem");
  std::ofstream(empty).close();
  TlsConfig tls = GoodTls();
  tls.cert = empty;
  EXPECT_EQ(ReadTlsPem(tls).status().message(),
            absl::StrCat("cluster.tls.cert: ", empty, " is not a PEM certificate"));
}

TEST(TlsCredentialsTest, CredentialsFollowTheConfig) {
  EXPECT_TRUE(MakeServerCredentials(TlsConfig{}).ok());  // off: insecure, nothing read
  EXPECT_TRUE(MakeChannel("127.0.0.1:1", TlsConfig{}).ok());
  EXPECT_TRUE(MakeServerCredentials(GoodTls()).ok());
  EXPECT_TRUE(MakeChannel("127.0.0.1:1", GoodTls()).ok());

  TlsConfig bad = GoodTls();
  bad.key = "/nonexistent/node.key";
  EXPECT_THAT(std::string(MakeServerCredentials(bad).status().message()),
              HasSubstr("cluster.tls.key: cannot read /nonexistent/node.key"));
  EXPECT_THAT(std::string(MakeChannel("127.0.0.1:1", bad).status().message()),
              HasSubstr("cluster.tls.key: cannot read /nonexistent/node.key"));
}

}  // namespace
}  // namespace r1
