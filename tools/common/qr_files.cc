#include "tools/common/qr_files.h"

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

Status WriteQrPng(const QrCode& qr, const std::string& path, int scale) {
  SESAME_RETURN_IF_ERROR(CheckQrShape(qr));
  if (scale < 1 || scale > kQrMaxPngScale) {
    return Status(Code::kInvalidArgument, "QR code PNG scale " + std::to_string(scale) +
                                              " is out of range; use 1 to " +
                                              std::to_string(kQrMaxPngScale));
  }
  const int full = QrFullSize(qr);
  const size_t side = static_cast<size_t>(full) * static_cast<size_t>(scale);
  std::vector<unsigned char> pixels(side * side, 255);
  for (size_t py = 0; py < side; ++py) {
    int y = static_cast<int>(py) / scale;
    for (size_t px = 0; px < side; ++px) {
      if (QrDarkAt(qr, static_cast<int>(px) / scale, y)) pixels[py * side + px] = 0;
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

Status WriteQrSvg(const QrCode& qr, const std::string& path) {
  SESAME_RETURN_IF_ERROR(CheckQrShape(qr));
  return WriteNewFile(path, QrSvg(qr));
}

}  // namespace sesame
