// Drawing a QrCode: terminal text (UTF-8 half blocks or ASCII), PNG, SVG.
//
// Every rendering has a quiet zone of kQrQuietZone light modules on every
// side, which scanners need. No ANSI colours are used: the terminal's own
// foreground and background colours draw the code, so NO_COLOR needs no
// special handling.
//
// Which terminal rendering to pick (the tools do this, see STYLE.md item 11):
//  - stdout not a terminal, TERM=dumb, or a locale that is not UTF-8:
//    RenderQrAscii (and/or offer --qr-png / --qr-svg).
//  - otherwise RenderQrTerminal. A scanner needs dark modules darker than
//    light ones, and glyphs are drawn in the foreground colour:
//      invert=false (default): light modules and the quiet zone are the
//        filled glyphs, dark modules are blanks. Scans on a DARK background
//        (light text), the usual terminal default.
//      invert=true: dark modules are the filled glyphs. Scans on a LIGHT
//        background (dark text).
//    The background cannot be queried reliably; a tool offers a switch
//    (e.g. --qr-invert) and may use COLORFGBG as a hint when it is set
//    (ColorFgBgNamesLightBackground).
//
// WriteQrPng / WriteQrSvg create a new file: O_CREAT|O_EXCL|O_NOFOLLOW, mode
// 0600. An existing file or a symlink at `path` is never overwritten or
// followed (kAlreadyExists). The file is written fully or removed. A setuid
// caller must drop to the real uid before calling them.
#ifndef SESAME_CORE_QR_RENDER_H_
#define SESAME_CORE_QR_RENDER_H_

#include <string>
#include <string_view>

#include "core/qr_code.h"
#include "core/status.h"

namespace sesame {

constexpr int kQrQuietZone = 4;        // modules of light border on every side
constexpr int kQrDefaultPngScale = 8;  // pixels per module
constexpr int kQrMaxPngScale = 32;

// UTF-8 half blocks (U+2580 upper, U+2584 lower, U+2588 full, space), two
// module rows per line, one column per module, each line ending in '\n'.
// Beyond the bottom of the quiet zone (an odd number of rows) the last
// line's lower half is left blank (background).
std::string RenderQrTerminal(const QrCode& qr, bool invert = false);

// True when `colorfgbg`, the COLORFGBG variable some terminals set (rxvt,
// Konsole: "FG;BG" or "FG;OTHER;BG", ANSI colour numbers), names a light
// background: BG is 7 (light grey) or 15 (white). False for a dark one,
// for "default" and for anything malformed, so an unknown background keeps
// the usual dark-background drawing.
bool ColorFgBgNamesLightBackground(std::string_view colorfgbg);

// Plain ASCII: "##" per dark module, two spaces per light module, one line
// per module row, each line ending in '\n'. Dark modules are ink: it scans
// where text is darker than the background (light terminals, paper).
std::string RenderQrAscii(const QrCode& qr);

// 8-bit grayscale PNG (0 = dark, 255 = light), `scale` pixels per module,
// 1..kQrMaxPngScale (kInvalidArgument otherwise).
Status WriteQrPng(const QrCode& qr, const std::string& path, int scale = kQrDefaultPngScale);

// A standalone SVG: white background, one black <path> of merged horizontal
// runs of dark modules, viewBox in modules (quiet zone included).
std::string QrSvg(const QrCode& qr);

// QrSvg(qr) written to a new file.
Status WriteQrSvg(const QrCode& qr, const std::string& path);

}  // namespace sesame

#endif  // SESAME_CORE_QR_RENDER_H_
