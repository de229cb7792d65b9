// The command line of both tools: a table of subcommands (name, summary,
// flags, operands, handler), one parser with "did you mean", one help text.
//
//   TOOL [GLOBAL-OPTION...] COMMAND-WORDS [OPTION | OPERAND]...
//
//  - before the command: --help or -h (the help), --version, and the tool's
//    global options (ToolSpec::global_flags); anything else that starts
//    with "-" is an unknown option;
//  - the command is one or two words ("status", "user add"); the longest
//    name that the words match wins; "help" prints the help;
//  - after it: the command's flags, the tool's ToolSpec::anywhere_flags,
//    --help or -h; "--" ends the options (what follows is an operand); a
//    flag that takes a value ("--qr-png=FILE" in the table) takes it after
//    "=" or as the next argument, once; a switch takes no "=";
//  - operands: a command that takes none refuses the first one at once when
//    the tool says why (ToolSpec::no_operands_note); otherwise a count out
//    of the command's range prints its usage line;
//  - every error is "TOOL: error: MESSAGE" and "(see 'TOOL help')" on
//    stderr, exit 2; whatever the caller typed is sanitised (SanitizeForLog)
//    before it is printed.
#ifndef SESAME_TOOLS_COMMON_COMMAND_TABLE_H_
#define SESAME_TOOLS_COMMON_COMMAND_TABLE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sesame {

struct Operands {
  const char* synopsis;  // "NAME...", for the help and the usage line; "" for none
  int min;
  int max;  // -1: any number
};

// One row of a tool's table.
template <typename Invocation>
struct Command {
  const char* name;     // "passwd", or two words: "mfa enroll"
  const char* summary;  // one line for the help
  const char* flags;    // space separated; "--qr-png=FILE" takes a value named FILE
  Operands operands;
  int (*run)(const Invocation&);
};

// A row without its handler: what the parser and the help read.
struct CommandInfo {
  const char* name;
  const char* summary;
  const char* flags;
  Operands operands;
};

// What is the same for every command of a tool.
struct ToolSpec {
  const char* name = "";     // "sesame-admin": the prefix of every message
  const char* version = "";  // for --version
  // Accepted before the command only: "--config=FILE --verbose".
  const char* global_flags = "";
  // Switches also accepted after the command (each also in global_flags).
  const char* anywhere_flags = "";
  // Non-empty: an operand given to a command that takes none is refused at
  // once, "'passwd' takes no arguments ('bob')" followed by this.
  const char* no_operands_note = "";
  std::string help_head;  // the help before the list of commands
  int help_width = 22;    // the width of the command column
  std::string help_tail;  // the help after it
};

// What a command line asks for.
struct CommandLine {
  enum class Action {
    kRun,         // run `command`
    kHelp,        // --help, -h or help: the help to stdout, exit 0
    kNoCommand,   // nothing but options: the help to stderr, exit 2
    kVersion,     // --version
    kUsageError,  // `error`, exit 2
  };
  Action action = Action::kUsageError;
  std::string error;   // kUsageError: the message, the caller's text sanitised
  size_t command = 0;  // kRun: the row of the table
  std::vector<std::string> operands;
  // Flags that take a value, in the order given: {"--qr-png", "qr.png"}.
  std::vector<std::pair<std::string, std::string>> values;
  std::vector<std::string> switches;  // "--json", "--verbose" (as often as given)

  bool Has(std::string_view flag) const;
  // The value given for `flag`; null when it was not given.
  const std::string* Value(std::string_view flag) const;
};

// The parser and the help of one tool; no handlers (CommandTable has them).
class CommandLineParser {
 public:
  CommandLineParser(ToolSpec tool, std::vector<CommandInfo> commands);

  // Parses the arguments after the program name.
  CommandLine Parse(const std::vector<std::string_view>& args) const;
  CommandLine Parse(int argc, const char* const* argv) const;

  std::string HelpText() const;

  // Prints what a line that is not kRun asks for; returns the exit code.
  int Answer(const CommandLine& line) const;

  // Prints "TOOL: error: MESSAGE" and "(see 'TOOL help')" to stderr;
  // returns the usage exit code (2). The caller sanitises what it adds.
  int Usage(const std::string& message) const;

  const ToolSpec& tool() const { return tool_; }
  const std::vector<CommandInfo>& commands() const { return commands_; }

 private:
  CommandLine UnknownCommand(const std::vector<std::string_view>& args, size_t i) const;

  ToolSpec tool_;
  std::vector<CommandInfo> commands_;
};

template <typename Invocation>
class CommandTable : public CommandLineParser {
 public:
  CommandTable(ToolSpec tool, const std::vector<Command<Invocation>>& commands)
      : CommandLineParser(std::move(tool), InfoOf(commands)) {
    handlers_.reserve(commands.size());
    for (const Command<Invocation>& c : commands) handlers_.push_back(c.run);
  }

  // REQUIRES: line.action == kRun.
  int Run(const CommandLine& line, const Invocation& inv) const {
    return handlers_.at(line.command)(inv);
  }

 private:
  static std::vector<CommandInfo> InfoOf(const std::vector<Command<Invocation>>& commands) {
    std::vector<CommandInfo> info;
    info.reserve(commands.size());
    for (const Command<Invocation>& c : commands)
      info.push_back(CommandInfo{c.name, c.summary, c.flags, c.operands});
    return info;
  }

  std::vector<int (*)(const Invocation&)> handlers_;
};

}  // namespace sesame

#endif  // SESAME_TOOLS_COMMON_COMMAND_TABLE_H_
