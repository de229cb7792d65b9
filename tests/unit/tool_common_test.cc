#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <string_view>
#include <vector>

#include "pam_module/module_args.h"
#include "tests/fakes/store_backends.h"
#include "tools/common/activity_output.h"
#include "tools/common/command_table.h"
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
  EXPECT_FALSE(a->nodelay);
  const char* quiet[] = {"nodelay", "mode=mfa_only"};
  auto q = ParseModuleArgs(2, quiet);
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_TRUE(q->nodelay);
  const char* mfa[] = {"mode=mfa_only"};
  auto m = ParseModuleArgs(1, mfa);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->mfa_only);
  EXPECT_FALSE(m->app_password);
  const char* app[] = {"mode=app_password", "use_first_pass"};
  auto ap = ParseModuleArgs(2, app);
  ASSERT_TRUE(ap.ok()) << ap.status().message();
  EXPECT_TRUE(ap->app_password);
  EXPECT_FALSE(ap->mfa_only);
  EXPECT_TRUE(ap->use_first_pass);
  const char* app_twice[] = {"mode=app_password", "mode=mfa_only"};
  EXPECT_FALSE(ParseModuleArgs(2, app_twice).ok());
  const char* two_modes[] = {"mode=mfa_only", "mode=interactive"};
  EXPECT_FALSE(ParseModuleArgs(2, two_modes).ok());
  auto d = ParseModuleArgs(0, nullptr);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->config_path, "/etc/security/sesame.conf");
}

