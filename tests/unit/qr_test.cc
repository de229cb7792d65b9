// QR codes proven with a real decoder: every rendering (PNG, SVG, terminal
// half blocks, ASCII) is turned into an image and read back by zbarimg
// (zbar-tools), which must print exactly the encoded text.
#include <gtest/gtest.h>
#include <png.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/qr/qr_code.h"
#include "core/qr/qr_render.h"
#include "tools/common/qr_files.h"

namespace sesame {
namespace {

const char kOtpauth[] =
    "otpauth://totp/Sesame%20Host:alice?secret=JBSWY3DPEHPK3PXP&issuer=Sesame%20Host"
    "&algorithm=SHA1&digits=6&period=30";
// UTF-8 in the label and the issuer, as some enrollment pages produce.
const char kUtf8Label[] =
    "otpauth://totp/S\u00e9same%20H\u00f4te:zo\u00eb.m\u00fcller@exemple.fr"
    "?secret=JBSWY3DPEHPK3PXP&issuer=S\u00e9same%20H\u00f4te";

std::string LongText() {
  std::string text = "otpauth://totp/Sesame%20Host:a.very.long.user.name@example.org?secret=";
  const char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  for (int i = 0; text.size() < 280; ++i) text += kBase32[(i * 7 + 3) % 32];
  text += "&issuer=Sesame%20Host&algorithm=SHA512&digits=8&period=60";
  return text;  // about 340 bytes
}

std::vector<std::string> Texts() { return {kOtpauth, LongText(), kUtf8Label}; }

// A grayscale image, one byte per pixel, 0 = black, 255 = white.
struct Gray {
  int width = 0;
  int height = 0;
  std::vector<unsigned char> px;
  unsigned char& at(int x, int y) { return px[static_cast<size_t>(y) * width + x]; }
};

Gray Scaled(const Gray& in, int factor, int margin, unsigned char margin_value) {
  Gray out;
  out.width = (in.width + 2 * margin) * factor;
  out.height = (in.height + 2 * margin) * factor;
  out.px.assign(static_cast<size_t>(out.width) * out.height, margin_value);
  for (int y = 0; y < in.height; ++y) {
    for (int x = 0; x < in.width; ++x) {
      unsigned char v = in.px[static_cast<size_t>(y) * in.width + x];
      for (int dy = 0; dy < factor; ++dy) {
        for (int dx = 0; dx < factor; ++dx) {
          out.at((x + margin) * factor + dx, (y + margin) * factor + dy) = v;
        }
      }
    }
  }
  return out;
}

bool WritePng(const Gray& img, const std::string& path) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(img.width);
  image.height = static_cast<png_uint_32>(img.height);
  image.format = PNG_FORMAT_GRAY;
  int ok = png_image_write_to_file(&image, path.c_str(), 0, img.px.data(), 0, nullptr);
  png_image_free(&image);
  return ok != 0;
}

// Draws terminal text as a terminal would: each character cell is 1 px wide
// and 2 px tall; filled glyph parts take the foreground colour, the rest the
// background. '#' fills a whole cell. Any other character fails the test.
Gray DrawTerminalText(const std::string& text, unsigned char fg, unsigned char bg) {
  std::vector<std::vector<std::pair<bool, bool>>> lines(1);
  for (size_t i = 0; i < text.size();) {
    std::pair<bool, bool> cell;
    if (text.compare(i, 3, "\u2580") == 0) {
      cell = {true, false}, i += 3;
    } else if (text.compare(i, 3, "\u2584") == 0) {
      cell = {false, true}, i += 3;
    } else if (text.compare(i, 3, "\u2588") == 0) {
      cell = {true, true}, i += 3;
    } else if (text[i] == '#') {
      cell = {true, true}, ++i;
    } else if (text[i] == ' ') {
      cell = {false, false}, ++i;
    } else if (text[i] == '\n') {
      lines.emplace_back();
      ++i;
      continue;
    } else {
      ADD_FAILURE() << "unexpected byte " << static_cast<int>(static_cast<unsigned char>(text[i]))
                    << " at offset " << i;
      return Gray();
    }
    lines.back().push_back(cell);
  }
  EXPECT_TRUE(lines.back().empty()) << "the last line does not end in a newline";
  lines.pop_back();
  Gray img;
  img.height = static_cast<int>(lines.size()) * 2;
  for (const auto& line : lines) {
    EXPECT_EQ(line.size(), lines[0].size()) << "lines differ in width";
    img.width = std::max(img.width, static_cast<int>(line.size()));
  }
  img.px.assign(static_cast<size_t>(img.width) * img.height, bg);
  for (size_t y = 0; y < lines.size(); ++y) {
    for (size_t x = 0; x < lines[y].size(); ++x) {
      if (lines[y][x].first) img.at(static_cast<int>(x), static_cast<int>(2 * y)) = fg;
      if (lines[y][x].second) img.at(static_cast<int>(x), static_cast<int>(2 * y + 1)) = fg;
    }
  }
  return img;
}

// The expected picture of `qr` with its quiet zone, one pixel per module.
Gray Reference(const QrCode& qr) {
  Gray img;
  img.width = img.height = qr.size + 2 * kQrQuietZone;
  img.px.assign(static_cast<size_t>(img.width) * img.height, 255);
  for (int y = 0; y < qr.size; ++y) {
    for (int x = 0; x < qr.size; ++x) {
      if (qr.at(x, y)) img.at(x + kQrQuietZone, y + kQrQuietZone) = 0;
    }
  }
  return img;
}

struct Decoded {
  int exit_code = -1;
  std::string text;
};

// zbarimg --raw -q FILE; the one trailing newline zbarimg adds is removed.
Decoded Zbar(const std::string& path) {
  Decoded out;
  std::string cmd = "zbarimg --raw -q '" + path + "' 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.text.append(buf, n);
  int status = pclose(pipe);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (!out.text.empty() && out.text.back() == '\n') out.text.pop_back();
  return out;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

std::string RunOutput(const std::string& cmd) {
  std::string out;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[1024];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  pclose(pipe);
  return out;
}

// A private 0700 directory (mkdtemp) under $SESAME_TEST_TMPDIR or /tmp,
// removed with everything in it at the end.
class QrTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = getenv("SESAME_TEST_TMPDIR");
    std::string root = base != nullptr && *base != '\0' ? base : "/tmp";
    mkdir(root.c_str(), 0700);  // may exist already
    std::string templ = root + "/qr_test.XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr) << templ;
    dir_ = templ;
  }
  void TearDown() override {
    if (dir_.empty()) return;
    std::string cmd = "rm -rf '" + dir_ + "'";
    EXPECT_EQ(system(cmd.c_str()), 0);
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  QrCode Encode(const std::string& text) {
    Result<QrCode> qr = EncodeQr(text);
    EXPECT_TRUE(qr.ok()) << qr.status().message();
    return qr.ok() ? *qr : QrCode();
  }

  // Draws terminal text, surrounded by a margin of terminal background and
  // scaled up, into a PNG and decodes it.
  Decoded DecodeTerminal(const std::string& rendering, unsigned char fg, unsigned char bg,
                         const std::string& name) {
    Gray img = DrawTerminalText(rendering, fg, bg);
    if (img.width == 0) return Decoded();
    std::string path = Path(name);
    EXPECT_TRUE(WritePng(Scaled(img, 4, 6, bg), path)) << path;
    return Zbar(path);
  }

  std::string dir_;
};

TEST_F(QrTest, EncodeGivesASquareSymbol) {
  QrCode qr = Encode(kOtpauth);
  EXPECT_GE(qr.size, 21);
  EXPECT_EQ((qr.size - 17) % 4, 0);
  EXPECT_EQ(qr.modules.size(), static_cast<size_t>(qr.size * qr.size));
  // Finder pattern corners are dark; outside the symbol is light.
  EXPECT_TRUE(qr.at(0, 0));
  EXPECT_TRUE(qr.at(qr.size - 1, 0));
  EXPECT_TRUE(qr.at(0, qr.size - 1));
  EXPECT_FALSE(qr.at(-1, 0));
  EXPECT_FALSE(qr.at(qr.size, 0));
}

TEST_F(QrTest, EncodeRefusesNulEmptyAndOversized) {
  Result<QrCode> nul = EncodeQr(std::string("otpauth://totp/a\0b", 18));
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.status().code(), Code::kInvalidArgument);
  EXPECT_NE(nul.status().message().find("NUL"), std::string::npos);

