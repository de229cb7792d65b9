#include "core/qr/qr_render.h"

#include <string>
#include <vector>

namespace sesame {
namespace {

constexpr const char* kUpperHalf = "\u2580";  // ▀
constexpr const char* kLowerHalf = "\u2584";  // ▄
constexpr const char* kFullBlock = "\u2588";  // █

}  // namespace

int QrFullSize(const QrCode& qr) { return qr.size + 2 * kQrQuietZone; }

bool QrDarkAt(const QrCode& qr, int x, int y) { return qr.at(x - kQrQuietZone, y - kQrQuietZone); }

Status CheckQrShape(const QrCode& qr) {
  if (qr.size <= 0 || qr.size > 177 ||
      qr.modules.size() != static_cast<size_t>(qr.size) * static_cast<size_t>(qr.size)) {
    return Status(Code::kInvalidArgument, "malformed QR code (size " + std::to_string(qr.size) +
                                              ", " + std::to_string(qr.modules.size()) +
                                              " modules)");
  }
  return Status::Ok();
}

namespace {

int FullSize(const QrCode& qr) { return QrFullSize(qr); }
bool DarkAt(const QrCode& qr, int x, int y) { return QrDarkAt(qr, x, y); }

}  // namespace

QrDrawing ChooseQrDrawing(bool stdout_is_terminal, bool utf8_locale, std::string_view term) {
  if (!stdout_is_terminal || !utf8_locale || term == "dumb") return QrDrawing::kAscii;
  return QrDrawing::kHalfBlocks;
}

bool LocaleNamesUtf8(std::string_view locale) {
  std::string lower;
  for (char c : locale.substr(0, 64))
    lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return lower.find("utf-8") != std::string::npos || lower.find("utf8") != std::string::npos;
}

bool LocaleIsUtf8(const char* lc_all, const char* lc_ctype, const char* lang) {
  for (const char* v : {lc_all, lc_ctype, lang}) {
    if (v != nullptr && *v != '\0') return LocaleNamesUtf8(v);
  }
  return false;
}

bool ColorFgBgNamesLightBackground(std::string_view colorfgbg) {
  if (colorfgbg.size() > 32) return false;
  const size_t semicolon = colorfgbg.rfind(';');
  if (semicolon == std::string_view::npos) return false;
  const std::string_view bg = colorfgbg.substr(semicolon + 1);
  if (bg.empty() || bg.size() > 2) return false;
  int value = 0;
  for (char c : bg) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return value == 7 || value == 15;
}

std::string RenderQrTerminal(const QrCode& qr, bool invert) {
  if (!CheckQrShape(qr).ok()) return std::string();
  const int full = FullSize(qr);
  // Filled glyph parts are drawn in the foreground colour.
  auto filled = [&](int x, int y) {
    if (y >= full) return false;  // below the quiet zone: background
    return DarkAt(qr, x, y) == invert;
  };
  std::string out;
  out.reserve(static_cast<size_t>((full + 1) / 2) * static_cast<size_t>(full * 3 + 1));
  for (int y = 0; y < full; y += 2) {
    for (int x = 0; x < full; ++x) {
      bool top = filled(x, y);
      bool bottom = filled(x, y + 1);
      if (top && bottom) {
        out += kFullBlock;
      } else if (top) {
        out += kUpperHalf;
      } else if (bottom) {
        out += kLowerHalf;
      } else {
        out += ' ';
      }
    }
    out += '\n';
  }
  return out;
}

std::string RenderQrAscii(const QrCode& qr) {
  if (!CheckQrShape(qr).ok()) return std::string();
  const int full = FullSize(qr);
  std::string out;
  out.reserve(static_cast<size_t>(full) * static_cast<size_t>(2 * full + 1));
  for (int y = 0; y < full; ++y) {
    for (int x = 0; x < full; ++x) out += DarkAt(qr, x, y) ? "##" : "  ";
    out += '\n';
  }
  return out;
}

std::string QrSvg(const QrCode& qr) {
  if (!CheckQrShape(qr).ok()) return std::string();
  const int full = FullSize(qr);
  const std::string n = std::to_string(full);
  const std::string px = std::to_string(full * kQrDefaultPngScale);
  std::string out;
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" viewBox=\"0 0 " + n + " " + n +
         "\" width=\"" + px + "\" height=\"" + px + "\" shape-rendering=\"crispEdges\">\n";
  out += "<rect x=\"0\" y=\"0\" width=\"" + n + "\" height=\"" + n +
         "\" fill=\"#ffffff\" stroke=\"none\"/>\n";
  out += "<path fill=\"#000000\" stroke=\"none\" d=\"";
  for (int y = 0; y < full; ++y) {
    int x = 0;
    while (x < full) {
      if (!DarkAt(qr, x, y)) {
        ++x;
        continue;
      }
      int start = x;
      while (x < full && DarkAt(qr, x, y)) ++x;
      std::string len = std::to_string(x - start);
      out += "M" + std::to_string(start) + "," + std::to_string(y) + "h" + len + "v1h-" + len + "z";
    }
  }
  out += "\"/>\n</svg>\n";
  return out;
}

}  // namespace sesame
