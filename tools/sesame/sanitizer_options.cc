// Built only into the sanitizer build (SESAME_SANITIZE; see
// tools/CMakeLists.txt), never into a release.
//
// LeakSanitizer checks for leaks at exit by stopping the process under
// ptrace from a helper. sesame runs with the caller's effective uid and is
// not dumpable (tools/sesame/privileges.h), so that ptrace is refused and
// LeakSanitizer ends the process with a fatal error and exit 1, whatever
// the command did. The environment is no way to turn it off: sesame
// replaces it, and runs setuid. So the sanitizer build of sesame runs
// without leak checking; AddressSanitizer and UndefinedBehaviorSanitizer
// stay on, and the code it shares with the module and sesame-admin is
// leak-checked in their tests.
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }
