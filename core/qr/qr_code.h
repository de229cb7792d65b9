// QR codes: encoding only (libqrencode). Rendering lives in core/qr/qr_render.h.
//
// Used to show an otpauth:// URI at MFA enrollment and an app password once
// at creation. The text may be a secret: callers wipe it themselves; a
// QrCode holds the same information in module form and is as sensitive.
#ifndef SESAME_CORE_QR_QR_CODE_H_
#define SESAME_CORE_QR_QR_CODE_H_

#include <cstddef>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace sesame {

// Largest text EncodeQr accepts, in bytes (fits version 40 at level M).
constexpr size_t kMaxQrTextBytes = 2048;

// A QR symbol without its quiet zone: size x size modules, row-major,
// true = dark.
struct QrCode {
  int size = 0;
  std::vector<bool> modules;

  // True when the module at column x, row y is dark. Coordinates outside the
  // symbol (e.g. in the quiet zone) are light.
  bool at(int x, int y) const {
    if (x < 0 || y < 0 || x >= size || y >= size) return false;
    return modules[static_cast<size_t>(y) * static_cast<size_t>(size) + static_cast<size_t>(x)];
  }
};

// Encodes `text` as bytes (8-bit mode), smallest version that fits, error
// correction level M. Text with any non-ASCII byte gets an ECI 26 (UTF-8)
// header so decoders do not guess its charset; ASCII text gets none.
// kInvalidArgument: empty, contains a NUL, not valid UTF-8, or longer than
// kMaxQrTextBytes.
// kUnavailable: out of memory; kInternal: other libqrencode failures.
Result<QrCode> EncodeQr(std::string_view text);

}  // namespace sesame

#endif  // SESAME_CORE_QR_QR_CODE_H_
