// Password hashing: argon2id PHC strings, computed with libargon2.
//
// MUST rules:
//  - digests are compared with CRYPTO_memcmp, never memcmp or ==;
//  - every argon2 computation (Hash, Verify, DummyVerify) runs inside Compute,
//    which holds an Argon2Limiter slot from before argon2 starts until after
//    it ends; a limiter failure is returned as is;
//  - the password is copied only into a SecretBuffer; every buffer that held
//    a derived digest is wiped (WipeMemory) on every path; argon2's own
//    working memory is wiped by libargon2 (FLAG_clear_internal_memory, on by
//    default) before our free callback unmaps it;
//  - the parser is strict and total: any input either yields a PhcHash whose
//    FormatPhc is the input byte for byte, or a kCorrupt status; it never
//    reads out of bounds and never turns a bad string into "no match";
//  - a crypt(3) hash (imported from /etc/shadow) is verified by
//    VerifyCryptHash while holding an Argon2Limiter slot too (yescrypt and
//    scrypt are memory-hard), and always needs a rehash; any other stored
//    text is kCorrupt;
//  - no secret and no stored hash text in a Status message or a log line.
#include "core/crypto/password_hash.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "core/base/base64.h"
#include "core/base/secret.h"
#include "core/crypto/crypt_hash.h"

