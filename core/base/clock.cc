#include "core/base/clock.h"

#include <ctime>

namespace sesame {

int64_t SystemClock::Now() const { return static_cast<int64_t>(::time(nullptr)); }

int64_t SystemClock::MonotonicMillis() const {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void SystemClock::SleepMillis(int64_t ms) const {
  if (ms <= 0) return;
  timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1000000)};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

}  // namespace sesame