  Result<QrCode> empty = EncodeQr("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), Code::kInvalidArgument);

  Result<QrCode> big = EncodeQr(std::string(kMaxQrTextBytes + 1, 'a'));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), Code::kInvalidArgument);
  EXPECT_NE(big.status().message().find("2048"), std::string::npos);

  Result<QrCode> latin1 = EncodeQr("otpauth://totp/S\xe9same");
  ASSERT_FALSE(latin1.ok());
  EXPECT_EQ(latin1.status().code(), Code::kInvalidArgument);
  EXPECT_NE(latin1.status().message().find("UTF-8"), std::string::npos);

  EXPECT_TRUE(EncodeQr(std::string(kMaxQrTextBytes, 'a')).ok());
}

TEST_F(QrTest, PngDecodesToTheText) {
  int i = 0;
  for (const std::string& text : Texts()) {
    SCOPED_TRACE(text);
    QrCode qr = Encode(text);
    std::string path = Path("code" + std::to_string(i++) + ".png");
    Status st = WriteQrPng(qr, path);
    ASSERT_TRUE(st.ok()) << st.message();
    Decoded d = Zbar(path);
    EXPECT_EQ(d.exit_code, 0);
    EXPECT_EQ(d.text, text);
  }
}

TEST_F(QrTest, LargestTextDecodes) {
  std::string text;
  for (size_t i = 0; text.size() < kMaxQrTextBytes; ++i) text += static_cast<char>('!' + i % 90);
  QrCode qr = Encode(text);
  EXPECT_GT(qr.size, 150);
  std::string path = Path("largest.png");
  Status st = WriteQrPng(qr, path, 4);
  ASSERT_TRUE(st.ok()) << st.message();
  Decoded d = Zbar(path);
  EXPECT_EQ(d.exit_code, 0);
  EXPECT_EQ(d.text, text);
}

