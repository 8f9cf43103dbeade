// SPDX-License-Identifier: Apache-2.0
// Tests of native file access and the data-set loaders, in a fresh temporary directory per
// test: whole-file reads with transparent gunzip (written here with zlib), sorted listings,
// atomic writes, missing paths as NotFound, the image folder / CSV loaders, and the real
// Fashion-MNIST test split when Debian's dataset-fashion-mnist is installed.
#include "runtime/files.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <string>

#include "core/data/idx.hpp"

namespace disco::runtime {
namespace {

namespace fs = std::filesystem;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("disco_files_test_" + std::string(info->name()));
    std::error_code ec;
    fs::remove_all(dir_, ec);
    fs::create_directories(dir_, ec);
    ASSERT_FALSE(ec) << ec.message();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void write(const fs::path& path, std::string_view content) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    ASSERT_TRUE(write_file_atomic(path, content).has_value());
  }
  // Writes `content` gzip-compressed with zlib's gz* API.
  void write_gz(const fs::path& path, std::string_view content) {
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(gzwrite(f, content.data(), static_cast<unsigned>(content.size())),
              static_cast<int>(content.size()));
    ASSERT_EQ(gzclose(f), Z_OK);
  }

  fs::path dir_;
};

std::string bmp(uint8_t r, uint8_t g, uint8_t b) {  // 1x1 24-bit BMP
  std::string s(58, '\0');
  auto put = [&](int at, uint32_t v) {
    for (int i = 0; i < 4; ++i)
      s[static_cast<std::size_t>(at + i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
  };
  s[0] = 'B';
  s[1] = 'M';
  put(2, 58);
  put(10, 54);
  put(14, 40);
  put(18, 1);
  put(22, 1);
  put(26, 1 | (24 << 16));
  s[54] = static_cast<char>(b);
  s[55] = static_cast<char>(g);
  s[56] = static_cast<char>(r);
  return s;
}

TEST_F(FilesTest, ReadsWhatWriteFileAtomicWrote) {
  const fs::path p = dir_ / "a.txt";
  ASSERT_TRUE(write_file_atomic(p, "hello\n").has_value());
  ASSERT_TRUE(write_file_atomic(p, "bye\n").has_value());
  auto text = read_text_file(p);
  ASSERT_TRUE(text.has_value()) << text.error().to_string();
  EXPECT_EQ(*text, "bye\n");
  EXPECT_FALSE(fs::exists(dir_ / "a.txt.tmp"));
}

TEST_F(FilesTest, GunzipsByExtensionAndByMagic) {
  std::string big;
  for (int i = 0; i < 100000; ++i) big += static_cast<char>('a' + i % 7);
  write_gz(dir_ / "x.gz", big);
  auto a = read_text_file(dir_ / "x.gz");
  ASSERT_TRUE(a.has_value()) << a.error().to_string();
  EXPECT_EQ(*a, big);
  write_gz(dir_ / "x.bin", "magic");
  auto b = read_text_file(dir_ / "x.bin");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, "magic");
}

TEST_F(FilesTest, ReportsTruncatedGzipAsCorruption) {
  write_gz(dir_ / "t.gz", std::string(5000, 'z') + "tail");
  auto bytes = read_file(dir_ / "t.gz");
  ASSERT_TRUE(bytes.has_value());
  std::string raw;
  {
    std::FILE* f = std::fopen((dir_ / "t.gz").c_str(), "rb");
    ASSERT_NE(f, nullptr);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) raw.append(buf, n);
    std::fclose(f);
  }
  write(dir_ / "cut.gz", raw.substr(0, raw.size() - 6));
  auto cut = read_file(dir_ / "cut.gz");
  ASSERT_FALSE(cut.has_value());
  EXPECT_EQ(cut.error().code, Errc::Corruption);
  EXPECT_NE(cut.error().message.find("cut.gz: bad gzip data"), std::string::npos);
}

TEST_F(FilesTest, MissingFileIsNotFoundWithThePath) {
  auto r = read_file(dir_ / "nope.csv");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::NotFound);
  EXPECT_EQ(r.error().message, (dir_ / "nope.csv").string() + ": no such file");
  EXPECT_EQ(read_file(dir_).error().code, Errc::InvalidArgument);
  EXPECT_EQ(list_dir(dir_ / "nodir").error().code, Errc::NotFound);
  EXPECT_EQ(write_file_atomic(dir_ / "nodir" / "f", "x").error().code, Errc::NotFound);
}

TEST_F(FilesTest, ListsFilesAndFoldersSorted) {
  write(dir_ / "b.txt", "");
  write(dir_ / "a.txt", "");
  write(dir_ / ".hidden", "");
  write(dir_ / "zdir" / "f", "");
  write(dir_ / "adir" / "f", "");
  auto listing = list_dir(dir_);
  ASSERT_TRUE(listing.has_value());
  EXPECT_EQ(listing->files, (std::vector<std::string>{"a.txt", "b.txt"}));
  EXPECT_EQ(listing->folders, (std::vector<std::string>{"adir", "zdir"}));
}

