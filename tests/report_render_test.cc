// Renders an HTML report in headless Chromium and checks the page loaded
// and is not blank (PNG decoded here with zlib; non-white pixels counted).
#include <arpa/inet.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/cli_support.h"

namespace provledger {
namespace {

using namespace provledger::testing;

struct Image {
  uint32_t width = 0, height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;  // width * height * channels
};

uint8_t Paeth(int a, int b, int c) {
  int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b),
      pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

// Decodes an 8-bit, non-interlaced RGB or RGBA PNG; false otherwise.
bool DecodePng(const std::string& png, Image* img) {
  if (png.size() < 8 || png.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return false;
  std::string idat;
  size_t p = 8;
  while (p + 8 <= png.size()) {
    uint32_t len;
    memcpy(&len, png.data() + p, 4);
    len = ntohl(len);
    const std::string type = png.substr(p + 4, 4);
    const char* data = png.data() + p + 8;
    if (type == "IHDR") {
      uint32_t w, h;
      memcpy(&w, data, 4);
      memcpy(&h, data + 4, 4);
      img->width = ntohl(w);
      img->height = ntohl(h);
      if (data[8] != 8 || data[12] != 0) return false;
      img->channels = data[9] == 6 ? 4 : data[9] == 2 ? 3 : 0;
      if (img->channels == 0) return false;
    } else if (type == "IDAT") {
      idat.append(data, len);
    }
    p += 12 + len;
  }
  const size_t stride = img->width * img->channels;
  std::vector<uint8_t> raw((stride + 1) * img->height);
  uLongf raw_len = raw.size();
  if (uncompress(raw.data(), &raw_len,
                 reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK ||
      raw_len != raw.size()) {
    return false;
  }
  img->pixels.assign(stride * img->height, 0);
  const int bpp = img->channels;
  for (uint32_t y = 0; y < img->height; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    uint8_t* out = &img->pixels[y * stride];
    const uint8_t* up = y > 0 ? &img->pixels[(y - 1) * stride] : nullptr;
    for (size_t x = 0; x < stride; ++x) {
      int a = x >= static_cast<size_t>(bpp) ? out[x - bpp] : 0;
      int b = up ? up[x] : 0;
      int c = (up && x >= static_cast<size_t>(bpp)) ? up[x - bpp] : 0;
      int v = in[x];
      switch (filter) {
        case 0: break;
        case 1: v += a; break;
        case 2: v += b; break;
        case 3: v += (a + b) / 2; break;
        case 4: v += Paeth(a, b, c); break;
        default: return false;
      }
      out[x] = static_cast<uint8_t>(v);
    }
  }
  return true;
}

std::string Chromium() {
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

TEST(ReportRenderTest, HeadlessChromiumRendersANonBlankPage) {
  const std::string chromium = Chromium();
  if (chromium.empty()) {
    if (std::getenv("PROVLEDGER_REQUIRE_BROWSER") != nullptr) {
      FAIL() << "chromium is not installed (CI installs it: .ci/build --with-browser)";
    }
    GTEST_SKIP() << "chromium is not installed; run .ci/build --with-browser";
  }
  TempDir dir;
  const std::string db = dir.Sub("db");
  ASSERT_EQ(RunCli(dir, "--db " + db + " init").exit_code, 0);
  ASSERT_EQ(RunCli(dir, absl::StrCat("--db ", db, " append ", PROVLEDGER_DEMO_EVENTS))
                .exit_code,
            0);
  const std::string html = dir.Sub("report.html");
  ASSERT_EQ(RunCli(dir, "--db " + db + " report --provider 1526374859 --out " + html)
                .exit_code,
            0);
  const std::string flags =
      " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update "
      "--disable-sync --hide-scrollbars --user-data-dir=" + dir.Sub("profile");
  // The DOM as loaded: the page parsed and holds the timeline.
  const std::string dom_cmd = chromium + flags + " --dump-dom file://" + html +
                              " >" + dir.Sub("dom.html") + " 2>" +
                              dir.Sub("dom.err");
  ASSERT_EQ(std::system(dom_cmd.c_str()), 0) << ReadFile(dir.Sub("dom.err"));
  const std::string dom = ReadFile(dir.Sub("dom.html"));
  EXPECT_TRUE(absl::StrContains(dom, "<svg")) << dom.substr(0, 500);
  EXPECT_TRUE(absl::StrContains(dom, "Provider 1526374859"));
  EXPECT_TRUE(absl::StrContains(dom, "data-seq=\"25\""));
  EXPECT_FALSE(absl::StrContains(ReadFile(dir.Sub("dom.err")), "CONSOLE"));

  const std::string png = dir.Sub("report.png");
  const std::string shot_cmd = chromium + flags +
                               " --window-size=1200,800 --screenshot=" + png +
                               " file://" + html + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(shot_cmd.c_str()), 0);
  Image img;
  ASSERT_TRUE(DecodePng(ReadFile(png), &img)) << "not a PNG we can read";
  EXPECT_EQ(img.width, 1200u);
  EXPECT_EQ(img.height, 800u);
  size_t ink = 0;
  std::set<uint32_t> colors;
  for (size_t i = 0; i + 2 < img.pixels.size(); i += img.channels) {
    const uint8_t r = img.pixels[i], g = img.pixels[i + 1], b = img.pixels[i + 2];
    if (r < 240 || g < 240 || b < 240) ++ink;
    colors.insert(r << 16 | g << 8 | b);
  }
  const size_t total = img.width * img.height;
  EXPECT_GT(ink, total / 50) << "the page looks blank";
  EXPECT_GT(colors.size(), 20u) << "the bars' colors are missing";
}

}  // namespace
}  // namespace provledger
