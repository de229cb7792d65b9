#include "tools/common/command_table.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>

#include "core/base/edit_distance.h"
#include "core/base/logger.h"
#include "tools/common/exit_codes.h"

namespace sesame {
namespace {

// What the caller typed, fit to print: control bytes escaped, at most 64.
std::string Shown(std::string_view typed) { return SanitizeForLog(typed, 64); }

// The words of a name or a flag list: "mfa enroll" -> {"mfa", "enroll"}.
std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> words;
  while (!text.empty()) {
    const size_t end = std::min(text.find(' '), text.size());
    if (end > 0) words.push_back(text.substr(0, end));
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return words;
}

// One flag of a list: "--qr-png=FILE" is "--qr-png" with a value FILE.
struct Flag {
  std::string_view name;
  std::string_view value;  // empty: a switch
};

std::vector<Flag> FlagsOf(std::string_view list) {
  std::vector<Flag> flags;
  for (std::string_view word : Words(list)) {
    const size_t eq = word.find('=');
    if (eq == std::string_view::npos) {
      flags.push_back(Flag{word, {}});
    } else {
      flags.push_back(Flag{word.substr(0, eq), word.substr(eq + 1)});
    }
  }
  return flags;
}

const Flag* FindFlag(const std::vector<Flag>& flags, std::string_view name) {
  for (const Flag& f : flags)
    if (f.name == name) return &f;
  return nullptr;
}

CommandLine WithAction(CommandLine::Action action) {
  CommandLine line;
  line.action = action;
  return line;
}

CommandLine Error(std::string message) {
  CommandLine line;
  line.action = CommandLine::Action::kUsageError;
  line.error = std::move(message);
  return line;
}

// Takes the flag `flag` from args[*i] into `line`: `inline_value` is what
// followed "=" (none: the value, if the flag takes one, is args[*i + 1]).
// Returns an error message, or "" when taken.
std::string TakeFlag(const Flag& flag, const std::vector<std::string_view>& args, size_t* i,
                     std::optional<std::string_view> inline_value, CommandLine* line) {
  const std::string option(flag.name);
  if (flag.value.empty()) {
    if (inline_value.has_value()) return option + " takes no value";
    line->switches.push_back(option);
    return "";
  }
  std::string_view value;
  if (inline_value.has_value()) {
    value = *inline_value;
  } else if (*i + 1 < args.size()) {
    value = args[++*i];
  } else {
    const std::string what = flag.value == "FILE" ? "a file name" : "a value";
    return option + " needs " + what + " (" + option + " " + std::string(flag.value) + ")";
  }
  if (line->Value(option) != nullptr) return option + " is given twice";
  line->values.emplace_back(option, std::string(value));
  return "";
}

}  // namespace

bool CommandLine::Has(std::string_view flag) const {
  return std::find(switches.begin(), switches.end(), flag) != switches.end();
}

const std::string* CommandLine::Value(std::string_view flag) const {
  for (const auto& [name, value] : values)
    if (name == flag) return &value;
  return nullptr;
}

CommandLineParser::CommandLineParser(ToolSpec tool, std::vector<CommandInfo> commands)
    : tool_(std::move(tool)), commands_(std::move(commands)) {}

CommandLine CommandLineParser::Parse(int argc, const char* const* argv) const {
  std::vector<std::string_view> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return Parse(args);
}

CommandLine CommandLineParser::Parse(const std::vector<std::string_view>& args) const {
  CommandLine line;
  size_t i = 0;
  const std::vector<Flag> globals = FlagsOf(tool_.global_flags);
  for (; i < args.size(); ++i) {  // options before the command
    const std::string_view a = args[i];
    if (a == "--help" || a == "-h") return WithAction(CommandLine::Action::kHelp);
    if (a == "--version") return WithAction(CommandLine::Action::kVersion);
    if (a.empty() || a.front() != '-') break;
    const Flag* flag = FindFlag(globals, a);
    std::optional<std::string_view> inline_value;
    const size_t eq = a.find('=');
    if (flag == nullptr && eq != std::string_view::npos) {
      flag = FindFlag(globals, a.substr(0, eq));
      if (flag != nullptr && flag->value.empty()) flag = nullptr;  // "--verbose=1"
      inline_value = a.substr(eq + 1);
    }
    if (flag == nullptr) return Error("unknown option '" + Shown(a) + "'");
    std::string error = TakeFlag(*flag, args, &i, inline_value, &line);
    if (!error.empty()) return Error(std::move(error));
  }
  if (i >= args.size()) return WithAction(CommandLine::Action::kNoCommand);
  if (args[i] == "help") return WithAction(CommandLine::Action::kHelp);

  // The command whose words args[i...] start with (the longest match).
  const CommandInfo* command = nullptr;
  size_t used = 0;
  for (size_t c = 0; c < commands_.size(); ++c) {
    const std::vector<std::string_view> words = Words(commands_[c].name);
    if (args.size() - i < words.size() || words.size() <= used) continue;
    if (std::equal(words.begin(), words.end(), args.begin() + static_cast<ptrdiff_t>(i))) {
      command = &commands_[c];
      line.command = c;
      used = words.size();
    }
  }
  if (command == nullptr) return UnknownCommand(args, i);

  const std::string name = command->name;
  const std::vector<Flag> flags = FlagsOf(command->flags);
  const std::vector<Flag> anywhere = FlagsOf(tool_.anywhere_flags);
  bool options_done = false;
  for (i += used; i < args.size(); ++i) {  // the command's options and operands
    const std::string_view a = args[i];
    if (!options_done && a == "--") {
      options_done = true;
      continue;
    }
    if (!options_done && (a == "--help" || a == "-h"))
      return WithAction(CommandLine::Action::kHelp);
    if (!options_done && a.size() > 1 && a.front() == '-') {
      const size_t eq = a.substr(0, 2) == "--" ? a.find('=') : std::string_view::npos;
      const std::string_view option = a.substr(0, eq);
      const Flag* flag = FindFlag(flags, option);
      if (flag == nullptr) flag = FindFlag(anywhere, option);
      if (flag == nullptr)
        return Error("'" + name + "' does not take option '" + Shown(option) + "'");
      std::optional<std::string_view> inline_value;
      if (eq != std::string_view::npos) inline_value = a.substr(eq + 1);
      std::string error = TakeFlag(*flag, args, &i, inline_value, &line);
      if (!error.empty()) return Error(std::move(error));
      continue;
    }
    if (command->operands.max == 0 && *tool_.no_operands_note != '\0')
      return Error("'" + name + "' takes no arguments ('" + Shown(a) + "')" +
                   tool_.no_operands_note);
    line.operands.emplace_back(a);
  }
  const int n = static_cast<int>(line.operands.size());
  if (n < command->operands.min || (command->operands.max >= 0 && n > command->operands.max)) {
    std::string synopsis = std::string(tool_.name) + " " + name;
    if (*command->operands.synopsis != '\0')
      synopsis += std::string(" ") + command->operands.synopsis;
    if (*command->flags != '\0') synopsis += std::string(" [") + command->flags + "]";
    return Error("usage: " + synopsis);
  }
  line.action = CommandLine::Action::kRun;
  return line;
}

// args[i] names no command. A close one is suggested: up to 2 edits, or
// half the name for longer ones (a third when two words are compared: they
// share the first one). A first word that starts a group ("mfa") lists it.
CommandLine CommandLineParser::UnknownCommand(const std::vector<std::string_view>& args,
                                              size_t i) const {
  const std::string_view first = args[i];
  const bool has_second = i + 1 < args.size() && args[i + 1].substr(0, 1) != "-";
  std::string group;  // "'mfa enroll' or 'mfa remove'"
  for (const CommandInfo& c : commands_) {
    const std::vector<std::string_view> words = Words(c.name);
    if (words.size() < 2 || words[0] != first) continue;
    if (!group.empty()) group += " or ";
    group += "'" + std::string(c.name) + "'";
  }
  if (!group.empty() && !has_second)
    return Error("'" + std::string(first) + "' needs a subcommand: " + group);

  const std::string typed2 = has_second ? std::string(first) + " " + std::string(args[i + 1]) : "";
  std::string message =
      "unknown command '" + Shown(typed2.empty() ? first : std::string_view(typed2)) + "'";
  const CommandInfo* best = nullptr;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (const CommandInfo& c : commands_) {
    size_t d = EditDistance(first, c.name);
    if (!typed2.empty()) d = std::min(d, EditDistance(typed2, c.name));
    const size_t limit = std::max<size_t>(2, std::strlen(c.name) / (typed2.empty() ? 2 : 3));
    if (d <= limit && d < best_distance) {
      best_distance = d;
      best = &c;
    }
  }
  if (best != nullptr) {
    message += " (did you mean '" + std::string(best->name) + "'?)";
  } else if (!group.empty()) {
    message += " ('" + std::string(first) + "' takes " + group + ")";
  }
  return Error(std::move(message));
}

std::string CommandLineParser::HelpText() const {
  std::string text = tool_.help_head;
  const int width = tool_.help_width;
  for (const CommandInfo& c : commands_) {
    std::string synopsis = c.name;
    if (*c.operands.synopsis != '\0') synopsis += std::string(" ") + c.operands.synopsis;
    for (const Flag& f : FlagsOf(c.flags)) {  // each flag in its own brackets
      synopsis += " [" + std::string(f.name);
      if (!f.value.empty()) synopsis += " " + std::string(f.value);
      synopsis += "]";
    }
    if (synopsis.size() > static_cast<size_t>(width)) {
      text += "  " + synopsis + "\n  " + std::string(static_cast<size_t>(width), ' ');
    } else {
      text += "  " + synopsis + std::string(static_cast<size_t>(width) - synopsis.size(), ' ');
    }
    text += " " + std::string(c.summary) + "\n";
  }
  return text + tool_.help_tail;
}

int CommandLineParser::Answer(const CommandLine& line) const {
  switch (line.action) {
    case CommandLine::Action::kHelp:
      std::fputs(HelpText().c_str(), stdout);
      return kExitOk;
    case CommandLine::Action::kNoCommand:
      std::fputs(HelpText().c_str(), stderr);
      return kExitUsage;
    case CommandLine::Action::kVersion:
      std::printf("%s %s\n", tool_.name, tool_.version);
      return kExitOk;
    case CommandLine::Action::kUsageError:
      return Usage(line.error);
    case CommandLine::Action::kRun:
      break;
  }
  return Usage("internal error: no command to answer for");
}

int CommandLineParser::Usage(const std::string& message) const {
  std::fprintf(stderr, "%s: error: %s\n(see '%s help')\n", tool_.name, message.c_str(), tool_.name);
  return kExitUsage;
}

}  // namespace sesame
