//===- MLXStore.cpp - An mlx-lm folder as a parameter store -----*- C++ -*-===//
//
// See MLXStore.h. mlx-lm's loader decides a module's bits and group size
// from config.json's `quantization` entry (the module's own entry, else the
// default); the tensors must then have the shapes those imply: weight
// uint32 [.., out, in * bits / 32], scales and biases [.., out, in / group].
// A folder where they disagree would load into wrong shapes in mlx-lm too,
// so it is an error that names the tensor.
//
//===----------------------------------------------------------------------===//
#include "MLXStore.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Regex.h"

#include <algorithm>

using llvm::Error;
using llvm::StringRef;
namespace params = ::phiq::params;
namespace quant = ::phiq::quant;
using namespace phiq::mlx;

namespace {

Error fail(const llvm::Twine &message) {
  return llvm::createStringError(message.str());
}

std::string shapeString(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

struct QuantParams {
  int64_t bits = 0, groupSize = 0;
};

/// config.json's `quantization`: the default and the per-module entries
/// (nullopt: the module is not quantized).
struct QuantizationEntry {
  std::optional<QuantParams> defaults;
  llvm::StringMap<std::optional<QuantParams>> modules;
};

llvm::Expected<QuantParams> readParams(const llvm::json::Object &o,
                                       StringRef file, StringRef where) {
  QuantParams p;
  std::optional<int64_t> bits = o.getInteger("bits");
  std::optional<int64_t> group = o.getInteger("group_size");
  if (!bits || !group)
    return fail(file + ": quantization entry " + where +
                " needs integer 'bits' and 'group_size'");
  if (std::optional<StringRef> mode = o.getString("mode");
      mode && *mode != "affine")
    return fail(file + ": quantization entry " + where + " has mode '" + *mode +
                "'; PhiQ reads MLX's affine mode only");
  p.bits = *bits;
  p.groupSize = *group;
  return p;
}

llvm::Expected<QuantizationEntry> readQuantization(StringRef dir) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "config.json");
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return fail(path + ": " + buffer.getError().message());
  auto json = llvm::json::parse((*buffer)->getBuffer());
  if (!json)
    return fail(path + ": " + llvm::toString(json.takeError()));
  QuantizationEntry entry;
  const llvm::json::Object *config = json->getAsObject();
  if (!config)
    return fail(path + ": not a JSON object");
  const llvm::json::Object *q = config->getObject("quantization");
  if (!q)
    return entry;
  auto defaults = readParams(*q, path, "'quantization'");
  if (!defaults)
    return defaults.takeError();
  entry.defaults = *defaults;
  for (const auto &[key, value] : *q) {
    if (key == "bits" || key == "group_size" || key == "mode")
      continue;
    if (std::optional<bool> flag = value.getAsBoolean()) {
      if (*flag)
        entry.modules[key.str()] = *defaults;
      else
        entry.modules[key.str()] = std::nullopt;
      continue;
    }
    const llvm::json::Object *o = value.getAsObject();
    if (!o)
      return fail(path + ": quantization entry '" + key.str() +
                  "' is neither an object nor a boolean");
    auto p = readParams(*o, path, "'" + key.str() + "'");
    if (!p)
      return p.takeError();
    entry.modules[key.str()] = *p;
  }
  return entry;
}

std::optional<quant::MLXScaleType> scaleTypeOf(params::DType dtype) {
  switch (dtype) {
  case params::DType::F32:
    return quant::MLXScaleType::F32;
  case params::DType::F16:
    return quant::MLXScaleType::F16;
  case params::DType::BF16:
    return quant::MLXScaleType::BF16;
  default:
    return std::nullopt;
  }
}

/// switch_mlp's projections and the checkpoint's per-expert names.
const llvm::Regex &switchMlp() {
  static const llvm::Regex re(
      "^(model\\.layers\\.[0-9]+\\.block_sparse_moe)\\.switch_mlp\\."
      "(gate|up|down)_proj\\.weight$");
  return re;
}

std::string expertName(StringRef block, StringRef proj, int expert) {
  StringRef w = proj == "gate" ? "w1" : proj == "up" ? "w3" : "w2";
  return (block + ".experts." + std::to_string(expert) + "." + w + ".weight")
      .str();
}

} // namespace

