// Drawing a QrCode: terminal text (UTF-8 half blocks or ASCII) and SVG text.
// Writing PNG and SVG files is the tools' (tools/common/qr_files.h): the
// PAM module has no business loading libpng into sshd.
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
#ifndef SESAME_CORE_QR_QR_RENDER_H_
#define SESAME_CORE_QR_QR_RENDER_H_

#include <string>
#include <string_view>

#include "core/base/status.h"
#include "core/qr/qr_code.h"

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

// How to draw a QR code on a terminal, for every tool (core/qr/qr_render.h's
// rules above): half blocks when stdout is a terminal, the locale's
// character set is UTF-8 and TERM is not "dumb"; ASCII otherwise.
enum class QrDrawing { kHalfBlocks, kAscii };
QrDrawing ChooseQrDrawing(bool stdout_is_terminal, bool utf8_locale, std::string_view term);

// Whether a locale name ("en_US.UTF-8", "C.utf8", a bare "UTF-8") names the
// UTF-8 character set. Of LC_ALL, LC_CTYPE and LANG, the first set and not
// empty is the one that counts (as setlocale(3) picks LC_CTYPE): see
// LocaleIsUtf8.
bool LocaleNamesUtf8(std::string_view locale);
// LocaleNamesUtf8 of the first of `lc_all`, `lc_ctype`, `lang` that is not
// null and not empty; false when none is.
bool LocaleIsUtf8(const char* lc_all, const char* lc_ctype, const char* lang);

// Plain ASCII: "##" per dark module, two spaces per light module, one line
// per module row, each line ending in '\n'. Dark modules are ink: it scans
// where text is darker than the background (light terminals, paper).
std::string RenderQrAscii(const QrCode& qr);

// A standalone SVG: white background, one black <path> of merged horizontal
// runs of dark modules, viewBox in modules (quiet zone included).
std::string QrSvg(const QrCode& qr);

// kInvalidArgument unless `qr` is a well-formed symbol (1..177 modules a
// side, as many modules as its size says).
Status CheckQrShape(const QrCode& qr);

// The side of the symbol with its quiet zone, in modules; whether the
// module at (x, y) is dark, in those coordinates (0 .. QrFullSize - 1).
int QrFullSize(const QrCode& qr);
bool QrDarkAt(const QrCode& qr, int x, int y);

}  // namespace sesame

#endif  // SESAME_CORE_QR_QR_RENDER_H_
