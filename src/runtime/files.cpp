// SPDX-License-Identifier: Apache-2.0
#include "runtime/files.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>

#include "core/data/idx.hpp"

namespace disco::runtime {
namespace {

namespace fs = std::filesystem;

Error io_error(Errc code, const fs::path& path, std::string_view what) {
  return make_error(code, path.string() + ": " + std::string(what));
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool has_gzip_magic(std::span<const std::byte> b) {
  return b.size() >= 2 && b[0] == std::byte{0x1f} && b[1] == std::byte{0x8b};
}

// Closes the FILE* on scope exit.
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

Result<std::vector<std::byte>> read_raw(const fs::path& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    if (ec && ec != std::errc::no_such_file_or_directory)
      return io_error(Errc::Internal, path, ec.message());
    return io_error(Errc::NotFound, path, "no such file");
  }
  if (fs::is_directory(st))
    return io_error(Errc::InvalidArgument, path, "is a directory, not a file");
  errno = 0;
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f) return io_error(Errc::Internal, path, std::strerror(errno));
  std::vector<std::byte> bytes;
  std::byte buf[1 << 16];
  while (true) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, f.get());
    bytes.insert(bytes.end(), buf, buf + n);
    if (n < sizeof buf) break;
  }
  if (std::ferror(f.get())) return io_error(Errc::Internal, path, "read error");
  return bytes;
}

}  // namespace

Result<std::vector<std::byte>> gunzip(std::span<const std::byte> bytes, std::string_view source) {
  std::vector<std::byte> out;
  out.reserve(bytes.size() * 3);
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
    return make_error(Errc::Internal, std::string(source) + ": zlib init failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());  // files over 4 GiB are not data sets we load
  std::byte buf[1 << 16];
  int rc = Z_OK;
  while (true) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.insert(out.end(), buf, buf + (sizeof buf - zs.avail_out));
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      if (inflateReset(&zs) != Z_OK) break;  // another gzip member follows
      continue;
    }
    if (rc != Z_OK) break;
    if (zs.avail_in == 0 && zs.avail_out != 0) {
      rc = Z_BUF_ERROR;  // input ended inside a member
      break;
    }
  }
  const char* msg = zs.msg;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END)
    return make_error(Errc::Corruption, std::string(source) + ": bad gzip data: " +
                                            (msg                 ? msg
                                             : rc == Z_BUF_ERROR ? "truncated"
                                                                 : "error"));
  return out;
}

Result<std::vector<std::byte>> read_file(const fs::path& path) {
  DISCO_ASSIGN_OR_RETURN(bytes, read_raw(path));
  if (ends_with(path.string(), ".gz") || has_gzip_magic(bytes)) return gunzip(bytes, path.string());
  return bytes;
}

Result<std::string> read_text_file(const fs::path& path) {
  DISCO_ASSIGN_OR_RETURN(bytes, read_file(path));
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

Result<DirListing> list_dir(const fs::path& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return io_error(Errc::NotFound, path, "no such directory");
  if (!fs::is_directory(st)) return io_error(Errc::InvalidArgument, path, "not a directory");
  DirListing listing;
  fs::directory_iterator it(path, ec);
  if (ec) return io_error(Errc::Internal, path, ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return io_error(Errc::Internal, path, ec.message());
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    const fs::file_status s = it->status(ec);  // follows symlinks
    if (ec) continue;                          // a dangling link is neither
    if (fs::is_regular_file(s))
      listing.files.push_back(std::move(name));
    else if (fs::is_directory(s))
      listing.folders.push_back(std::move(name));
  }
  if (ec) return io_error(Errc::Internal, path, ec.message());
  std::sort(listing.files.begin(), listing.files.end());
  std::sort(listing.folders.begin(), listing.folders.end());
  return listing;
}

Result<void> write_file_atomic(const fs::path& path, std::span<const std::byte> bytes) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return io_error(Errc::NotFound, dir, "no such directory");
  fs::path tmp = path;
  tmp += ".tmp";
  errno = 0;
  FilePtr f(std::fopen(tmp.c_str(), "wb"));
  if (!f) return io_error(Errc::Internal, tmp, std::strerror(errno));
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f.get()) == bytes.size();
  const bool closed = std::fclose(f.release()) == 0;
  if (!written || !closed) {
    fs::remove(tmp, ec);
    return io_error(Errc::Internal, tmp, "write failed");
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return io_error(Errc::Internal, path, ec.message());
  }
  return {};
}

