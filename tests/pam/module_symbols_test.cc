// The built module as libpam sees it: it loads, its entry points resolve and
// fail closed when called badly, it exports nothing but pam_sm_*, and its
// version script names nothing it does not define.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <security/pam_modules.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

using PamSmFn = int (*)(pam_handle_t*, int, int, const char**);

const std::string kMapPath = SESAME_PAM_MODULE_MAP;  // pam_module/pam_sesame.map

const std::set<std::string> kEntryPoints = {"pam_sm_acct_mgmt", "pam_sm_authenticate",
                                            "pam_sm_chauthtok", "pam_sm_setcred"};

using ModuleSymbolsTest = PamTest;

TEST_F(ModuleSymbolsTest, DlopenResolvesEveryEntryPoint) {
  ASSERT_NO_FATAL_FAILURE(AddUser("alice", "called directly 1"));
  void* module = dlopen(kModulePath.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(module, nullptr) << dlerror();
  for (const std::string& name : kEntryPoints)
    EXPECT_NE(dlsym(module, name.c_str()), nullptr) << name;
  // Groups the module does not implement are absent (a stack that names
  // them gets PAM_MODULE_UNKNOWN from libpam, not a crash).
  for (const char* name : {"pam_sm_open_session", "pam_sm_close_session"})
    EXPECT_EQ(dlsym(module, name), nullptr) << name;

  // The resolved entry points answer when called with a real handle from
  // pam_start. (Authentication itself needs libpam's dispatch: outside it
  // libpam hides PAM_AUTHTOK from the caller; the other tests cover it.)
  auto authenticate = reinterpret_cast<PamSmFn>(dlsym(module, "pam_sm_authenticate"));
  auto setcred = reinterpret_cast<PamSmFn>(dlsym(module, "pam_sm_setcred"));
  auto account = reinterpret_cast<PamSmFn>(dlsym(module, "pam_sm_acct_mgmt"));
  ASSERT_TRUE(authenticate && setcred && account);
  Conversation conv;
  struct pam_conv pam_conversation = {&Conversation::Callback, &conv};
  pam_handle_t* pamh = nullptr;
  ASSERT_EQ(pam_start("sesame", "alice", &pam_conversation, &pamh), PAM_SUCCESS);
  const std::string config = "config=" + kConfigPath;
  const char* args[] = {config.c_str()};
  const char* bad_args[] = {config.c_str(), "no_such_option"};
  EXPECT_EQ(PamCodeName(setcred(pamh, PAM_ESTABLISH_CRED, 1, args)), PamCodeName(PAM_SUCCESS));
  EXPECT_EQ(PamCodeName(account(pamh, 0, 1, args)), PamCodeName(PAM_SUCCESS));
  EXPECT_EQ(PamCodeName(authenticate(pamh, 0, 2, bad_args)), PamCodeName(PAM_SERVICE_ERR));
  EXPECT_EQ(PamCodeName(setcred(pamh, 0, 2, bad_args)), PamCodeName(PAM_SERVICE_ERR));
  EXPECT_EQ(PamCodeName(account(pamh, 0, 2, bad_args)), PamCodeName(PAM_SERVICE_ERR));
  EXPECT_EQ(pam_end(pamh, PAM_SUCCESS), PAM_SUCCESS);
  EXPECT_TRUE(conv.messages().empty());
  EXPECT_EQ(dlclose(module), 0);
}

// The dynamic symbols the module defines (nm -D --defined-only).
std::set<std::string> DefinedSymbols() {
  CommandResult nm = RunCommand({"/usr/bin/nm", "-D", "--defined-only", kModulePath});
  EXPECT_EQ(nm.exit_code, 0) << nm.err;
  std::set<std::string> defined;
  std::istringstream lines(nm.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string address, type, name;
    fields >> address >> type >> name;
    defined.insert(name);
  }
  return defined;
}

// The names of the version script's "global:" part.
std::set<std::string> MapGlobals() {
  std::ifstream in(kMapPath);
  EXPECT_TRUE(in) << "cannot read " << kMapPath;
  std::set<std::string> names;
  bool global = false;
  std::string word;
  while (in >> word) {
    if (word == "global:") {
      global = true;
    } else if (word == "local:") {
      global = false;
    } else if (global && word.size() > 1 && word.back() == ';') {
      names.insert(word.substr(0, word.size() - 1));
    }
  }
  return names;
}

TEST(ModuleExportsTest, ExportsOnlyPamSmFunctions) {
  const std::set<std::string> defined = DefinedSymbols();
  for (const std::string& name : defined)
    EXPECT_EQ(name.rfind("pam_sm_", 0), 0u) << "exported: " << name;
  EXPECT_EQ(defined, kEntryPoints);
}

// The version script names only what the module defines: an entry for a
// function that does not exist (pam_sm_open_session once) promises libpam
// a group the module does not implement.
TEST(ModuleExportsTest, VersionScriptNamesOnlyDefinedSymbols) {
  const std::set<std::string> defined = DefinedSymbols();
  const std::set<std::string> exported = MapGlobals();
  EXPECT_FALSE(exported.empty()) << kMapPath;
  for (const std::string& name : exported)
    EXPECT_EQ(defined.count(name), 1u) << kMapPath << " names " << name << ", which is not defined";
  EXPECT_EQ(exported, kEntryPoints) << kMapPath;
}

}  // namespace
}  // namespace sesame::pam_testing
