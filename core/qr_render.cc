#include "core/qr_render.h"

#include <fcntl.h>
#include <png.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace sesame {
namespace {

constexpr const char* kUpperHalf = "\u2580";  // ▀
constexpr const char* kLowerHalf = "\u2584";  // ▄
constexpr const char* kFullBlock = "\u2588";  // █

// Side of the symbol with its quiet zone, in modules.
int FullSize(const QrCode& qr) { return qr.size + 2 * kQrQuietZone; }

// Dark module at (x, y) in quiet-zone coordinates (0 .. FullSize-1).
bool DarkAt(const QrCode& qr, int x, int y) { return qr.at(x - kQrQuietZone, y - kQrQuietZone); }

Status CheckShape(const QrCode& qr) {
  if (qr.size <= 0 || qr.size > 177 ||
      qr.modules.size() != static_cast<size_t>(qr.size) * static_cast<size_t>(qr.size)) {
    return Status(Code::kInvalidArgument, "malformed QR code (size " + std::to_string(qr.size) +
                                              ", " + std::to_string(qr.modules.size()) +
                                              " modules)");
  }
  return Status::Ok();
}

// Creates `path` (never an existing file, never through a symlink) with mode
// 0600 and writes `bytes` to it; on any failure after creation the file is
// removed.
Status WriteNewFile(const std::string& path, const std::string& bytes) {
  if (path.empty()) return Status(Code::kInvalidArgument, "empty output file name");
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    switch (err) {
      case EEXIST:
      case ELOOP:
        return Status(Code::kAlreadyExists,
                      path + " exists already; it is never overwritten: choose a new file name");
      case ENOENT:
      case ENOTDIR:
        return Status(Code::kNotFound, "cannot create " + path + ": " + strerror(err) +
                                           "; check that its directory exists");
      case EACCES:
      case EPERM:
      case EROFS:
        return Status(Code::kPermissionDenied, "cannot create " + path + ": " + strerror(err) +
                                                   "; choose a directory you can write to");
      default:
        return Status(Code::kUnavailable, "cannot create " + path + ": " + strerror(err));
    }
  }
  auto fail = [&](const std::string& what, int err) {
    close(fd);
    unlink(path.c_str());
    return Status(Code::kUnavailable, what + " " + path + ": " + strerror(err));
  };
  // The umask may have narrowed 0600; make it exactly 0600.
  if (fchmod(fd, 0600) != 0) return fail("cannot set mode 0600 on", errno);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write", errno);
    }
    if (n == 0) return fail("cannot write", EIO);
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS) return fail("cannot write", errno);
  if (close(fd) != 0) {
    int err = errno;
    unlink(path.c_str());
    return Status(Code::kUnavailable, "cannot write " + path + ": " + strerror(err));
  }
  return Status::Ok();
}

}  // namespace

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
  if (!CheckShape(qr).ok()) return std::string();
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
  if (!CheckShape(qr).ok()) return std::string();
  const int full = FullSize(qr);
  std::string out;
  out.reserve(static_cast<size_t>(full) * static_cast<size_t>(2 * full + 1));
  for (int y = 0; y < full; ++y) {
    for (int x = 0; x < full; ++x) out += DarkAt(qr, x, y) ? "##" : "  ";
    out += '\n';
  }
  return out;
}

Status WriteQrPng(const QrCode& qr, const std::string& path, int scale) {
  SESAME_RETURN_IF_ERROR(CheckShape(qr));
  if (scale < 1 || scale > kQrMaxPngScale) {
    return Status(Code::kInvalidArgument, "QR code PNG scale " + std::to_string(scale) +
                                              " is out of range; use 1 to " +
                                              std::to_string(kQrMaxPngScale));
  }
  const int full = FullSize(qr);
  const size_t side = static_cast<size_t>(full) * static_cast<size_t>(scale);
  std::vector<unsigned char> pixels(side * side, 255);
  for (size_t py = 0; py < side; ++py) {
    int y = static_cast<int>(py) / scale;
    for (size_t px = 0; px < side; ++px) {
      if (DarkAt(qr, static_cast<int>(px) / scale, y)) pixels[py * side + px] = 0;
    }
  }

  // libpng's simplified API: no setjmp/longjmp in our code.
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(side);
  image.height = static_cast<png_uint_32>(side);
  image.format = PNG_FORMAT_GRAY;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&image, nullptr, &size, 0, pixels.data(), 0, nullptr) ||
      size == 0) {
    std::string msg = image.message;
    png_image_free(&image);
    return Status(Code::kInternal, "libpng cannot encode the QR code: " + msg);
  }
  std::string bytes(size, '\0');
  if (!png_image_write_to_memory(&image, bytes.data(), &size, 0, pixels.data(), 0, nullptr)) {
    std::string msg = image.message;
    png_image_free(&image);
    return Status(Code::kInternal, "libpng cannot encode the QR code: " + msg);
  }
  png_image_free(&image);
  bytes.resize(size);
  return WriteNewFile(path, bytes);
}

std::string QrSvg(const QrCode& qr) {
  if (!CheckShape(qr).ok()) return std::string();
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

Status WriteQrSvg(const QrCode& qr, const std::string& path) {
  SESAME_RETURN_IF_ERROR(CheckShape(qr));
  return WriteNewFile(path, QrSvg(qr));
}

}  // namespace sesame