TEST_F(QrTest, PngSizeFollowsScale) {
  QrCode qr = Encode(kOtpauth);
  std::string path = Path("scale3.png");
  ASSERT_TRUE(WriteQrPng(qr, path, 3).ok());
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  ASSERT_TRUE(png_image_begin_read_from_file(&image, path.c_str()));
  EXPECT_EQ(image.width, static_cast<png_uint_32>((qr.size + 8) * 3));
  EXPECT_EQ(image.height, image.width);
  EXPECT_EQ(image.format, static_cast<png_uint_32>(PNG_FORMAT_GRAY));
  png_image_free(&image);
}

TEST_F(QrTest, SvgDecodesToTheText) {
  std::string converter;
  if (RunOutput("convert -version 2>/dev/null").find("ImageMagick") != std::string::npos) {
    converter = "convert -density 96 -background white '%in' -flatten '%out'";
  } else if (system("command -v rsvg-convert >/dev/null 2>&1") == 0) {
    converter = "rsvg-convert -b white -o '%out' '%in'";
  }
  ASSERT_FALSE(converter.empty()) << "neither ImageMagick convert nor rsvg-convert is installed";
  int i = 0;
  for (const std::string& text : Texts()) {
    SCOPED_TRACE(text);
    QrCode qr = Encode(text);
    std::string svg = Path("code" + std::to_string(i) + ".svg");
    std::string png = Path("svg" + std::to_string(i++) + ".png");
    Status st = WriteQrSvg(qr, svg);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(Slurp(svg), QrSvg(qr));
    std::string cmd = converter;
    cmd.replace(cmd.find("%in"), 3, svg);
    cmd.replace(cmd.find("%out"), 4, png);
    ASSERT_EQ(system((cmd + " 2>/dev/null").c_str()), 0) << cmd;
    Decoded d = Zbar(png);
    EXPECT_EQ(d.exit_code, 0);
    EXPECT_EQ(d.text, text);
  }
}

