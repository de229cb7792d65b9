// FailingStore: a Store that forwards to a real one and fails the calls a
// test chooses (leveldb's fault-injection Env, for the store), to prove
// each "if the store fails, deny" rule of the flows
// (tests/unit/store_failures_test.cc). It counts every call per method.
//
// A failed call never reaches the real store: nothing of it is written.
// Methods are named as Store spells them ("ReserveAttempt"); a rule for a
// name no call uses never fires, so a test also checks Failed(method) > 0.
#ifndef SESAME_TESTS_FAKES_FAILING_STORE_H_
#define SESAME_TESTS_FAKES_FAILING_STORE_H_

#include <map>
#include <string>

#include "core/base/status.h"
#include "core/store/store.h"
#include "core/store/store_wrapper.h"

namespace sesame::testing {

class FailingStore final : public StoreWrapper {
 public:
  explicit FailingStore(Store& target) : StoreWrapper(target) {}

  // Every call of `method` from now on fails with `code`.
  void Fail(const std::string& method, Code code) { FailAfter(method, 0, code); }
  // The calls of `method` after the first `calls` (counted from now) fail.
  void FailAfter(const std::string& method, int calls, Code code) {
    rules_[method] = Rule{Calls(method) + calls, false, code};
  }
  // Only the `nth` call of `method` from now (1: the next one) fails.
  void FailNth(const std::string& method, int nth, Code code) {
    rules_[method] = Rule{Calls(method) + nth - 1, true, code};
  }
  // No more failures (the counts stay).
  void Heal() { rules_.clear(); }

  // Calls of `method` so far, failed ones included.
  int Calls(const std::string& method) const { return Count(calls_, method); }
  // Calls of `method` failed so far.
  int Failed(const std::string& method) const { return Count(failed_, method); }

 protected:
  Status Before(const char* method) override {
    const int earlier = calls_[method]++;
    auto rule = rules_.find(method);
    if (rule == rules_.end()) return Status::Ok();
    const bool fails =
        rule->second.only ? earlier == rule->second.from : earlier >= rule->second.from;
    if (!fails) return Status::Ok();
    ++failed_[method];
    return Status(rule->second.code,
                  std::string("injected failure: ") + method + ": the store is " +
                      (rule->second.code == Code::kBusy ? "busy" : "unavailable"));
  }

 private:
  struct Rule {
    int from = 0;       // the first failing call's index (0: the first call ever)
    bool only = false;  // that call only
    Code code = Code::kUnavailable;
  };

  static int Count(const std::map<std::string, int>& counts, const std::string& method) {
    auto it = counts.find(method);
    return it == counts.end() ? 0 : it->second;
  }

  std::map<std::string, Rule> rules_;
  std::map<std::string, int> calls_;
  std::map<std::string, int> failed_;
};

}  // namespace sesame::testing

#endif  // SESAME_TESTS_FAKES_FAILING_STORE_H_
