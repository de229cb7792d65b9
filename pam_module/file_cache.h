// The configuration and the key file, kept between the PAM handles of one
// process while they do not change.
//
// Reading them is cheap but not free: a trusted read opens the parent
// directory and the file, checks both, reads and (for the config) parses.
// In a long-running PAM application (a Dovecot auth worker) that was a
// good part of the module's own work per sign-in. Here a successful load is
// kept with the identity of the file and of its directory (device, inode,
// size, mode, owner, mtime and ctime, each from lstat), and reused while
// both are the same: a change of content, mode or owner changes the file's
// ctime, and a file replaced, renamed or linked in its directory changes
// the directory's. So the next handle after any change loads again and
// applies every check (and denies, if the change made the file unsafe),
// as before.
//
// MUST rules:
//  - an entry is kept only when the identity taken before the load equals
//    the one taken after it (no content from a file that changed while it
//    was read);
//  - like the store pool, per process: a forked child starts empty and
//    never reads, locks or frees its parent's entries;
//  - the key is kept in a SecretBuffer (wiped when replaced or at exit)
//    and copied out for each handle.
#ifndef SESAME_PAM_MODULE_FILE_CACHE_H_
#define SESAME_PAM_MODULE_FILE_CACHE_H_

#include <string>

#include "core/base/secret.h"
#include "core/base/status.h"
#include "core/config/config.h"

namespace sesame {

// LoadConfigFile(path), or the config kept from an earlier load.
Result<Config> CachedConfig(const std::string& path);

// LoadHostKey(path), or the key kept from an earlier load.
Result<SecretBuffer> CachedHostKey(const std::string& path);

}  // namespace sesame

#endif  // SESAME_PAM_MODULE_FILE_CACHE_H_
