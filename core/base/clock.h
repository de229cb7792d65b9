// Clock: the only way core reads the time, so tests can control it.
#ifndef SESAME_CORE_BASE_CLOCK_H_
#define SESAME_CORE_BASE_CLOCK_H_

#include <cstdint>

namespace sesame {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the Unix epoch (wall clock).
  virtual int64_t Now() const = 0;
  // Monotonic milliseconds, for waits and durations only.
  virtual int64_t MonotonicMillis() const = 0;
  // Sleeps about `ms` milliseconds (a fake may just advance its time).
  virtual void SleepMillis(int64_t ms) const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t Now() const override;
  int64_t MonotonicMillis() const override;
  void SleepMillis(int64_t ms) const override;
};

}  // namespace sesame

#endif  // SESAME_CORE_BASE_CLOCK_H_