llvm::Expected<std::vector<MLXTensorPlan>>
phiq::mlx::planMLXFolder(StringRef dir, const params::ParamStore &raw) {
  auto quantization = readQuantization(dir);
  if (!quantization)
    return quantization.takeError();
  std::vector<MLXTensorPlan> plans;
  for (StringRef name : raw.names()) {
    if (name.ends_with(".scales") || name.ends_with(".biases")) {
      StringRef module = name.drop_back(strlen(".scales"));
      if (!raw.lookup((module + ".weight").str()))
        return fail(raw.lookup(name)->file + ": tensor '" + name +
                    "' belongs to no module (missing tensor '" + module +
                    ".weight')");
      continue;
    }
    const params::TensorRef *t = raw.lookup(name);
    MLXTensorPlan plan;
    plan.source = name.str();
    plan.name = name.str();
    plan.shape.assign(t->shape.begin(), t->shape.end());
    StringRef module =
        name.ends_with(".weight") ? name.drop_back(strlen(".weight")) : "";
    const params::TensorRef *scales =
        module.empty() ? nullptr : raw.lookup((module + ".scales").str());
    if (scales) {
      std::optional<QuantParams> p = quantization->defaults;
      auto it = quantization->modules.find(module);
      if (it != quantization->modules.end())
        p = it->second;
      if (!p)
        return fail(
            scales->file + ": module '" + module +
            "' has scales, but config.json's quantization entry " +
            (quantization->defaults ? "marks it unquantized" : "is missing"));
      std::string biasesName = (module + ".biases").str();
      const params::TensorRef *biases = raw.lookup(biasesName);
      if (!biases)
        return fail(scales->file + ": module '" + module +
                    "' has scales but no tensor '" + biasesName + "'");
      if (t->dtype != params::DType::U32)
        return fail(t->file + ": tensor '" + name +
                    "' of a quantized module "
                    "has dtype " +
                    params::dtypeName(t->dtype) +
                    ", expected U32 (packed codes)");
      std::optional<quant::MLXScaleType> scaleType = scaleTypeOf(scales->dtype);
      if (!scaleType || biases->dtype != scales->dtype)
        return fail(scales->file + ": tensors '" + module + ".scales' (" +
                    params::dtypeName(scales->dtype) + ") and '" + biasesName +
                    "' (" + params::dtypeName(biases->dtype) +
                    ") must share one float type");
      std::optional<quant::BlockFormat> format =
          quant::mlxAffineFormat(int(p->bits), p->groupSize, *scaleType);
      if (!format)
        return fail(scales->file + ": module '" + module + "' has bits " +
                    std::to_string(p->bits) + " and group_size " +
                    std::to_string(p->groupSize) +
                    " in config.json; MLX's affine mode takes bits 2, 3, 4, "
                    "5, 6 or 8 and groups of 32, 64 or 128");
      const int64_t packedCols = t->shape.back();
      const int64_t cols = packedCols * 32 / p->bits;
      llvm::SmallVector<int64_t, 4> groups(t->shape.begin(), t->shape.end());
      groups.back() = cols / p->groupSize;
      if (packedCols * 32 % p->bits != 0 || cols % p->groupSize != 0 ||
          llvm::ArrayRef<int64_t>(scales->shape) != llvm::ArrayRef(groups) ||
          llvm::ArrayRef<int64_t>(biases->shape) != llvm::ArrayRef(groups))
        return fail(scales->file + ": tensor '" + module +
                    ".scales' has shape " + shapeString(scales->shape) +
                    " and '" + biasesName + "' " + shapeString(biases->shape) +
                    ", but config.json's "
                    "quantization for '" +
                    module + "' (bits " + std::to_string(p->bits) +
                    ", group_size " + std::to_string(p->groupSize) +
                    ") makes '" + name + "' " + shapeString(t->shape) +
                    " rows of " + std::to_string(cols) +
                    " weights, i.e. scales of shape " + shapeString(groups));
      plan.format = format;
      plan.scales = (module + ".scales").str();
      plan.biases = biasesName;
      plan.shape.back() = cols;
    }
    llvm::SmallVector<StringRef> m;
    if (switchMlp().match(name, &m)) {
      if (plan.shape.size() != 3)
        return fail(t->file + ": tensor '" + name + "' has shape " +
                    shapeString(plan.shape) + ", expected [experts, out, in]");
      const int experts = int(plan.shape.front());
      plan.shape.erase(plan.shape.begin());
      for (int e = 0; e < experts; ++e) {
        MLXTensorPlan slice = plan;
        slice.name = expertName(m[1], m[2], e);
        slice.expert = e;
        plans.push_back(std::move(slice));
      }
      continue;
    }
    plans.push_back(std::move(plan));
  }
  return plans;
}