namespace sesame {
namespace {

// Bounds for parameters we accept, in hashes we read and in params_.
constexpr uint32_t kMinTimeCost = 1;
constexpr uint32_t kMaxTimeCost = 1000;
constexpr uint32_t kMinLanes = 1;
constexpr uint32_t kMaxLanes = 64;
constexpr uint32_t kMaxMemoryKib = 4194304;  // 4 GiB
constexpr size_t kMinSaltBytes = 8;
constexpr size_t kMaxSaltBytes = 64;
constexpr size_t kMinHashBytes = 16;
constexpr size_t kMaxHashBytes = 64;

// The salt DummyVerify uses: any fixed 16 bytes will do, the result is
// thrown away.
constexpr uint8_t kDummySalt[kArgon2SaltBytes] = {'s', 'e', 's', 'a', 'm', 'e', '-', 'd',
                                                  'u', 'm', 'm', 'y', '-', 's', 'l', 't'};

Status Corrupt(const std::string& what) { return Status(Code::kCorrupt, what); }

// ---- PHC fields ----

// Canonical unsigned decimal: digits only, no sign, no leading zero.
bool ParseDecimal(std::string_view text, uint32_t* out) {
  if (text.empty() || text.size() > 10) return false;
  if (text.size() > 1 && text[0] == '0') return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > std::numeric_limits<uint32_t>::max()) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

// Consumes `prefix` from the front of `*text`.
bool ConsumePrefix(std::string_view* text, std::string_view prefix) {
  if (text->substr(0, prefix.size()) != prefix) return false;
  text->remove_prefix(prefix.size());
  return true;
}

// Takes the next '$'-separated field from the front of `*text` (and the '$').
// Returns false if there is no further '$' and `last` is false.
bool NextField(std::string_view* text, bool last, std::string_view* field) {
  size_t dollar = text->find('$');
  if (last) {
    if (dollar != std::string_view::npos) return false;
    *field = *text;
    text->remove_prefix(text->size());
    return true;
  }
  if (dollar == std::string_view::npos) return false;
  *field = text->substr(0, dollar);
  text->remove_prefix(dollar + 1);
  return true;
}

// Range checks shared by the parser and the hasher's own parameters.
Status CheckParams(const Argon2Params& p) {
  if (p.time_cost < kMinTimeCost || p.time_cost > kMaxTimeCost)
    return Status(Code::kInvalidArgument,
                  "time cost t=" + std::to_string(p.time_cost) + " is outside 1..1000");
  if (p.parallelism < kMinLanes || p.parallelism > kMaxLanes)
    return Status(Code::kInvalidArgument,
                  "parallelism p=" + std::to_string(p.parallelism) + " is outside 1..64");
  if (p.memory_kib < 8 * p.parallelism || p.memory_kib > kMaxMemoryKib)
    return Status(Code::kInvalidArgument, "memory m=" + std::to_string(p.memory_kib) +
                                              " KiB is outside " +
                                              std::to_string(8 * p.parallelism) + "..4194304 " +
                                              "(at least 8 KiB per lane)");
  return Status::Ok();
}

// Parses what follows "$argon2id$": "v=19$m=M,t=T,p=P$SALT$HASH".
Result<PhcHash> ParseArgon2idBody(std::string_view rest) {
  std::string_view field;
  if (!NextField(&rest, false, &field) || field != "v=19")
    return Corrupt("argon2id hash: expected version field \"v=19\" after \"$argon2id$\"");

  if (!NextField(&rest, false, &field))
    return Corrupt("argon2id hash: missing parameters field \"m=M,t=T,p=P\"");
  PhcHash phc;
  std::string_view num;
  auto take_number = [&](std::string_view* in, std::string_view key, bool last,
                         uint32_t* out) -> bool {
    if (!ConsumePrefix(in, key)) return false;
    size_t comma = in->find(',');
    if (last) {
      if (comma != std::string_view::npos) return false;
      num = *in;
      in->remove_prefix(in->size());
    } else {
      if (comma == std::string_view::npos) return false;
      num = in->substr(0, comma);
      in->remove_prefix(comma + 1);
    }
    return ParseDecimal(num, out);
  };
  if (!take_number(&field, "m=", false, &phc.params.memory_kib) ||
      !take_number(&field, "t=", false, &phc.params.time_cost) ||
      !take_number(&field, "p=", true, &phc.params.parallelism))
    return Corrupt(
        "argon2id hash: parameters field is not \"m=M,t=T,p=P\" with plain decimal numbers");
  Status range = CheckParams(phc.params);
  if (!range.ok()) return Corrupt("argon2id hash: " + range.message());

  if (!NextField(&rest, false, &field)) return Corrupt("argon2id hash: missing salt field");
  if (!Base64Decode(field, &phc.salt)) return Corrupt("argon2id hash: salt is not unpadded base64");
  if (phc.salt.size() < kMinSaltBytes || phc.salt.size() > kMaxSaltBytes)
    return Corrupt("argon2id hash: salt is " + std::to_string(phc.salt.size()) +
                   " bytes; allowed 8..64");

  if (!NextField(&rest, true, &field))
    return Corrupt("argon2id hash: unexpected \"$\" after the hash field");
  if (!Base64Decode(field, &phc.hash)) return Corrupt("argon2id hash: hash is not unpadded base64");
  if (phc.hash.size() < kMinHashBytes || phc.hash.size() > kMaxHashBytes)
    return Corrupt("argon2id hash: hash is " + std::to_string(phc.hash.size()) +
                   " bytes; allowed 16..64");
  return phc;
}

// ---- memory for argon2 ----
//
// Large areas (the default cost: 64 MiB) are their own mapping, with
// transparent huge pages, and go back to the kernel at once. Small ones
// (below 2 MiB: low costs, tests, the benchmark's minimum) come from the
// heap: a mapping of a few pages costs more in mmap, page faults and, in a
// threaded process, the TLB shootdown of munmap than the hash itself. Heap
// memory is wiped here before it is freed (libargon2 clears its memory
// before calling back, too).

// libargon2's callbacks carry no user data, so the area's size and kind
// live in a header page just before the block handed to argon2 (keeps page
// alignment).
constexpr size_t kHeaderBytes = 4096;
constexpr size_t kHugePageBytes = size_t{2} << 20;

struct AreaHeader {
  size_t total;
  bool mapped;
};

int MapArgon2Memory(uint8_t** memory, size_t bytes) {
  *memory = nullptr;
  if (bytes > std::numeric_limits<size_t>::max() - 2 * kHeaderBytes)
    return ARGON2_MEMORY_ALLOCATION_ERROR;
  // A whole number of pages (aligned_alloc wants a multiple of the alignment).
  const size_t total = (bytes + 2 * kHeaderBytes - 1) / kHeaderBytes * kHeaderBytes;
  void* base = nullptr;
  const bool mapped = bytes >= kHugePageBytes;
  if (mapped) {
    base = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return ARGON2_MEMORY_ALLOCATION_ERROR;
    // Fails where the kernel has no THP; plain pages then, which is fine.
    (void)madvise(static_cast<uint8_t*>(base) + kHeaderBytes, bytes, MADV_HUGEPAGE);
  } else {
    base = std::aligned_alloc(kHeaderBytes, total);
    if (base == nullptr) return ARGON2_MEMORY_ALLOCATION_ERROR;
  }
  const AreaHeader header{total, mapped};
  std::memcpy(base, &header, sizeof header);
  *memory = static_cast<uint8_t*>(base) + kHeaderBytes;
  return ARGON2_OK;
}

void UnmapArgon2Memory(uint8_t* memory, size_t /*bytes*/) {
  if (memory == nullptr) return;
  uint8_t* base = memory - kHeaderBytes;
  AreaHeader header{};
  std::memcpy(&header, base, sizeof header);
  if (header.mapped) {
    munmap(base, header.total);
  } else {
    WipeMemory(base, header.total);
    std::free(base);
  }
}

// Holds a limiter slot (if any) and brackets the computation with the debug
// lines tests use to measure overlap.
class ComputeScope {
 public:
  ComputeScope(Argon2Limiter::Slot slot, Logger& logger) : slot_(std::move(slot)), logger_(logger) {
    if (logger_.debug_enabled()) logger_.Log(LogLevel::kDebug, "argon2: start");
  }
  ~ComputeScope() {
    if (logger_.debug_enabled()) logger_.Log(LogLevel::kDebug, "argon2: end");
  }
  ComputeScope(const ComputeScope&) = delete;
  ComputeScope& operator=(const ComputeScope&) = delete;

