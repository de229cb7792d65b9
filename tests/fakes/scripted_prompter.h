// A Prompter that answers from a script, for core flow tests. The real
// conversations (PAM, terminal) are exercised by tests/pam and
// tests/integration.
#ifndef SESAME_TESTS_FAKES_SCRIPTED_PROMPTER_H_
#define SESAME_TESTS_FAKES_SCRIPTED_PROMPTER_H_

#include <deque>
#include <string>
#include <vector>

#include "core/base/prompter.h"

namespace sesame::testing {

class ScriptedPrompter final : public Prompter {
 public:
  std::deque<std::string> answers;
  std::vector<std::string> prompts, infos, errors;

  Result<SecretBuffer> AskSecret(SecretKind, std::string_view prompt) override {
    prompts.emplace_back(prompt);
    if (answers.empty()) return Status(Code::kAborted, "no answer");
    SecretBuffer b(answers.front());
    answers.pop_front();
    return b;
  }
  Result<std::string> Ask(std::string_view prompt) override {
    prompts.emplace_back(prompt);
    if (answers.empty()) return Status(Code::kAborted, "no answer");
    std::string a = answers.front();
    answers.pop_front();
    return a;
  }
  void Info(std::string_view m) override { infos.emplace_back(m); }
  void Error(std::string_view m) override { errors.emplace_back(m); }
  bool ErrorContains(std::string_view needle) const {
    for (const auto& e : errors)
      if (e.find(needle) != std::string::npos) return true;
    return false;
  }
};

}  // namespace sesame::testing

#endif  // SESAME_TESTS_FAKES_SCRIPTED_PROMPTER_H_