Result<void> write_file_atomic(const fs::path& path, std::string_view text) {
  return write_file_atomic(path, std::span<const std::byte>(
                                     reinterpret_cast<const std::byte*>(text.data()), text.size()));
}

Result<core::Dataset> load_idx_dataset(const fs::path& images_path, const fs::path& labels_path,
                                       std::vector<std::string> label_names) {
  DISCO_ASSIGN_OR_RETURN(images, read_file(images_path));
  DISCO_ASSIGN_OR_RETURN(labels, read_file(labels_path));
  return core::parse_idx_dataset(images, images_path.string(), labels, labels_path.string(),
                                 std::move(label_names));
}

Result<core::Dataset> load_mnist_dir(const fs::path& dir, MnistSplit split,
                                     std::vector<std::string> label_names) {
  const std::string prefix = split == MnistSplit::Train ? "train" : "t10k";
  auto find = [&](const std::string& name) -> Result<fs::path> {
    std::error_code ec;
    for (const char* suffix : {"", ".gz"}) {
      const fs::path p = dir / (name + suffix);
      if (fs::is_regular_file(p, ec)) return p;
    }
    return io_error(Errc::NotFound, dir, "no " + name + "[.gz]");
  };
  DISCO_ASSIGN_OR_RETURN(images, find(prefix + "-images-idx3-ubyte"));
  DISCO_ASSIGN_OR_RETURN(labels, find(prefix + "-labels-idx1-ubyte"));
  return load_idx_dataset(images, labels, std::move(label_names));
}

Result<core::Dataset> load_image_folder(const fs::path& dir, const core::ImageSpec& spec,
                                        std::vector<std::string> labels) {
  DISCO_ASSIGN_OR_RETURN(listing, list_dir(dir));
  core::ImageDatasetBuilder builder(spec, std::move(labels));
  for (const std::string& folder : listing.folders) {
    DISCO_ASSIGN_OR_RETURN(files, list_dir(dir / folder));
    for (const std::string& file : files.files) {
      const fs::path path = dir / folder / file;
      DISCO_ASSIGN_OR_RETURN(bytes, read_file(path));
      DISCO_TRY(builder.add(bytes, folder, path.string()));
    }
  }
  if (builder.size() == 0) return io_error(Errc::NotFound, dir, "no images in label subfolders");
  return builder.finish();
}

Result<core::Dataset> load_image_csv(const fs::path& csv_path, const fs::path& images_dir,
                                     const core::ImageSpec& spec, std::vector<std::string> labels) {
  DISCO_ASSIGN_OR_RETURN(table, load_csv_file(csv_path));
  DISCO_ASSIGN_OR_RETURN(listing, list_dir(images_dir));
  // The mapping CSV may sit inside the image folder; it is not an image.
  std::vector<std::string> files;
  for (const std::string& f : listing.files)
    if (images_dir / f != csv_path && !ends_with(f, ".csv")) files.push_back(f);
  if (files.empty()) return io_error(Errc::NotFound, images_dir, "no images");
  DISCO_ASSIGN_OR_RETURN(file_labels, core::match_csv_labels(table, files, csv_path.string()));
  core::ImageDatasetBuilder builder(spec, std::move(labels));
  for (std::size_t i = 0; i < files.size(); ++i) {
    const fs::path path = images_dir / files[i];
    DISCO_ASSIGN_OR_RETURN(bytes, read_file(path));
    DISCO_TRY(builder.add(bytes, file_labels[i], path.string()));
  }
  return builder.finish();
}

Result<core::CsvTable> load_csv_file(const fs::path& path, core::CsvOptions options) {
  DISCO_ASSIGN_OR_RETURN(text, read_text_file(path));
  return core::parse_csv(text, path.string(), options);
}

Result<core::Dataset> load_text_file(const fs::path& path, const core::TextConfig& config) {
  DISCO_ASSIGN_OR_RETURN(text, read_text_file(path));
  return core::make_text_dataset(text, config, path.string());
}

}  // namespace disco::runtime