TEST(ModuleArgsTest, Refused) {
  for (const char* bad : {"nullok", "config=relative.conf", "config=", "mode=app_passwords",
                          "mode=bogus", "mode=", "debug=1", "nodelay=1"}) {
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

// ---- the command table (command_table.h) ----

struct FakeInvocation {};
int RunNothing(const FakeInvocation&) { return 0; }

// A table with the shapes both tools use: one and two words, operands,
// switches, a flag with a value, a group ("key ...").
CommandTable<FakeInvocation> MakeTable(const char* no_operands_note = "") {
  ToolSpec tool;
  tool.name = "tool";
  tool.version = "1.2";
  tool.global_flags = "--config=FILE --verbose";
  tool.anywhere_flags = "--verbose";
  tool.no_operands_note = no_operands_note;
  tool.help_head = "Usage: tool COMMAND\n";
  tool.help_width = 16;
  tool.help_tail = "End.\n";
  return CommandTable<FakeInvocation>(
      tool, {
                {"status", "show the state", "--json", {"", 0, 0}, RunNothing},
                {"user add", "add a user", "--temporary", {"NAME", 1, 1}, RunNothing},
                {"user", "a one-word prefix of a two-word command", "", {"", 0, 0}, RunNothing},
                {"key enroll", "enroll a key", "--out=FILE --invert", {"", 0, 0}, RunNothing},
                {"key remove", "remove the key", "", {"", 0, 0}, RunNothing},
                {"reset", "reset some", "", {"NAME...", 1, -1}, RunNothing},
            });
}

CommandLine Parse(const CommandTable<FakeInvocation>& table, std::vector<std::string_view> args) {
  return table.Parse(args);
}

std::string ErrorOf(const CommandTable<FakeInvocation>& table, std::vector<std::string_view> args) {
  CommandLine line = table.Parse(args);
  EXPECT_EQ(line.action, CommandLine::Action::kUsageError);
  return line.error;
}

TEST(CommandTableTest, FindsTheLongestCommandAndTakesItsArguments) {
  auto table = MakeTable();
  CommandLine line =
      Parse(table, {"--config", "/c", "--verbose", "user", "add", "--temporary", "alice"});
  ASSERT_EQ(line.action, CommandLine::Action::kRun) << line.error;
  EXPECT_STREQ(table.commands()[line.command].name, "user add");
  EXPECT_EQ(line.operands, std::vector<std::string>{"alice"});
  EXPECT_TRUE(line.Has("--temporary"));
  EXPECT_TRUE(line.Has("--verbose"));
  EXPECT_FALSE(line.Has("--json"));
  ASSERT_NE(line.Value("--config"), nullptr);
  EXPECT_EQ(*line.Value("--config"), "/c");
  EXPECT_EQ(line.Value("--out"), nullptr);

  line = Parse(table, {"user"});
  ASSERT_EQ(line.action, CommandLine::Action::kRun) << line.error;
  EXPECT_STREQ(table.commands()[line.command].name, "user");

  line = Parse(table, {"--config=/d", "reset", "a", "--", "--b", "-c"});
  ASSERT_EQ(line.action, CommandLine::Action::kRun) << line.error;
  EXPECT_EQ(*line.Value("--config"), "/d");
  EXPECT_EQ(line.operands, (std::vector<std::string>{"a", "--b", "-c"}));

  line = Parse(table, {"key", "enroll", "--out", "a.png", "--invert", "--verbose"});
  ASSERT_EQ(line.action, CommandLine::Action::kRun) << line.error;
  EXPECT_EQ(*line.Value("--out"), "a.png");
  EXPECT_TRUE(line.Has("--invert"));
  line = Parse(table, {"key", "enroll", "--out=--invert"});
  ASSERT_EQ(line.action, CommandLine::Action::kRun) << line.error;
  EXPECT_EQ(*line.Value("--out"), "--invert");
  EXPECT_FALSE(line.Has("--invert"));
}

TEST(CommandTableTest, HelpVersionAndNoCommand) {
  auto table = MakeTable();
  EXPECT_EQ(Parse(table, {}).action, CommandLine::Action::kNoCommand);
  EXPECT_EQ(Parse(table, {"--verbose"}).action, CommandLine::Action::kNoCommand);
  EXPECT_EQ(Parse(table, {"help"}).action, CommandLine::Action::kHelp);
  EXPECT_EQ(Parse(table, {"help", "status"}).action, CommandLine::Action::kHelp);
  EXPECT_EQ(Parse(table, {"-h"}).action, CommandLine::Action::kHelp);
  EXPECT_EQ(Parse(table, {"status", "--help"}).action, CommandLine::Action::kHelp);
  EXPECT_EQ(Parse(table, {"--version", "status"}).action, CommandLine::Action::kVersion);
  // After "--" nothing is an option.
  EXPECT_EQ(ErrorOf(table, {"user", "add", "a", "--", "--help"}),
            "usage: tool user add NAME [--temporary]");
}

TEST(CommandTableTest, UnknownCommandsSuggestACloseOne) {
  auto table = MakeTable();
  EXPECT_EQ(ErrorOf(table, {"stauts"}), "unknown command 'stauts' (did you mean 'status'?)");
  EXPECT_EQ(ErrorOf(table, {"usr", "add", "bob"}),
            "unknown command 'usr add' (did you mean 'user add'?)");
  EXPECT_EQ(ErrorOf(table, {"frobnicate"}), "unknown command 'frobnicate'");
  // A group's first word alone lists the group; a far second word too.
  EXPECT_EQ(ErrorOf(table, {"key"}), "'key' needs a subcommand: 'key enroll' or 'key remove'");
  EXPECT_EQ(ErrorOf(table, {"key", "--invert"}),
            "'key' needs a subcommand: 'key enroll' or 'key remove'");
  EXPECT_EQ(ErrorOf(table, {"key", "enrol"}),
            "unknown command 'key enrol' (did you mean 'key enroll'?)");
  EXPECT_EQ(ErrorOf(table, {"key", "xyzzyxyzzy"}),
            "unknown command 'key xyzzyxyzzy' ('key' takes 'key enroll' or 'key remove')");
  // What the caller typed is printed sanitised and cut.
  EXPECT_EQ(ErrorOf(table, {"\x1b[31m"}), "unknown command '\\x1b[31m'");
  std::string error = ErrorOf(table, {std::string(300, 'x')});
  EXPECT_LT(error.size(), 100u) << error;
}

TEST(CommandTableTest, RefusesBadOptions) {
  auto table = MakeTable();
  EXPECT_EQ(ErrorOf(table, {"--bogus", "status"}), "unknown option '--bogus'");
  EXPECT_EQ(ErrorOf(table, {"-", "status"}), "unknown option '-'");
  EXPECT_EQ(ErrorOf(table, {"--verbose=1", "status"}), "unknown option '--verbose=1'");
  EXPECT_EQ(ErrorOf(table, {"--config"}), "--config needs a file name (--config FILE)");
  EXPECT_EQ(ErrorOf(table, {"--config=a", "--config", "b", "status"}), "--config is given twice");
  // Global options with a value come before the command only.
  EXPECT_EQ(ErrorOf(table, {"status", "--config", "a"}),
            "'status' does not take option '--config'");
  EXPECT_EQ(ErrorOf(table, {"status", "--temporary"}),
            "'status' does not take option '--temporary'");
  EXPECT_EQ(ErrorOf(table, {"status", "-x"}), "'status' does not take option '-x'");
  EXPECT_EQ(ErrorOf(table, {"status", "--json=yes"}), "--json takes no value");
  EXPECT_EQ(ErrorOf(table, {"key", "enroll", "--out"}), "--out needs a file name (--out FILE)");
  EXPECT_EQ(ErrorOf(table, {"key", "enroll", "--out=a", "--out", "b"}), "--out is given twice");
}

TEST(CommandTableTest, OperandCounts) {
  auto table = MakeTable();
  EXPECT_EQ(ErrorOf(table, {"user", "add"}), "usage: tool user add NAME [--temporary]");
  EXPECT_EQ(ErrorOf(table, {"user", "add", "a", "b"}), "usage: tool user add NAME [--temporary]");
  EXPECT_EQ(ErrorOf(table, {"status", "x"}), "usage: tool status [--json]");
  EXPECT_EQ(ErrorOf(table, {"reset"}), "usage: tool reset NAME...");
  // With a note, the first operand of a command that takes none is refused.
  auto noted = MakeTable(": only yours");
  EXPECT_EQ(ErrorOf(noted, {"status", "bob", "--help"}),
            "'status' takes no arguments ('bob'): only yours");
  EXPECT_EQ(Parse(noted, {"status", "-"}).error, "'status' takes no arguments ('-'): only yours");
}

TEST(CommandTableTest, HelpListsEveryCommandWithItsArguments) {
  auto table = MakeTable();
  EXPECT_EQ(table.HelpText(),
            "Usage: tool COMMAND\n"
            "  status [--json]  show the state\n"
            "  user add NAME [--temporary]\n"
            "                   add a user\n"
            "  user             a one-word prefix of a two-word command\n"
            "  key enroll [--out FILE] [--invert]\n"
            "                   enroll a key\n"
            "  key remove       remove the key\n"
            "  reset NAME...    reset some\n"
            "End.\n");
}

// The activity table's cells go through SanitizeForDisplay: a detail's own
// quotes as they are (an app password's name is quoted in it), what could
// move the cursor escaped, every cell cut at 128 bytes.
TEST(ActivityTableTest, CellsAreSanitizedForDisplay) {
  SignInEvent e = testing::Event("alice", 1764000000, "success");
  e.remote_host = "198.51.100.4\x1b[2J";
  e.detail = "app password \"Mail\" accepted";
  const std::string table = ActivityTable({e}, /*with_user=*/true);
  EXPECT_NE(table.find("app password \"Mail\" accepted"), std::string::npos) << table;
  EXPECT_NE(table.find("198.51.100.4\\x1b[2J"), std::string::npos) << table;
  EXPECT_EQ(table.find('\x1b'), std::string::npos) << table;

  e.detail = std::string(200, 'd');
  const std::string cut = ActivityTable({e}, /*with_user=*/false);
  EXPECT_NE(cut.find(std::string(128, 'd') + "...\n"), std::string::npos) << cut;
  EXPECT_EQ(cut.find(std::string(129, 'd')), std::string::npos) << cut;
}

}  // namespace
}  // namespace sesame
