// Random: the only source of randomness in core (getrandom(2) in production).
#ifndef SESAME_CORE_BASE_RANDOM_H_
#define SESAME_CORE_BASE_RANDOM_H_

#include <cstddef>
#include <cstdint>

#include "core/base/status.h"

namespace sesame {

class Random {
 public:
  virtual ~Random() = default;
  // Fills `out` with `n` random bytes, or fails (never returns weak bytes).
  virtual Status Fill(uint8_t* out, size_t n) = 0;
};

// getrandom(2), blocking until the kernel pool is initialised.
class SystemRandom final : public Random {
 public:
  Status Fill(uint8_t* out, size_t n) override;
};

}  // namespace sesame

#endif  // SESAME_CORE_BASE_RANDOM_H_
