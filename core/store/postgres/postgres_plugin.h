// The PostgreSQL backend as a plugin of pam_sesame.so.
//
// libpq brings about twenty libraries with it (Kerberos, LDAP, GnuTLS,
// SASL, ...): linked into the module they would be mapped into every
// process that signs anyone in, on every host, PostgreSQL or not (measured:
// +3.6 MiB resident and +65 us per load of the module). So the module does
// not link the backend: on the first `store = postgres`, OpenStore loads
// `sesame/store_postgres.so` from the module's own directory (checked like
// the key file's directory: root's, writable by no one else, no symlink),
// never unloads it, and calls the one function it exports. The tools and
// the tests link the backend directly.
//
// The two must come from one build: the function's name carries the
// project version (SESAME_PLUGIN_ABI, from CMake), and the sizes of the
// types passed across are checked at the call.
#ifndef SESAME_CORE_STORE_POSTGRES_POSTGRES_PLUGIN_H_
#define SESAME_CORE_STORE_POSTGRES_POSTGRES_PLUGIN_H_

#include <cstddef>
#include <memory>
#include <string>

#include "core/store/postgres/postgres_store.h"
#include "core/store/store.h"

#ifndef SESAME_PLUGIN_ABI
#error "SESAME_PLUGIN_ABI (the project version as an identifier) comes from core/CMakeLists.txt"
#endif
#define SESAME_PLUGIN_CONCAT2(a, b) a##b
#define SESAME_PLUGIN_CONCAT(a, b) SESAME_PLUGIN_CONCAT2(a, b)
#define SESAME_PLUGIN_STRINGIFY2(x) #x
#define SESAME_PLUGIN_STRINGIFY(x) SESAME_PLUGIN_STRINGIFY2(x)
// The exported function, e.g. sesame_open_postgres_store_0_1_0.
#define SESAME_POSTGRES_PLUGIN_FUNCTION \
  SESAME_PLUGIN_CONCAT(sesame_open_postgres_store_, SESAME_PLUGIN_ABI)

namespace sesame {

// The plugin's file, relative to the directory pam_sesame.so is in.
inline constexpr const char* kPostgresPluginFile = "sesame/store_postgres.so";

// Its name, for dlsym.
inline constexpr const char* kPostgresPluginSymbol =
    SESAME_PLUGIN_STRINGIFY(SESAME_POSTGRES_PLUGIN_FUNCTION);

// What the plugin exports: opens the store as OpenPostgresStore does, after
// checking that the caller's PostgresOptions and Store have the plugin's
// sizes. On failure returns the Code (as an int, non-zero) and sets
// *message.
using PostgresPluginOpen = int (*)(const PostgresOptions& options, size_t options_size,
                                   size_t store_size, std::unique_ptr<Store>* store,
                                   std::string* message);

}  // namespace sesame

#endif  // SESAME_CORE_STORE_POSTGRES_POSTGRES_PLUGIN_H_
