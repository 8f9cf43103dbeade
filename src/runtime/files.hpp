// SPDX-License-Identifier: Apache-2.0
// Native file access for the drivers (CLI, server, tests): whole-file reads with transparent
// gunzip, sorted directory listings, atomic writes, and the data-set loaders that combine them
// with the pure parsers of src/core/data. Core never opens files; everything here returns
// Result and never throws (std::filesystem is used only through its error_code overloads).
// Not built for WASM, where the browser hands bytes to core directly. Functions are
// thread-compatible: concurrent calls on different files are safe.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.hpp"
#include "core/data/csv.hpp"
#include "core/data/dataset.hpp"
#include "core/data/image.hpp"
#include "core/data/text.hpp"

namespace disco::runtime {

// The whole file. If the name ends in ".gz" or the content starts with the gzip magic
// (1f 8b), the decompressed bytes (all gzip members) are returned instead.
// Errors: NotFound "path: no such file"; InvalidArgument if path is a directory; Internal for
// other I/O failures; Corruption "path: bad gzip data: ..." for damaged or truncated gzip.
Result<std::vector<std::byte>> read_file(const std::filesystem::path& path);

// read_file() as text (no decoding: the bytes as they are). Same errors.
Result<std::string> read_text_file(const std::filesystem::path& path);

// Inflates gzip bytes (one or more concatenated members). `source` names them in errors.
// Errors: Corruption for bad or truncated data.
Result<std::vector<std::byte>> gunzip(std::span<const std::byte> bytes, std::string_view source);

// Names (not paths) of a directory's entries, each list sorted bytewise. Hidden entries
// (starting with '.') are skipped; symlinks count as what they point to.
struct DirListing {
  std::vector<std::string> files;    // regular files
  std::vector<std::string> folders;  // subdirectories
};
// Errors: NotFound "path: no such directory"; InvalidArgument if path is not a directory;
// Internal for other failures.
Result<DirListing> list_dir(const std::filesystem::path& path);

// Writes `bytes` to path atomically: to "<path>.tmp" in the same directory, then renamed over
// path, so readers see the old or the new content, never a part. The directory must exist.
// Errors: NotFound if the directory does not exist; Internal for other I/O failures.
Result<void> write_file_atomic(const std::filesystem::path& path, std::span<const std::byte> bytes);
Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view text);

// --- Data-set loaders: read_file + the core parser; errors are theirs, naming the paths. ---

// An IDX images file and its labels file (either may be gzipped) → classification Dataset
// (core::parse_idx_dataset; label_names as there).
Result<core::Dataset> load_idx_dataset(const std::filesystem::path& images_path,
                                       const std::filesystem::path& labels_path,
                                       std::vector<std::string> label_names = {});

enum class MnistSplit { Train, Test };

// The train (60,000) or test (10,000) split from a directory holding the standard MNIST /
// Fashion-MNIST file names ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte", ...), each
// optionally with ".gz" (e.g. /usr/share/datasets/fashion-mnist). label_names as for
// load_idx_dataset (pass core::kFashionMnistLabels for names).
// Errors: NotFound "dir: no train-images-idx3-ubyte[.gz]"; then load_idx_dataset's.
Result<core::Dataset> load_mnist_dir(const std::filesystem::path& dir, MnistSplit split,
                                     std::vector<std::string> label_names = {});
// Where Debian's dataset-fashion-mnist package puts the files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Images in one subfolder per label: dir/<label>/<image>. Labels as in
// core::ImageDatasetBuilder (empty: the subfolder names, sorted). Files are read in sorted
// order; hidden files are skipped, every other file must be an image.
// Errors: NotFound if dir is missing or holds no image; list_dir's, read_file's and
// ImageDatasetBuilder::add's (unknown label, undecodable image, naming the file).
Result<core::Dataset> load_image_folder(const std::filesystem::path& dir,
                                        const core::ImageSpec& spec,
                                        std::vector<std::string> labels = {});

// Every file in images_dir (sorted; hidden and *.csv files skipped, so the mapping may sit
// there too), labelled by a "filename,label" CSV (core::match_csv_labels).
// Errors: read_file's, parse_csv's, match_csv_labels' (an image without a label), and
// ImageDatasetBuilder::add's; NotFound if images_dir holds no file.
Result<core::Dataset> load_image_csv(const std::filesystem::path& csv_path,
                                     const std::filesystem::path& images_dir,
                                     const core::ImageSpec& spec,
                                     std::vector<std::string> labels = {});

// A CSV file → table (core::parse_csv).
Result<core::CsvTable> load_csv_file(const std::filesystem::path& path,
                                     core::CsvOptions options = {});

// A text file → next-token samples (core::make_text_dataset).
Result<core::Dataset> load_text_file(const std::filesystem::path& path,
                                     const core::TextConfig& config);

}  // namespace disco::runtime
