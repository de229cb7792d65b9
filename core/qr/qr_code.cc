#include "core/qr/qr_code.h"

#include <qrencode.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "core/base/input_check.h"

namespace sesame {
namespace {

// ECI assignment number of UTF-8 (ISO/IEC 18004: the default without an
// ECI is ISO-8859-1, and decoders guess; zbar reads unmarked UTF-8 as Big5).
constexpr unsigned int kEciUtf8 = 26;

struct QrcodeFree {
  void operator()(QRcode* code) const { QRcode_free(code); }
};
struct QrinputFree {
  void operator()(QRinput* input) const { QRinput_free(input); }
};

bool IsAscii(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

Status LibraryError(int err) {
  if (err == ERANGE) return Status(Code::kInvalidArgument, "QR code text is too long to encode");
  if (err == ENOMEM) return Status(Code::kUnavailable, "out of memory encoding a QR code");
  return Status(Code::kInternal,
                std::string("libqrencode failed: ") + (err != 0 ? strerror(err) : "unknown error"));
}

}  // namespace

Result<QrCode> EncodeQr(std::string_view text) {
  if (text.empty()) return Status(Code::kInvalidArgument, "QR code text is empty");
  if (text.find('\0') != std::string_view::npos) {
    return Status(Code::kInvalidArgument, "QR code text contains a NUL byte");
  }
  if (text.size() > kMaxQrTextBytes) {
    return Status(Code::kInvalidArgument, "QR code text is " + std::to_string(text.size()) +
                                              " bytes long; the limit is " +
                                              std::to_string(kMaxQrTextBytes));
  }
  if (!IsValidUtf8(text)) {
    return Status(Code::kInvalidArgument, "QR code text is not valid UTF-8");
  }
  errno = 0;
  std::unique_ptr<QRinput, QrinputFree> input(QRinput_new2(0, QR_ECLEVEL_M));  // 0: auto version
  if (input == nullptr) return LibraryError(errno);
  // Plain ASCII needs no ECI (and stays readable by scanners without ECI
  // support); anything else is marked as UTF-8.
  if (!IsAscii(text) && QRinput_appendECIheader(input.get(), kEciUtf8) != 0) {
    return LibraryError(errno);
  }
  if (QRinput_append(input.get(), QR_MODE_8, static_cast<int>(text.size()),
                     reinterpret_cast<const unsigned char*>(text.data())) != 0) {
    return LibraryError(errno);
  }
  errno = 0;
  std::unique_ptr<QRcode, QrcodeFree> code(QRcode_encodeInput(input.get()));
  if (code == nullptr) return LibraryError(errno);
  if (code->width <= 0 || code->width > 177) {
    return Status(Code::kInternal,
                  "libqrencode returned a QR code of width " + std::to_string(code->width));
  }
  QrCode qr;
  qr.size = code->width;
  size_t n = static_cast<size_t>(qr.size) * static_cast<size_t>(qr.size);
  qr.modules.resize(n);
  for (size_t i = 0; i < n; ++i) qr.modules[i] = (code->data[i] & 1) != 0;
  return qr;
}

}  // namespace sesame
