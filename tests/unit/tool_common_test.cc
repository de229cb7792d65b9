#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "pam_module/module_args.h"
#include "tools/common/json.h"
#include "tools/common/terminal.h"

namespace sesame {
namespace {

TEST(JsonTest, EscapesAndNests) {
  JsonWriter j;
  j.BeginObject().Key("a").String("x\"y\n").Key("n").Int(-3).Key("l").BeginArray();
  j.Bool(true).String("\xff").EndArray().EndObject();
  EXPECT_EQ(j.str(), "{\"a\":\"x\\\"y\\n\",\"n\":-3,\"l\":[true,\"\\u00ff\"]}");
}

Result<SecretBuffer> ReadFromPipe(const std::string& data) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  EXPECT_EQ(write(fds[1], data.data(), data.size()), static_cast<ssize_t>(data.size()));
  close(fds[1]);
  Result<SecretBuffer> r = ReadSecretLine(fds[0], 1024);
  close(fds[0]);
  return r;
}

TEST(ReadSecretLineTest, OneLine) {
  auto r = ReadFromPipe("hunter2\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->view(), "hunter2");
  r = ReadFromPipe("no newline");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->view(), "no newline");
}

TEST(ReadSecretLineTest, RefusesBadInput) {
  EXPECT_EQ(ReadFromPipe("a\nb\n").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ReadFromPipe(std::string("a\0b\n", 4)).status().code(), Code::kInvalidArgument);
  auto big = ReadFromPipe(std::string(60000, 'x'));
  EXPECT_EQ(big.status().code(), Code::kInvalidArgument);
  EXPECT_NE(big.status().message().find("1024"), std::string::npos);
}

TEST(ModuleArgsTest, Accepted) {
  const char* argv[] = {"config=/etc/x.conf", "mode=interactive", "try_first_pass", "debug"};
  auto a = ParseModuleArgs(4, argv);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->config_path, "/etc/x.conf");
  EXPECT_TRUE(a->debug);
  EXPECT_TRUE(a->try_first_pass);
  const char* mfa[] = {"mode=mfa_only"};
  auto m = ParseModuleArgs(1, mfa);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->mfa_only);
  const char* two_modes[] = {"mode=mfa_only", "mode=interactive"};
  EXPECT_FALSE(ParseModuleArgs(2, two_modes).ok());
  auto d = ParseModuleArgs(0, nullptr);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->config_path, "/etc/security/sesame.conf");
}

TEST(ModuleArgsTest, Refused) {
  for (const char* bad : {"nullok", "config=relative.conf", "config=", "mode=app_password",
                          "mode=bogus", "debug=1"}) {
    const char* argv[] = {bad};
    auto a = ParseModuleArgs(1, argv);
    EXPECT_FALSE(a.ok()) << bad;
  }
  const char* twice[] = {"config=/a", "config=/b"};
  EXPECT_FALSE(ParseModuleArgs(2, twice).ok());
  const char* both[] = {"use_first_pass", "try_first_pass"};
  EXPECT_FALSE(ParseModuleArgs(2, both).ok());
  const char* esc[] = {"evil\narg"};
  auto e = ParseModuleArgs(1, esc);
  EXPECT_EQ(e.status().message().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace sesame