TEST_F(FilesTest, LoadsAnImageFolderWithOneSubfolderPerLabel) {
  write(dir_ / "red" / "1.bmp", bmp(255, 0, 0));
  write(dir_ / "red" / "2.bmp", bmp(250, 0, 0));
  write(dir_ / "blue" / "1.bmp", bmp(0, 0, 255));
  auto d = load_image_folder(dir_, {2, 2, 3});
  ASSERT_TRUE(d.has_value()) << d.error().to_string();
  EXPECT_EQ(d->x.shape(), core::Shape({3, 2, 2, 3}));
  EXPECT_EQ(d->label_names, (std::vector<std::string>{"blue", "red"}));
  EXPECT_EQ(d->y[0], 0.0f);
  EXPECT_EQ(d->y[2], 1.0f);
  auto unknown = load_image_folder(dir_, {2, 2, 3}, {"red", "green"});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().message,
            (dir_ / "blue" / "1.bmp").string() + ": unknown label 'blue' (labels: red, green)");
}

TEST_F(FilesTest, LoadsImagesLabelledByACsv) {
  write(dir_ / "img" / "a.bmp", bmp(255, 0, 0));
  write(dir_ / "img" / "b.bmp", bmp(0, 255, 0));
  write(dir_ / "labels.csv", "filename,label\na,x\nb.bmp,y\n");
  auto d = load_image_csv(dir_ / "labels.csv", dir_ / "img", {1, 1, 3});
  ASSERT_TRUE(d.has_value()) << d.error().to_string();
  EXPECT_EQ(d->size(), 2);
  EXPECT_EQ(d->y[1], 1.0f);
  write(dir_ / "img" / "c.bmp", bmp(0, 0, 255));
  auto missing = load_image_csv(dir_ / "labels.csv", dir_ / "img", {1, 1, 3});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message,
            (dir_ / "labels.csv").string() + ": no label for image 'c.bmp'");
}

TEST_F(FilesTest, LoadsCsvAndTextFiles) {
  write(dir_ / "t.csv", "a,b\n1,2\n3\n");
  auto bad = load_csv_file(dir_ / "t.csv");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, (dir_ / "t.csv").string() + ":3: expected 2 fields, found 1");
  write_gz(dir_ / "w.txt.gz", "hello\nworld\n");
  auto text = load_text_file(dir_ / "w.txt.gz", {8});
  ASSERT_TRUE(text.has_value()) << text.error().to_string();
  EXPECT_EQ(text->size(), 2);
}

TEST_F(FilesTest, LoadsGzippedIdxFiles) {
  std::string images("\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x01\xff\x00",
                     18);
  std::string labels("\x00\x00\x08\x01\x00\x00\x00\x02\x03\x01", 10);
  write_gz(dir_ / "train-images-idx3-ubyte.gz", images);
  write(dir_ / "train-labels-idx1-ubyte", labels);
  auto d = load_mnist_dir(dir_, MnistSplit::Train);
  ASSERT_TRUE(d.has_value()) << d.error().to_string();
  EXPECT_EQ(d->x.shape(), core::Shape({2, 1, 1, 1}));
  EXPECT_EQ(d->x[0], 1.0f);
  EXPECT_EQ(d->n_classes, 4);
  auto test = load_mnist_dir(dir_, MnistSplit::Test);
  ASSERT_FALSE(test.has_value());
  EXPECT_EQ(test.error().code, Errc::NotFound);
  EXPECT_EQ(test.error().message, dir_.string() + ": no t10k-images-idx3-ubyte[.gz]");
}

TEST(FashionMnist, LoadsTheRealTestSplitWhenInstalled) {
  if (!fs::exists(kFashionMnistDir)) GTEST_SKIP() << kFashionMnistDir << " not installed";
  auto d = load_mnist_dir(kFashionMnistDir, MnistSplit::Test,
                          {core::kFashionMnistLabels.begin(), core::kFashionMnistLabels.end()});
  ASSERT_TRUE(d.has_value()) << d.error().to_string();
  EXPECT_EQ(d->x.shape(), core::Shape({10000, 28, 28, 1}));
  EXPECT_EQ(d->y.shape(), core::Shape({10000}));
  EXPECT_EQ(d->n_classes, 10);
  EXPECT_EQ(d->label_names[9], "Ankle boot");
  // The test split is balanced: 1,000 images per class.
  EXPECT_EQ(core::class_counts(*d), std::vector<int64_t>(10, 1000));
  float lo = 1.0f;
  float hi = 0.0f;
  for (float v : d->x.span()) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 1.0f);
}

}  // namespace
}  // namespace disco::runtime
