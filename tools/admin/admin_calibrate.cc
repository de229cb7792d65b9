// sesame-admin calibrate: argon2id parameters for this host. Measures
// hashing with the module's own code (PasswordHasher: huge pages where the
// kernel allows) and prints the parameters, and the sesame.conf lines, that
// meet --target-ms with at most --max-memory in use when
// argon2_max_concurrent hashes run at once.
//
// MUST rules:
//  - memory per hash x concurrent never exceeds --max-memory (each
//    measurement uses at most that per-hash memory);
//  - nothing is written: the admin copies the lines into sesame.conf.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/base/random.h"
#include "core/config/config.h"
#include "core/crypto/password_hash.h"
#include "tools/admin/admin_cli.h"
#include "tools/common/exit_codes.h"
#include "tools/common/json.h"
#include "tools/common/stderr_logger.h"

namespace sesame::admin {
namespace {

constexpr int kDefaultTargetMs = 250;
constexpr uint64_t kDefaultMaxMemoryKib = uint64_t{256} * 1024;  // 4 x the default 64 MiB
constexpr uint64_t kMaxHashMemoryKib = 4194304;                  // argon2_memory_kib's limit
constexpr uint64_t kMinHashMemoryKib = 8;
constexpr uint32_t kMaxTimeCost = 1000;
constexpr uint64_t kOwaspMinKib = 19456;  // OWASP: m=19 MiB, t=2 at least
constexpr int kRuns = 3;

Result<uint64_t> ParseNumber(const std::string& text, const char* what, uint64_t min,
                             uint64_t max) {
  uint64_t value = 0;
  bool digits = !text.empty() && text.size() <= 12;
  for (char c : text) digits = digits && c >= '0' && c <= '9';
  if (digits) value = std::stoull(text);
  if (!digits || value < min || value > max)
    return Status(Code::kInvalidArgument, std::string(what) + " '" + text +
                                              "' is not accepted: use a whole number from " +
                                              std::to_string(min) + " to " + std::to_string(max));
  return value;
}

// "512M", "2G", "65536K", "65536" (KiB).
Result<uint64_t> ParseSizeKib(const std::string& text) {
  const char* use = "--max-memory: use a size such as 256M, 1G or 65536K";
  if (text.empty()) return Status(Code::kInvalidArgument, use);
  uint64_t unit = 1;
  std::string digits = text;
  char last = digits.back();
  if (last == 'K' || last == 'k' || last == 'M' || last == 'm' || last == 'G' || last == 'g') {
    unit = (last == 'K' || last == 'k') ? 1 : (last == 'M' || last == 'm') ? 1024 : 1024 * 1024;
    digits.pop_back();
  }
  Result<uint64_t> n = ParseNumber(digits, "--max-memory", 1, uint64_t{1} << 32);
  if (!n.ok()) return Status(Code::kInvalidArgument, use);
  return *n * unit;
}

// Median of kRuns hashes, in milliseconds.
Result<double> Measure(const Argon2Params& params, Logger& logger, Random& random) {
  PasswordHasher hasher(params, nullptr, logger);
  // One unmeasured run first: the first touch of fresh memory is slower.
  Result<std::string> warm = hasher.Hash("calibrate sesame argon2id", random);
  if (!warm.ok()) return warm.status();
  std::vector<double> ms;
  for (int i = 0; i < kRuns; ++i) {
    auto start = std::chrono::steady_clock::now();
    Result<std::string> hash = hasher.Hash("calibrate sesame argon2id", random);
    auto end = std::chrono::steady_clock::now();
    if (!hash.ok()) return hash.status();
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int RunCalibrate(const Invocation& inv) {
  uint64_t target_ms = kDefaultTargetMs;
  uint64_t max_memory_kib = kDefaultMaxMemoryKib;
  uint64_t concurrent = 4;
  Result<Config> config = LoadConfigFile(inv.config_path);
  if (config.ok()) concurrent = static_cast<uint64_t>(config->argon2_max_concurrent);
  if (inv.target_ms) {
    Result<uint64_t> v = ParseNumber(*inv.target_ms, "--target-ms", 1, 60000);
    if (!v.ok()) return Fail(v.status());
    target_ms = *v;
  }
  if (inv.max_memory) {
    Result<uint64_t> v = ParseSizeKib(*inv.max_memory);
    if (!v.ok()) return Fail(v.status());
    max_memory_kib = *v;
  }
  if (inv.concurrent) {
    Result<uint64_t> v = ParseNumber(*inv.concurrent, "--concurrent", 1, 1024);
    if (!v.ok()) return Fail(v.status());
    concurrent = *v;
  }
  uint64_t per_hash = std::min(max_memory_kib / concurrent, kMaxHashMemoryKib);
  if (per_hash >= 1024) per_hash -= per_hash % 1024;  // whole MiB
  if (per_hash < kMinHashMemoryKib)
    return Fail(Status(Code::kInvalidArgument,
                       "--max-memory " + std::to_string(max_memory_kib) + " KiB for " +
                           std::to_string(concurrent) +
                           " concurrent hashes leaves less than 8 KiB each; allow more memory"));

  StderrLogger logger(kTool, inv.verbose);
  SystemRandom random;
  Argon2Params params;
  params.parallelism = 1;
  params.memory_kib = static_cast<uint32_t>(per_hash);
  params.time_cost = 1;
  Result<double> ms = Measure(params, logger, random);
  if (!ms.ok()) return Fail(ms.status());
  // Too slow with one pass: less memory, until one pass fits.
  while (*ms > static_cast<double>(target_ms) && params.memory_kib / 2 >= kMinHashMemoryKib) {
    params.memory_kib /= 2;
    ms = Measure(params, logger, random);
    if (!ms.ok()) return Fail(ms.status());
  }
  // Fast enough: as many passes as fit, estimated from the time per pass
  // and measured again (a few rounds: one pass alone is noisy), then fewer
  // while over the target.
  for (int round = 0; round < 4 && *ms <= static_cast<double>(target_ms); ++round) {
    const double per_pass = std::max(*ms / params.time_cost, 0.01);
    const uint32_t passes = std::clamp<uint32_t>(
        static_cast<uint32_t>(static_cast<double>(target_ms) / per_pass), 1, kMaxTimeCost);
    if (passes == params.time_cost) break;
    Argon2Params more = params;
    more.time_cost = passes;
    Result<double> more_ms = Measure(more, logger, random);
    if (!more_ms.ok()) return Fail(more_ms.status());
    if (*more_ms > static_cast<double>(target_ms) && passes < params.time_cost) break;
    params = more;
    ms = more_ms;
  }
  while (*ms > static_cast<double>(target_ms) && params.time_cost > 1) {
    params.time_cost = params.time_cost > 10 ? params.time_cost * 9 / 10 : params.time_cost - 1;
    ms = Measure(params, logger, random);
    if (!ms.ok()) return Fail(ms.status());
  }
  const bool met = *ms <= static_cast<double>(target_ms);
  const uint64_t total = uint64_t{params.memory_kib} * concurrent;
  const bool weak = params.memory_kib < kOwaspMinKib || params.time_cost < 2;

  if (inv.json) {
    JsonWriter j;
    j.BeginObject()
        .Key("argon2_time_cost")
        .Int(params.time_cost)
        .Key("argon2_memory_kib")
        .Int(params.memory_kib)
        .Key("argon2_parallelism")
        .Int(params.parallelism)
        .Key("argon2_max_concurrent")
        .Int(static_cast<int64_t>(concurrent))
        .Key("measured_ms")
        .Int(static_cast<int64_t>(std::llround(*ms)))
        .Key("target_ms")
        .Int(static_cast<int64_t>(target_ms))
        .Key("max_memory_kib")
        .Int(static_cast<int64_t>(max_memory_kib))
        .Key("total_memory_kib")
        .Int(static_cast<int64_t>(total))
        .Key("target_met")
        .Bool(met)
        .Key("below_owasp_minimum")
        .Bool(weak)
        .EndObject();
    std::printf("%s\n", j.str().c_str());
    return kExitOk;
  }
  std::printf("argon2id here: t=%u, m=%u KiB, p=%u takes %.0f ms (median of %d; target %llu ms)\n",
              params.time_cost, params.memory_kib, params.parallelism, *ms, kRuns,
              static_cast<unsigned long long>(target_ms));
  std::printf("%llu concurrent x %u KiB = %llu KiB at most (--max-memory %llu KiB)\n",
              static_cast<unsigned long long>(concurrent), params.memory_kib,
              static_cast<unsigned long long>(total),
              static_cast<unsigned long long>(max_memory_kib));
  if (!met)
    std::printf("note: even one pass over %u KiB takes longer than the target on this host\n",
                params.memory_kib);
  if (weak)
    std::printf("note: below OWASP's minimum (m=19456 KiB, t=2): allow more time or memory\n");
  std::printf(
      "\n# for %s:\nargon2_time_cost = %u\nargon2_memory_kib = %u\n"
      "argon2_parallelism = %u\nargon2_max_concurrent = %llu\n",
      kDefaultConfigPath, params.time_cost, params.memory_kib, params.parallelism,
      static_cast<unsigned long long>(concurrent));
  return kExitOk;
}

}  // namespace sesame::admin
