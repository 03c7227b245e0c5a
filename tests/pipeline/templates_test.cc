// Tests for prompt templates: exact rendered strings and the prompt/response invariant.
#include "pipeline/templates.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

PromptTemplate Get(const std::string& name) {
  auto t = PromptTemplate::ByName(name);
  EXPECT_TRUE(t.ok()) << t.status();
  return *t;
}

TEST(TemplatesTest, R1ZeroIsThePapersText) {
  EXPECT_EQ(Get("r1_zero").RenderPrompt("What is 2+3?"),
            "A conversation between User and Assistant. The user asks a question, and the "
            "Assistant solves it. The assistant first thinks about the reasoning process in the "
            "mind and then provides the user with the answer. The reasoning process and answer "
            "are enclosed within <think> </think> and <answer> </answer> tags, respectively, "
            "i.e., <think> reasoning process here </think> <answer> answer here </answer>. "
            "User: What is 2+3?. Assistant:");
}

TEST(TemplatesTest, ChatmlAndPlainPrompts) {
  EXPECT_EQ(Get("chatml").RenderPrompt("hi"),
            "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(Get("plain").RenderPrompt("hi"), "User: hi\nAssistant: ");
  EXPECT_EQ(Get("raw").RenderPrompt("hi"), "hi");
}

TEST(TemplatesTest, ChatmlConversation) {
  std::vector<ChatMessage> chat = {
      {"system", "Be brief."}, {"user", "2+2?"}, {"assistant", "4"}, {"user", "and 3+3?"}};
  auto text = Get("chatml").RenderChat(chat, true);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text,
            "<|im_start|>system\nBe brief.<|im_end|>\n"
            "<|im_start|>user\n2+2?<|im_end|>\n"
            "<|im_start|>assistant\n4<|im_end|>\n"
            "<|im_start|>user\nand 3+3?<|im_end|>\n"
            "<|im_start|>assistant\n");
  auto no_gen = Get("chatml").RenderChat(chat, false);
  ASSERT_TRUE(no_gen.ok());
  EXPECT_EQ(*text, *no_gen + "<|im_start|>assistant\n");
}

TEST(TemplatesTest, PlainAndR1ZeroConversations) {
  std::vector<ChatMessage> chat = {{"user", "hi"}, {"assistant", "hello"}};
  EXPECT_EQ(*Get("plain").RenderChat(chat, false), "User: hi\nAssistant: hello\n");
  std::vector<ChatMessage> with_system = {{"system", "You add."}, {"user", "1+1"}};
  EXPECT_EQ(*Get("plain").RenderChat(with_system, true), "You add.\nUser: 1+1\nAssistant: ");
  EXPECT_EQ(*Get("r1_zero").RenderChat(with_system, true), "You add. User: 1+1. Assistant:");
  EXPECT_EQ(*Get("raw").RenderChat(chat, false), "hihello");
}

TEST(TemplatesTest, PromptPlusResponseEqualsRenderedChat) {
  for (const std::string& name : PromptTemplateNames()) {
    PromptTemplate t = Get(name);
    std::string response = "<think>1+1=2</think><answer>2</answer>";
    auto full = t.RenderChat({{"user", "1+1"}, {"assistant", response}}, false);
    ASSERT_TRUE(full.ok());
    EXPECT_EQ(*full, t.RenderPrompt("1+1") + response + t.response_suffix()) << name;
    auto prompt_only = t.RenderChat({{"user", "1+1"}}, true);
    ASSERT_TRUE(prompt_only.ok());
    EXPECT_EQ(*prompt_only, t.RenderPrompt("1+1")) << name;
  }
}

TEST(TemplatesTest, ErrorsNameTheProblem) {
  auto unknown = PromptTemplate::ByName("llama3");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("\"llama3\""));
  EXPECT_THAT(unknown.status().message(), HasSubstr("known: chatml, plain, r1_zero, raw"));

  auto bad_role = Get("chatml").RenderChat({{"user", "a"}, {"tool", "b"}}, false);
  ASSERT_FALSE(bad_role.ok());
  EXPECT_THAT(bad_role.status().message(), HasSubstr("message 1: unknown role \"tool\""));
  auto late_system = Get("plain").RenderChat({{"user", "a"}, {"system", "b"}}, false);
  ASSERT_FALSE(late_system.ok());
  EXPECT_THAT(late_system.status().message(), HasSubstr("message 1: a system message must"));
}

}  // namespace
}  // namespace r1
