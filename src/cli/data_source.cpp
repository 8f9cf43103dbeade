// SPDX-License-Identifier: Apache-2.0
#include "cli/data_source.hpp"

#include <algorithm>
#include <filesystem>

#include "core/data/idx.hpp"
#include "core/data/image.hpp"
#include "runtime/files.hpp"

namespace disco::cli {
namespace fs = std::filesystem;

Result<core::Task> load_task(const std::string& task_arg) {
  fs::path path(task_arg);
  std::error_code ec;
  if (!fs::exists(path, ec) && task_arg.find('/') == std::string::npos &&
      path.extension() != ".json")
    path = fs::path(DISCO_TASKS_DIR) / (task_arg + ".json");
  if (!fs::exists(path, ec))
    return make_error(Errc::NotFound, "task '" + task_arg +
                                          "' is neither a file nor a built-in task (see `disco "
                                          "tasks`)");
  DISCO_ASSIGN_OR_RETURN(text, runtime::read_text_file(path));
  return core::parse_task_text(text, path.string());
}

std::string default_data(const core::Task& task) {
  if (task.id == "fashion-mnist") return runtime::kFashionMnistDir;
  if (task.id == "penguins") return std::string(DISCO_TASKS_DIR) + "/data/penguins.csv";
  return "";
}

namespace {

bool has_idx_files(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / "train-images-idx3-ubyte", ec) ||
         fs::exists(dir / "train-images-idx3-ubyte.gz", ec) ||
         fs::exists(dir / "t10k-images-idx3-ubyte", ec) ||
         fs::exists(dir / "t10k-images-idx3-ubyte.gz", ec);
}

Result<core::Dataset> load_images(const core::Task& task, const fs::path& path, Split split) {
  const core::ImageFormat& im = task.data.image;
  core::ImageSpec spec{im.height, im.width, im.channels};
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (has_idx_files(path)) {
      return runtime::load_mnist_dir(
          path, split == Split::Train ? runtime::MnistSplit::Train : runtime::MnistSplit::Test,
          task.data.labels);
    }
    return runtime::load_image_folder(path, spec, task.data.labels);
  }
  if (path.extension() == ".csv")
    return runtime::load_image_csv(path, path.parent_path(), spec, task.data.labels);
  return make_error(Errc::InvalidArgument, path.string() +
                                               ": image data must be a directory (IDX files or one "
                                               "subfolder per label) or a filename,label CSV");
}

}  // namespace

Result<LoadedData> load_data(const core::Task& task, const std::string& data_arg, Split split,
                             const std::optional<core::TabularTransform>& transform) {
  std::string arg = data_arg.empty() ? default_data(task) : data_arg;
  if (arg.empty())
    return make_error(Errc::InvalidArgument, "--data is required for task '" + task.id + "'");
  fs::path path(arg);
  LoadedData out;
  out.source = arg;
  switch (task.data.type) {
    case core::DataType::Image: {
      DISCO_ASSIGN_OR_RETURN(d, load_images(task, path, split));
      out.data = std::move(d);
      break;
    }
    case core::DataType::Tabular: {
      DISCO_ASSIGN_OR_RETURN(table, runtime::load_csv_file(path));
      core::TabularTransform t;
      if (transform) {
        t = *transform;
      } else {
        DISCO_ASSIGN_OR_RETURN(fitted, core::fit_tabular(table, task.data.tabular, arg));
        t = fitted;
      }
      DISCO_ASSIGN_OR_RETURN(d, core::apply_tabular(table, t, arg));
      out.data = std::move(d);
      out.tabular = t;
      break;
    }
    case core::DataType::Text: {
      core::TextConfig config;
      config.sequence_length = task.data.sequence_length;
      DISCO_ASSIGN_OR_RETURN(d, runtime::load_text_file(path, config));
      out.data = std::move(d);
      break;
    }
  }
  return out;
}

Result<LoadedData> load_inputs(const core::Task& task, const std::string& data_arg,
                               const std::optional<core::TabularTransform>& transform) {
  std::string arg = data_arg.empty() ? default_data(task) : data_arg;
  fs::path path(arg);
  std::error_code ec;
  if (task.data.type == core::DataType::Tabular && transform) {
    DISCO_ASSIGN_OR_RETURN(table, runtime::load_csv_file(path));
    bool has_outputs = true;
    for (const std::string& c : transform->config.output_columns)
      has_outputs = has_outputs && table.column(c).has_value();
    if (!has_outputs) {
      DISCO_ASSIGN_OR_RETURN(x, core::apply_tabular_inputs(table, *transform, arg));
      LoadedData out;
      out.data.y = core::Tensor::zeros({x.dim(0)});
      out.data.x = std::move(x);
      out.labelled = false;
      out.source = arg;
      return out;
    }
  }
  if (task.data.type == core::DataType::Image && fs::is_directory(path, ec) &&
      !has_idx_files(path)) {
    DISCO_ASSIGN_OR_RETURN(listing, runtime::list_dir(path));
    if (listing.folders.empty() && !listing.files.empty()) {
      const core::ImageFormat& im = task.data.image;
      core::ImageSpec spec{im.height, im.width, im.channels};
      auto n = static_cast<int64_t>(listing.files.size());
      LoadedData out;
      out.data.x = core::Tensor::empty({n, im.height, im.width, im.channels});
      out.data.y = core::Tensor::zeros({n});
      int64_t per = im.height * im.width * im.channels;
      for (int64_t i = 0; i < n; ++i) {
        fs::path file = path / listing.files[static_cast<std::size_t>(i)];
        DISCO_ASSIGN_OR_RETURN(bytes, runtime::read_file(file));
        DISCO_ASSIGN_OR_RETURN(img, core::decode_image(bytes, spec, file.string()));
        std::copy(img.data(), img.data() + per, out.data.x.data() + i * per);
      }
      out.labelled = false;
      out.source = arg;
      return out;
    }
  }
  return load_data(task, data_arg, Split::Test, transform);
}

core::Dataset limited(core::Dataset data, std::optional<int64_t> limit, uint64_t seed) {
  if (!limit || *limit >= data.size()) return data;
  Rng rng(seed ^ 0x5eedULL);
  std::vector<int64_t> order = core::permutation(data.size(), rng);
  order.resize(static_cast<std::size_t>(std::max<int64_t>(*limit, 0)));
  return core::subset(data, order);
}

std::span<const std::byte> as_bytes(const std::vector<uint8_t>& v) {
  return {reinterpret_cast<const std::byte*>(v.data()), v.size()};
}

}  // namespace disco::cli
