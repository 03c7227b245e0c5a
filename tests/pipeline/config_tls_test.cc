// cluster.tls in the config: off by default, relative paths resolved against the config's
// directory, written to run.yaml and read back, and all of cert/key/ca or none.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/config.h"

namespace r1 {
namespace {

using ::testing::ElementsAre;

constexpr char kStages[] = R"(
model: {path: /m}
datasets: {g: {path: /g.jsonl, format: gsm8k}}
stages: [{name: a, type: sft, inputs: {datasets: [g]}}]
)";

std::vector<std::string> Errors(const std::string& cluster) {
  ConfigParseResult r = ParseConfigCollect(std::string(kStages) + "cluster: " + cluster + "\n");
  std::vector<std::string> out;
  for (const ConfigError& e : r.errors) out.push_back(e.ToString());
  return out;
}

TEST(ConfigTlsTest, OffByDefault) {
  absl::StatusOr<PipelineConfig> c = ParseConfig(kStages);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->cluster.tls.enabled());
}

TEST(ConfigTlsTest, PathsResolvedAndRoundTrip) {
  ConfigParseOptions options;
  options.base_dir = "/etc/r1";
  absl::StatusOr<PipelineConfig> c =
      ParseConfig(std::string(kStages) +
                      "cluster: {tls: {cert: certs/node.pem, key: /abs/node.key, ca: ../ca.pem, "
                      "server_name: r1-node}}\n",
                  options);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->cluster.tls.enabled());
  EXPECT_EQ(c->cluster.tls.cert, "/etc/r1/certs/node.pem");
  EXPECT_EQ(c->cluster.tls.key, "/abs/node.key");
  EXPECT_EQ(c->cluster.tls.ca, "/etc/ca.pem");
  EXPECT_EQ(c->cluster.tls.server_name, "r1-node");
  absl::StatusOr<PipelineConfig> again = ParseConfig(ConfigToYaml(*c));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->cluster.tls.cert, c->cluster.tls.cert);
  EXPECT_EQ(again->cluster.tls.key, c->cluster.tls.key);
  EXPECT_EQ(again->cluster.tls.ca, c->cluster.tls.ca);
  EXPECT_EQ(again->cluster.tls.server_name, "r1-node");
}

TEST(ConfigTlsTest, AllThreeOrNone) {
  EXPECT_THAT(Errors("{tls: {cert: /c.pem}}"),
              ElementsAre("cluster.tls.key: required when cluster.tls is given (cert, key and ca)",
                          "cluster.tls.ca: required when cluster.tls is given (cert, key and ca)"));
  EXPECT_THAT(Errors("{tls: {server_name: x}}"),
              ElementsAre("cluster.tls.server_name: needs cluster.tls cert, key and ca"));
  EXPECT_THAT(Errors("{tls: {cert: /c, key: /k, ca: /a, crt: /x}}"),
              ElementsAre(::testing::HasSubstr("cluster.tls.crt: unknown key")));
}

}  // namespace
}  // namespace r1