namespace {

class MLXStore final : public params::ParamStore {
public:
  const params::TensorRef *lookup(StringRef name) const override {
    auto it = tensors.find(name);
    return it == tensors.end() ? nullptr : &it->second;
  }
  std::vector<StringRef> names() const override {
    std::vector<StringRef> out;
    for (const auto &entry : tensors)
      out.push_back(entry.getKey());
    llvm::sort(out);
    return out;
  }
  StringRef path() const override { return dir; }
  llvm::ArrayRef<params::ParamFile> files() const override {
    return raw->files();
  }

  std::string dir;
  std::unique_ptr<params::ParamStore> raw;
  llvm::StringMap<params::TensorRef> tensors;
  std::vector<std::vector<uint8_t>> owned;
};

/// PhiQ's blocks of one (expert's) quantized matrix: per group
/// {scale; bias; codes}, from MLX's three row-major tensors.
std::vector<uint8_t> interleave(const MLXTensorPlan &plan,
                                const params::TensorRef &weight,
                                const params::TensorRef &scales,
                                const params::TensorRef &biases) {
  quant::MLXAffineLayout l = *quant::mlxAffineLayout(*plan.format);
  const int64_t cols = plan.shape.back();
  int64_t rows = 1;
  for (int64_t d : llvm::ArrayRef(plan.shape).drop_back())
    rows *= d;
  const int64_t groupsPerRow = cols / l.groupSize;
  const int64_t codeRow = cols * l.bits / 8, sb = l.scaleBytes();
  const int64_t e = std::max(plan.expert, 0);
  const uint8_t *codes = weight.data.data() + e * rows * codeRow;
  const uint8_t *s = scales.data.data() + e * rows * groupsPerRow * sb;
  const uint8_t *b = biases.data.data() + e * rows * groupsPerRow * sb;
  std::vector<uint8_t> out(size_t(rows * groupsPerRow * l.blockBytes()));
  uint8_t *dst = out.data();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < groupsPerRow; ++j) {
      const int64_t g = r * groupsPerRow + j;
      std::copy_n(s + g * sb, sb, dst);
      std::copy_n(b + g * sb, sb, dst + sb);
      std::copy_n(codes + r * codeRow + j * l.codeBytes(), l.codeBytes(),
                  dst + 2 * sb);
      dst += l.blockBytes();
    }
  return out;
}

} // namespace

llvm::Expected<std::unique_ptr<params::ParamStore>>
phiq::mlx::openMLXStore(StringRef dir) {
  auto raw = params::openSafetensors(dir);
  if (!raw)
    return raw.takeError();
  auto plans = planMLXFolder(dir, **raw);
  if (!plans)
    return plans.takeError();
  auto store = std::make_unique<MLXStore>();
  store->dir = dir.str();
  store->owned.reserve(plans->size());
  for (const MLXTensorPlan &plan : *plans) {
    const params::TensorRef &source = *(*raw)->lookup(plan.source);
    params::TensorRef ref = source;
    ref.name = plan.name;
    if (plan.format) {
      store->owned.push_back(interleave(plan, source,
                                        *(*raw)->lookup(plan.scales),
                                        *(*raw)->lookup(plan.biases)));
      ref.dtype = params::DType::U8;
      ref.shape = {int64_t(store->owned.back().size())};
      ref.data = store->owned.back();
      ref.mapped = false;
    } else {
      ref.shape.assign(plan.shape.begin(), plan.shape.end());
      if (plan.expert >= 0) {
        // A view of the stacked tensor: experts are contiguous slices.
        const size_t slice = source.data.size() / size_t(source.shape.front());
        ref.data = source.data.slice(size_t(plan.expert) * slice, slice);
        ref.fileOffset = source.fileOffset + plan.expert * slice;
      }
    }
    store->tensors[plan.name] = std::move(ref);
  }
  store->raw = std::move(*raw);
  return std::unique_ptr<params::ParamStore>(std::move(store));
}
