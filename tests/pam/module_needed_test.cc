// The built module loads only the libraries it uses: its dynamic section's
// NEEDED entries are exactly the expected set. Every library named there is
// loaded into each sshd, su or mail auth worker that loads the module
// (libpng, which only the setuid tool's QR files need, once was).
//
// The ELF file is read directly (<elf.h>), so the check needs no tool.
#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

// What pam_sesame.so may name, by soname stem ("libpam.so.0" -> "libpam";
// the dynamic loader "ld-linux-x86-64.so.2" -> "ld-linux"): PAM; libpwquality
// (password policy); libqrencode (the QR code of in-session enrollment);
// argon2, crypt(3) and OpenSSL (hashes, imported hashes, AES-GCM, HMAC);
// SQLite (the store); the C++ runtime and libc. Not libpq: the PostgreSQL
// store is a plugin the module loads only for `store = postgres`
// (core/store/postgres/postgres_plugin.h).
const std::set<std::string> kExpected = {"ld-linux",    "libargon2",  "libc",     "libcrypt",
                                         "libcrypto",   "libgcc_s",   "libpam",   "libpwquality",
                                         "libqrencode", "libsqlite3", "libstdc++"};
// With -DSESAME_SANITIZE=ON (-fsanitize=address,undefined) the sanitizer
// runtimes come in, and two changes that are the compiler's, not ours:
// Debian's gcc links with --as-needed except under -fsanitize, so g++'s own
// -lm stays although nothing calls libm (and every library on the link line
// would stay: this build is the stricter check); and __tls_get_addr (thread
// locals) binds to libasan's interceptor, so the loader is not named.
const std::set<std::string> kSanitizerAdds = {"libasan", "libubsan", "libm"};
const std::set<std::string> kSanitizerDrops = {"ld-linux"};

std::string Stem(const std::string& soname) {
  if (soname.rfind("ld-linux", 0) == 0) return "ld-linux";
  return soname.substr(0, soname.find(".so"));
}

// The DT_NEEDED strings of a 64-bit ELF file, through its section headers
// (SHT_DYNAMIC, and the string table its sh_link names). Fails the test and
// returns what it has on anything malformed.
std::vector<std::string> NeededOf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << path;
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> needed;
  auto fits = [&](uint64_t offset, uint64_t size) {
    return offset <= file.size() && size <= file.size() - offset;
  };
  Elf64_Ehdr eh;
  if (!fits(0, sizeof eh)) {
    ADD_FAILURE() << path << ": too short for an ELF header";
    return needed;
  }
  std::memcpy(&eh, file.data(), sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_shentsize != sizeof(Elf64_Shdr) ||
      !fits(eh.e_shoff, uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr))) {
    ADD_FAILURE() << path << ": not a 64-bit ELF file with section headers";
    return needed;
  }
  auto section = [&](size_t index) {
    Elf64_Shdr sh;
    std::memcpy(&sh, file.data() + eh.e_shoff + index * sizeof sh, sizeof sh);
    return sh;
  };
  int dynamic_sections = 0;
  for (size_t i = 0; i < eh.e_shnum; ++i) {
    const Elf64_Shdr dyn = section(i);
    if (dyn.sh_type != SHT_DYNAMIC) continue;
    ++dynamic_sections;
    if (!fits(dyn.sh_offset, dyn.sh_size) || dyn.sh_link >= eh.e_shnum) {
      ADD_FAILURE() << path << ": bad dynamic section";
      return needed;
    }
    const Elf64_Shdr strtab = section(dyn.sh_link);
    if (!fits(strtab.sh_offset, strtab.sh_size)) {
      ADD_FAILURE() << path << ": bad dynamic string table";
      return needed;
    }
    for (uint64_t off = 0; off + sizeof(Elf64_Dyn) <= dyn.sh_size; off += sizeof(Elf64_Dyn)) {
      Elf64_Dyn entry;
      std::memcpy(&entry, file.data() + dyn.sh_offset + off, sizeof entry);
      if (entry.d_tag == DT_NULL) break;
      if (entry.d_tag != DT_NEEDED) continue;
      if (entry.d_un.d_val >= strtab.sh_size) {
        ADD_FAILURE() << path << ": DT_NEEDED outside the string table";
        continue;
      }
      const char* name = file.data() + strtab.sh_offset + entry.d_un.d_val;
      needed.emplace_back(name, strnlen(name, strtab.sh_size - entry.d_un.d_val));
    }
  }
  EXPECT_EQ(dynamic_sections, 1) << path;
  return needed;
}

TEST(ModuleNeededTest, NeedsExactlyTheExpectedLibraries) {
  const std::vector<std::string> needed = NeededOf(kModulePath);
  std::set<std::string> stems;
  std::ostringstream listed;
  for (const std::string& soname : needed) {
    stems.insert(Stem(soname));
    listed << " " << soname;
  }
  std::set<std::string> expected = kExpected;
  if (SESAME_SANITIZE_BUILD) {
    expected.insert(kSanitizerAdds.begin(), kSanitizerAdds.end());
    for (const std::string& stem : kSanitizerDrops) expected.erase(stem);
  }
  EXPECT_EQ(stems, expected) << "NEEDED:" << listed.str();
  EXPECT_EQ(stems.size(), needed.size()) << "a library named twice:" << listed.str();
}

}  // namespace
}  // namespace sesame::pam_testing
