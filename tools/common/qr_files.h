// Writing a QR code to a new PNG or SVG file, for the tools (`sesame mfa
// enroll --qr-png/--qr-svg`, sesame-admin). Not in core: only the tools link
// libpng.
//
// WriteQrPng / WriteQrSvg create a new file: O_CREAT|O_EXCL|O_NOFOLLOW, mode
// 0600. An existing file or a symlink at `path` is never overwritten or
// followed (kAlreadyExists). The file is written fully or removed. A setuid
// caller must drop to the real uid before calling them.
#ifndef SESAME_TOOLS_COMMON_QR_FILES_H_
#define SESAME_TOOLS_COMMON_QR_FILES_H_

#include <string>

#include "core/base/status.h"
#include "core/qr/qr_code.h"
#include "core/qr/qr_render.h"

namespace sesame {

// 8-bit grayscale PNG (0 = dark, 255 = light), `scale` pixels per module,
// 1..kQrMaxPngScale (kInvalidArgument otherwise).
Status WriteQrPng(const QrCode& qr, const std::string& path, int scale = kQrDefaultPngScale);

// QrSvg(qr) written to a new file.
Status WriteQrSvg(const QrCode& qr, const std::string& path);

}  // namespace sesame

#endif  // SESAME_TOOLS_COMMON_QR_FILES_H_