 private:
  Argon2Limiter::Slot slot_;  // released after the "end" line
  Logger& logger_;
};

}  // namespace

Result<PhcHash> ParsePhc(std::string_view phc) {
  // "$<id>$..." — the id picks the parser. Only argon2id: crypt(3) hashes
  // are not PHC strings; Verify hands them to VerifyCryptHash.
  if (phc.empty() || phc[0] != '$')
    return Corrupt("not an argon2id hash (does not start with \"$\")");
  std::string_view rest = phc.substr(1);
  size_t dollar = rest.find('$');
  if (dollar == std::string_view::npos)
    return Corrupt("not an argon2id hash (no \"$\" after the algorithm name)");
  std::string_view id = rest.substr(0, dollar);
  rest.remove_prefix(dollar + 1);
  if (id == "argon2id") return ParseArgon2idBody(rest);
  return Corrupt("not an argon2id hash (algorithm \"" + SanitizeForLog(id, 16) + "\")");
}

std::string FormatPhc(const PhcHash& phc) {
  std::string out = "$argon2id$v=19$m=" + std::to_string(phc.params.memory_kib) +
                    ",t=" + std::to_string(phc.params.time_cost) +
                    ",p=" + std::to_string(phc.params.parallelism) + "$";
  out += Base64Encode(phc.salt);
  out += '$';
  out += Base64Encode(phc.hash);
  return out;
}

PasswordHasher::PasswordHasher(Argon2Params params, Argon2Limiter* limiter, Logger& logger)
    : params_(params), limiter_(limiter), logger_(logger) {}

Status PasswordHasher::Compute(const Argon2Params& params, std::string_view salt,
                               std::string_view password, uint8_t* out, size_t out_len) {
  if (password.size() > std::numeric_limits<uint32_t>::max())
    return Status(Code::kInvalidArgument, "password too long for argon2");
  if (salt.size() < ARGON2_MIN_SALT_LENGTH || salt.size() > kMaxSaltBytes ||
      out_len < kMinHashBytes || out_len > kMaxHashBytes)
    return Status(Code::kInternal, "argon2: bad salt or output length");
  SESAME_RETURN_IF_ERROR(CheckParams(params).WithContext("argon2 parameters"));

  // argon2_context wants mutable pointers; it writes to neither without the
  // CLEAR flags, but give it our own copies rather than cast away const.
  SecretBuffer pwd(password);
  uint8_t salt_copy[kMaxSaltBytes];
  std::memcpy(salt_copy, salt.data(), salt.size());

  argon2_context ctx{};
  ctx.out = out;
  ctx.outlen = static_cast<uint32_t>(out_len);
  ctx.pwd = pwd.mutable_bytes();  // null for an empty password: argon2 allows that
  ctx.pwdlen = static_cast<uint32_t>(pwd.size());
  ctx.salt = salt_copy;
  ctx.saltlen = static_cast<uint32_t>(salt.size());
  ctx.t_cost = params.time_cost;
  ctx.m_cost = params.memory_kib;
  ctx.lanes = params.parallelism;
  ctx.threads = params.parallelism;
  ctx.version = ARGON2_VERSION_13;
  ctx.allocate_cbk = MapArgon2Memory;
  ctx.free_cbk = UnmapArgon2Memory;
  ctx.flags = ARGON2_DEFAULT_FLAGS;

  Argon2Limiter::Slot slot;
  if (limiter_ != nullptr) {
    Result<Argon2Limiter::Slot> got = limiter_->Acquire();
    if (!got.ok()) return got.status();
    slot = std::move(got).value();
  }
  int rc;
  {
    ComputeScope scope(std::move(slot), logger_);
    rc = argon2_ctx(&ctx, Argon2_id);
  }
  if (rc == ARGON2_OK) return Status::Ok();
  WipeMemory(out, out_len);
  if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
    return Status(Code::kUnavailable, "argon2: could not allocate " +
                                          std::to_string(params.memory_kib) +
                                          " KiB; lower argon2_memory_kib or add memory");
  return Status(Code::kInternal, std::string("argon2: ") + argon2_error_message(rc));
}

Result<std::string> PasswordHasher::Hash(std::string_view password, Random& random) {
  PhcHash phc;
  phc.params = params_;
  uint8_t salt[kArgon2SaltBytes];
  SESAME_RETURN_IF_ERROR(random.Fill(salt, sizeof salt));
  phc.salt.assign(reinterpret_cast<const char*>(salt), sizeof salt);
  uint8_t digest[kArgon2HashBytes];
  Status st = Compute(params_, phc.salt, password, digest, sizeof digest);
  if (!st.ok()) return st;
  phc.hash.assign(reinterpret_cast<const char*>(digest), sizeof digest);
  WipeMemory(digest, sizeof digest);
  std::string out = FormatPhc(phc);
  WipeMemory(phc.hash.data(), phc.hash.size());
  return out;
}

Result<bool> PasswordHasher::Verify(std::string_view phc, std::string_view password) {
  if (IsCryptHash(phc)) {
    // Same host-wide cap as argon2 (no "argon2: start/end" lines: those
    // measure argon2 only).
    Argon2Limiter::Slot slot;
    if (limiter_ != nullptr) {
      Result<Argon2Limiter::Slot> got = limiter_->Acquire();
      if (!got.ok()) return got.status();
      slot = std::move(got).value();
    }
    return VerifyCryptHash(phc, password);
  }
  if (phc.substr(0, 10) != "$argon2id$") {
    Status why = CheckImportableHash(phc);
    return Corrupt("stored password hash is neither argon2id nor a crypt(3) hash we accept (" +
                   (why.ok() ? std::string("unknown hash format") : why.message()) + ")");
  }
  Result<PhcHash> parsed = ParsePhc(phc);
  if (!parsed.ok()) return parsed.status();
  const PhcHash& want = parsed.value();
  uint8_t digest[kMaxHashBytes];
  Status st = Compute(want.params, want.salt, password, digest, want.hash.size());
  if (!st.ok()) return st;
  bool match = CRYPTO_memcmp(digest, want.hash.data(), want.hash.size()) == 0;
  WipeMemory(digest, sizeof digest);
  WipeMemory(parsed.value().hash.data(), parsed.value().hash.size());
  return match;
}

Status PasswordHasher::DummyVerify(std::string_view password) {
  uint8_t digest[kArgon2HashBytes];
  std::string_view salt(reinterpret_cast<const char*>(kDummySalt), sizeof kDummySalt);
  Status st = Compute(params_, salt, password, digest, sizeof digest);
  WipeMemory(digest, sizeof digest);
  return st;
}

bool PasswordHasher::NeedsRehash(std::string_view phc) const {
  if (IsCryptHash(phc)) return true;  // adopted from /etc/shadow: argon2id next
  Result<PhcHash> parsed = ParsePhc(phc);
  if (!parsed.ok()) return true;
  const PhcHash& have = parsed.value();
  return have.params.memory_kib != params_.memory_kib ||
         have.params.time_cost != params_.time_cost ||
         have.params.parallelism != params_.parallelism || have.salt.size() != kArgon2SaltBytes ||
         have.hash.size() != kArgon2HashBytes;
}

}  // namespace sesame