TEST_F(QrTest, SvgShape) {
  QrCode qr = Encode(kOtpauth);
  std::string svg = QrSvg(qr);
  std::string n = std::to_string(qr.size + 8);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("viewBox=\"0 0 " + n + " " + n + "\""), std::string::npos);
  EXPECT_NE(svg.find("fill=\"#ffffff\""), std::string::npos);
  // The top-left finder pattern's first row: one run of 7 dark modules
  // inside the quiet zone.
  EXPECT_NE(svg.find("M4,4h7v1h-7z"), std::string::npos);
  EXPECT_EQ(svg.find("<path", svg.find("<path") + 1), std::string::npos) << "one <path> only";
}

// Default rendering on a dark terminal: light foreground on dark background.
TEST_F(QrTest, TerminalDefaultScansOnDarkTerminal) {
  int i = 0;
  for (const std::string& text : Texts()) {
    SCOPED_TRACE(text);
    QrCode qr = Encode(text);
    std::string out = RenderQrTerminal(qr, /*invert=*/false);
    Decoded d = DecodeTerminal(out, 255, 0, "term" + std::to_string(i++) + ".png");
    EXPECT_EQ(d.exit_code, 0);
    EXPECT_EQ(d.text, text);
  }
}

// invert=true on a light terminal: dark foreground on light background.
TEST_F(QrTest, TerminalInvertScansOnLightTerminal) {
  int i = 0;
  for (const std::string& text : Texts()) {
    SCOPED_TRACE(text);
    QrCode qr = Encode(text);
    std::string out = RenderQrTerminal(qr, /*invert=*/true);
    Decoded d = DecodeTerminal(out, 0, 255, "inv" + std::to_string(i++) + ".png");
    EXPECT_EQ(d.exit_code, 0);
    EXPECT_EQ(d.text, text);
  }
}

// Drawn on the wrong background, each rendering is a negative image: the
// choice between them matters for scanners that read no inverted codes.
TEST_F(QrTest, TerminalOnTheWrongBackgroundIsANegative) {
  QrCode qr = Encode(kOtpauth);
  Gray dark_default = DrawTerminalText(RenderQrTerminal(qr, false), 255, 0);
  Gray light_default = DrawTerminalText(RenderQrTerminal(qr, false), 0, 255);
  Gray ref = Reference(qr);
  ASSERT_EQ(dark_default.width, ref.width);
  ASSERT_EQ(light_default.width, ref.width);
  for (int y = 0; y < ref.height; ++y) {
    for (int x = 0; x < ref.width; ++x) {
      ASSERT_EQ(dark_default.at(x, y), ref.at(x, y)) << x << "," << y;
      ASSERT_EQ(light_default.at(x, y), 255 - ref.at(x, y)) << x << "," << y;
    }
  }
}

TEST_F(QrTest, TerminalGeometry) {
  QrCode qr = Encode(kOtpauth);
  int full = qr.size + 8;
  for (bool invert : {false, true}) {
    Gray img = DrawTerminalText(RenderQrTerminal(qr, invert), invert ? 0 : 255, invert ? 255 : 0);
    ASSERT_EQ(img.width, full);
    ASSERT_EQ(img.height, (full + 1) / 2 * 2);  // two module rows per line
    Gray ref = Reference(qr);
    for (int y = 0; y < full; ++y) {
      for (int x = 0; x < full; ++x) ASSERT_EQ(img.at(x, y), ref.at(x, y)) << x << "," << y;
    }
    // The half row below the quiet zone is terminal background.
    for (int x = 0; x < full; ++x) EXPECT_EQ(img.at(x, img.height - 1), invert ? 255 : 0);
  }
}

