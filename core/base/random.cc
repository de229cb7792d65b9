#include "core/base/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace sesame {

Status SystemRandom::Fill(uint8_t* out, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t got = getrandom(out + done, n - done, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return Status(Code::kUnavailable, std::string("getrandom failed: ") + std::strerror(errno));
    }
    done += static_cast<size_t>(got);
  }
  return Status::Ok();
}

}  // namespace sesame