// The ASCII fallback is ink on paper: scans on a light terminal.
TEST_F(QrTest, AsciiScansOnLightTerminal) {
  int i = 0;
  for (const std::string& text : Texts()) {
    SCOPED_TRACE(text);
    QrCode qr = Encode(text);
    std::string out = RenderQrAscii(qr);
    for (char c : out) ASSERT_TRUE(c == '#' || c == ' ' || c == '\n');
    Decoded d = DecodeTerminal(out, 0, 255, "ascii" + std::to_string(i++) + ".png");
    EXPECT_EQ(d.exit_code, 0);
    EXPECT_EQ(d.text, text);
  }
}

TEST_F(QrTest, AsciiGeometry) {
  QrCode qr = Encode(kOtpauth);
  int full = qr.size + 8;
  std::string out = RenderQrAscii(qr);
  std::istringstream in(out);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    ASSERT_EQ(line.size(), static_cast<size_t>(2 * full));
  }
  EXPECT_EQ(lines, full);
  EXPECT_EQ(out.substr(0, 2 * full), std::string(2 * full, ' '));  // quiet zone
}

TEST_F(QrTest, WriteRefusesAnExistingFile) {
  QrCode qr = Encode(kOtpauth);
  std::string path = Path("exists");
  std::ofstream(path) << "keep me";
  Status png = WriteQrPng(qr, path);
  EXPECT_EQ(png.code(), Code::kAlreadyExists);
  EXPECT_NE(png.message().find(path), std::string::npos);
  Status svg = WriteQrSvg(qr, path);
  EXPECT_EQ(svg.code(), Code::kAlreadyExists);
  EXPECT_EQ(Slurp(path), "keep me");
}

TEST_F(QrTest, WriteRefusesASymlink) {
  QrCode qr = Encode(kOtpauth);
  std::string target = Path("target");
  std::ofstream(target) << "keep me";
  std::string link = Path("link");
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  EXPECT_EQ(WriteQrPng(qr, link).code(), Code::kAlreadyExists);
  EXPECT_EQ(WriteQrSvg(qr, link).code(), Code::kAlreadyExists);
  EXPECT_EQ(Slurp(target), "keep me");

  // A dangling symlink is not followed to create its target.
  std::string missing = Path("missing");
  std::string dangling = Path("dangling");
  ASSERT_EQ(symlink(missing.c_str(), dangling.c_str()), 0);
  EXPECT_EQ(WriteQrPng(qr, dangling).code(), Code::kAlreadyExists);
  EXPECT_EQ(WriteQrSvg(qr, dangling).code(), Code::kAlreadyExists);
  EXPECT_FALSE(Exists(missing));
}

TEST_F(QrTest, WrittenFilesAreMode0600WhateverTheUmask) {
  QrCode qr = Encode(kOtpauth);
  mode_t old = umask(0);
  Status png = WriteQrPng(qr, Path("a.png"));
  umask(0277);
  Status svg = WriteQrSvg(qr, Path("a.svg"));
  umask(old);
  ASSERT_TRUE(png.ok()) << png.message();
  ASSERT_TRUE(svg.ok()) << svg.message();
  for (const char* name : {"a.png", "a.svg"}) {
    struct stat st;
    ASSERT_EQ(lstat(Path(name).c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u) << name;
  }
}

TEST_F(QrTest, WriteFailureLeavesNoFile) {
  QrCode qr = Encode(LongText());
  // A 100-byte file size limit makes write() fail with EFBIG part way.
  struct rlimit old;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  struct rlimit small = old;
  small.rlim_cur = 100;
  sighandler_t old_handler = signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  Status png = WriteQrPng(qr, Path("big.png"));
  Status svg = WriteQrSvg(qr, Path("big.svg"));
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, old_handler);
  EXPECT_EQ(png.code(), Code::kUnavailable);
  EXPECT_EQ(svg.code(), Code::kUnavailable);
  EXPECT_FALSE(Exists(Path("big.png")));
  EXPECT_FALSE(Exists(Path("big.svg")));
}

TEST_F(QrTest, WriteRefusesBadScaleAndMalformedCode) {
  QrCode qr = Encode(kOtpauth);
  EXPECT_EQ(WriteQrPng(qr, Path("s0.png"), 0).code(), Code::kInvalidArgument);
  EXPECT_EQ(WriteQrPng(qr, Path("s99.png"), kQrMaxPngScale + 1).code(), Code::kInvalidArgument);
  EXPECT_FALSE(Exists(Path("s0.png")));
  EXPECT_FALSE(Exists(Path("s99.png")));
  QrCode bad;
  bad.size = 21;
  EXPECT_EQ(WriteQrPng(bad, Path("bad.png")).code(), Code::kInvalidArgument);
  EXPECT_EQ(WriteQrSvg(bad, Path("bad.svg")).code(), Code::kInvalidArgument);
  EXPECT_EQ(RenderQrTerminal(bad), "");
  EXPECT_EQ(RenderQrAscii(bad), "");
}

TEST(ColorFgBgTest, LightOnlyForALightGreyOrWhiteBackground) {
  for (const char* light : {"0;15", "0;7", "default;15", "0;default;15", "12;07"})
    EXPECT_TRUE(ColorFgBgNamesLightBackground(light)) << light;
  for (const char* other : {"15;0", "7;0", "0;8", "default;default", "", "15", ";", "0;", "0;150",
                            "0;1 5", "0;-7", "0;7\n", "0;15;", "0;x15"})
    EXPECT_FALSE(ColorFgBgNamesLightBackground(other)) << other;
  EXPECT_FALSE(ColorFgBgNamesLightBackground(std::string(1 << 20, '1') + ";15"));
  EXPECT_FALSE(
      ColorFgBgNamesLightBackground(std::string("0;1\0"
                                                "5",
                                                5)));
}

// The one rule both tools draw by (sesame mfa enroll, sesame-admin mfa
// enroll): half blocks only on a UTF-8 terminal that is not TERM=dumb.
TEST(QrDrawingTest, HalfBlocksOnlyOnAUtf8TerminalThatIsNotDumb) {
  EXPECT_EQ(ChooseQrDrawing(true, true, "xterm-256color"), QrDrawing::kHalfBlocks);
  EXPECT_EQ(ChooseQrDrawing(true, true, ""), QrDrawing::kHalfBlocks);
  EXPECT_EQ(ChooseQrDrawing(false, true, "xterm"), QrDrawing::kAscii);
  EXPECT_EQ(ChooseQrDrawing(true, false, "xterm"), QrDrawing::kAscii);
  EXPECT_EQ(ChooseQrDrawing(true, true, "dumb"), QrDrawing::kAscii);
}

TEST(QrDrawingTest, TheLocaleIsTheFirstOfLcAllLcCtypeLang) {
  EXPECT_TRUE(LocaleIsUtf8(nullptr, nullptr, "en_US.UTF-8"));
  EXPECT_TRUE(LocaleIsUtf8(nullptr, "C.utf8", "POSIX"));
  EXPECT_FALSE(LocaleIsUtf8("C", "en_US.UTF-8", "en_US.UTF-8")) << "LC_ALL wins";
  EXPECT_TRUE(LocaleIsUtf8("", "", "UTF-8")) << "empty ones are skipped";
  EXPECT_FALSE(LocaleIsUtf8(nullptr, nullptr, nullptr));
  EXPECT_FALSE(LocaleIsUtf8(nullptr, nullptr, "de_DE.ISO-8859-1"));
}

}  // namespace
}  // namespace sesame
