//===- ExportMLX.cpp - phi IR to an mlx-lm model folder ---------*- C++ -*-===//
//
// mlx-lm builds phi3 and phimoe models from the Hugging Face config and
// names (models/phi3.py, models/phimoe.py), with two differences that this
// writer makes: PhiMoE's experts are stacked per projection into
// `block_sparse_moe.switch_mlp.{gate,up,down}_proj` ([experts, out, in],
// w1 = gate, w3 = up, w2 = down), and every quantized nn.Linear /
// nn.Embedding / SwitchLinear holds three tensors: `weight` (uint32
// [.., out, in * bits / 32]), `scales` and `biases` ([.., out, in / group],
// in the float type of the scales). mlx-lm's loader quantizes a module when
// config.json's `quantization` names it or when its `scales` exist, taking
// bits and group size from the entry; we write the default entry
// {group_size, bits, mode: "affine"} and one entry per module whose format
// differs from it.
//
// PhiQ's MLX blocks ({scale; bias; codes}, BlockFormat.h) already hold
// MLX's codes in its bit order, so splitting them into the three tensors
// copies bytes; weights in other block formats are refused, or decoded and
// re-quantized with --allow-requantize.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/MLX/ExportMLX.h"

#include "WeightSource.h"

#include "dialects/Phi/PhiOps.h"
#include "dialects/PhiQ/PhiQOps.h"
#include "phiq/Params/Convert.h"
#include "phiq/Params/Safetensors.h"
#include "phiq/Quant/Fp16.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>
#include <map>

using namespace mlir;
using llvm::Error;
using llvm::StringRef;
namespace quant = ::phiq::quant;
namespace params = ::phiq::params;
using namespace phiq::mlx;

namespace {

Error fail(const llvm::Twine &message) {
  return llvm::createStringError(message.str());
}

/// One module (or float tensor) of the output: its name in mlx-lm and the
/// weight ops it is made of (one, or every expert of a stack in order).
struct Entry {
  /// The module path for a matrix ("model.layers.0.mlp.down_proj"), the
  /// full tensor name for a vector; `isMatrixModule` says which.
  std::string name;
  bool isMatrixModule = false;
  std::vector<Operation *> parts;
  /// The MLX format the tensors are written in (nullopt: float).
  std::optional<quant::BlockFormat> format;
  /// The format the parts are held in, when re-quantized from it.
  std::optional<quant::BlockFormat> requantizedFrom;
  params::DType floatType = params::DType::F32;
};

/// The mlx-lm module a checkpoint tensor belongs to. PhiMoE's per-expert
/// `experts.E.w1/w2/w3` map to the stacked switch_mlp projection and their
/// index; anything else keeps its Hugging Face name.
struct MLXName {
  std::string module; // without ".weight"; empty for non-matrix tensors
  std::string tensor; // full name of a float vector
  int expert = -1;
};

llvm::Expected<MLXName> mlxName(StringRef checkpointName, int64_t rank) {
  if (!checkpointName.starts_with("model.") &&
      !checkpointName.starts_with("lm_head."))
    return fail("tensor '" + checkpointName +
                "' has no mlx-lm name (expected Hugging Face names such as "
                "model.layers.0.self_attn.qkv_proj.weight; import the "
                "Hugging Face checkpoint or an MLX folder)");
  static const llvm::Regex expert(
      "^(model\\.layers\\.[0-9]+\\.block_sparse_moe)\\.experts\\.([0-9]+)\\."
      "(w[123])\\.weight$");
  llvm::SmallVector<StringRef> m;
  MLXName out;
  if (expert.match(checkpointName, &m)) {
    StringRef proj = m[3] == "w1"   ? "gate_proj"
                     : m[3] == "w3" ? "up_proj"
                                    : "down_proj";
    out.module = (m[1] + ".switch_mlp." + proj).str();
    out.expert = std::stoi(m[2].str());
    return out;
  }
  if (rank >= 2 && checkpointName.ends_with(".weight")) {
    out.module = checkpointName.drop_back(strlen(".weight")).str();
    return out;
  }
  out.tensor = checkpointName.str();
  return out;
}

params::DType scaleDType(quant::MLXScaleType type) {
  switch (type) {
  case quant::MLXScaleType::F32:
    return params::DType::F32;
  case quant::MLXScaleType::F16:
    return params::DType::F16;
  case quant::MLXScaleType::BF16:
    return params::DType::BF16;
  }
  llvm_unreachable("unknown scale type");
}

std::optional<params::DType> parseFloatDType(StringRef name) {
  if (name == "f32")
    return params::DType::F32;
  if (name == "f16")
    return params::DType::F16;
  if (name == "bf16")
    return params::DType::BF16;
  return std::nullopt;
}

/// Appends `values` converted to `dtype`.
void appendFloats(ArrayRef<float> values, params::DType dtype,
                  std::vector<uint8_t> &out) {
  size_t at = out.size();
  out.resize(at + values.size() * params::dtypeSize(dtype));
  uint8_t *dst = out.data() + at;
  for (float v : values) {
    if (dtype == params::DType::F32) {
      std::memcpy(dst, &v, 4);
      dst += 4;
      continue;
    }
    uint16_t h = dtype == params::DType::F16 ? quant::fp32ToFp16Bits(v)
                                             : quant::fp32ToBf16Bits(v);
    std::memcpy(dst, &h, 2);
    dst += 2;
  }
}

/// Splits rows of MLX blocks into MLX's weight, scales and biases bytes.
void splitBlocks(ArrayRef<uint8_t> blocks, const quant::MLXAffineLayout &l,
                 std::vector<uint8_t> &codes, std::vector<uint8_t> &scales,
                 std::vector<uint8_t> &biases) {
  const int64_t n = int64_t(blocks.size()) / l.blockBytes();
  const size_t s = size_t(l.scaleBytes());
  for (int64_t b = 0; b < n; ++b) {
    const uint8_t *block = blocks.data() + b * l.blockBytes();
    scales.insert(scales.end(), block, block + s);
    biases.insert(biases.end(), block + s, block + 2 * s);
    codes.insert(codes.end(), block + 2 * s, block + 2 * s + l.codeBytes());
  }
}

/// The tensors of one entry, in file order.
struct EntryTensors {
  std::vector<params::TensorLayout> layouts;
};

EntryTensors layoutOf(const Entry &e) {
  EntryTensors out;
  llvm::SmallVector<int64_t, 4> shape(weightShape(e.parts.front()));
  if (e.parts.size() > 1 || e.name.find(".switch_mlp.") != std::string::npos)
    shape.insert(shape.begin(), int64_t(e.parts.size()));
  if (!e.format) {
    std::string name = e.isMatrixModule ? e.name + ".weight" : e.name;
    out.layouts.push_back({name, e.floatType, shape});
    return out;
  }
  quant::MLXAffineLayout l = *quant::mlxAffineLayout(*e.format);
  const int64_t cols = shape.back();
  auto codes = shape, groups = shape;
  codes.back() = cols * l.bits / 32;
  groups.back() = cols / l.groupSize;
  params::DType st = scaleDType(l.scaleType);
  out.layouts.push_back({e.name + ".weight", params::DType::U32, codes});
  out.layouts.push_back({e.name + ".scales", st, groups});
  out.layouts.push_back({e.name + ".biases", st, groups});
  return out;
}

/// Produces the bytes of one entry's tensors (in layoutOf's order).
llvm::Expected<std::vector<std::vector<uint8_t>>>
entryBytes(const Entry &e, const ExportOptions &options) {
  std::vector<std::vector<uint8_t>> out;
  if (!e.format) {
    out.emplace_back();
    // bf16/f16 widen to fp32 exactly, so a tensor kept in its own type
    // comes back bit for bit.
    for (Operation *part : e.parts) {
      auto floats = readAsFloats(part);
      if (!floats)
        return floats.takeError();
      appendFloats(*floats, e.floatType, out.back());
    }
    return out;
  }
  quant::MLXAffineLayout l = *quant::mlxAffineLayout(*e.format);
  out.resize(3);
  for (Operation *part : e.parts) {
    std::vector<uint8_t> storage;
    ArrayRef<uint8_t> blocks;
    if (e.requantizedFrom) {
      auto floats = readAsFloats(part);
      if (!floats)
        return floats.takeError();
      ArrayRef<int64_t> shape = weightShape(part);
      const int64_t cols = shape.back(), rows = int64_t(floats->size()) / cols;
      storage.resize(
          size_t(rows * llvm::cantFail(quant::rowBytes(*e.format, cols))));
      if (Error err = quant::quantize(*e.format, *floats, rows, cols, storage))
        return std::move(err);
      if (options.onRequantize) {
        std::vector<float> back(floats->size());
        quant::dequantize(*e.format, storage, rows, cols, back);
        double err2 = 0, norm2 = 0;
        for (size_t i = 0; i < back.size(); ++i) {
          double d = double((*floats)[i]) - back[i];
          err2 += d * d;
          norm2 += double((*floats)[i]) * (*floats)[i];
        }
        options.onRequantize(weightName(part),
                             quant::formatInfo(*e.requantizedFrom).name,
                             norm2 > 0 ? std::sqrt(err2 / norm2) : 0.0);
      }
      blocks = storage;
    } else {
      auto read = readBlocks(part, storage);
      if (!read)
        return read.takeError();
      blocks = *read;
    }
    splitBlocks(blocks, l, out[0], out[1], out[2]);
  }
  return out;
}

/// Gathers the model's weights into mlx-lm modules and decides each one's
/// output format.
llvm::Expected<std::vector<Entry>>
collectEntries(phi::ModelOp model, const ExportOptions &options,
               std::optional<params::DType> dtype) {
  std::vector<Entry> entries;
  llvm::StringMap<size_t> byName;
  std::map<std::pair<std::string, int>, Operation *> experts;
  Error error = Error::success();
  auto add = [&](Operation *op) -> Error {
    std::string name = weightName(op);
    if (name.empty())
      return fail("an inline dense<> weight has no mlx-lm name; MLX "
                  "folders hold checkpoint tensors only");
    auto mapped = mlxName(name, int64_t(weightShape(op).size()));
    if (!mapped)
      return mapped.takeError();
    std::string key = mapped->module.empty() ? mapped->tensor : mapped->module;
    auto [it, inserted] = byName.try_emplace(key, entries.size());
    if (inserted) {
      Entry e;
      e.name = key;
      e.isMatrixModule = !mapped->module.empty();
      entries.push_back(std::move(e));
    }
    Entry &e = entries[it->second];
    if (mapped->expert < 0) {
      if (!inserted)
        return fail("tensor '" + name +
                    "' is read both as float and as blocks (e.g. a tied "
                    "embedding quantized for the lm_head only); an MLX "
                    "folder stores one table");
      e.parts.push_back(op);
      return Error::success();
    }
    if (!experts.emplace(std::make_pair(key, mapped->expert), op).second)
      return fail("tensor '" + name + "' appears twice");
    return Error::success();
  };
  model.walk([&](Operation *op) {
    if (error)
      return;
    if (auto w = dyn_cast<phi::WeightOp>(op)) {
      // A weight only read through phiq.quantize is written as its blocks.
      bool anyFloatUse = llvm::any_of(w->getUsers(), [](Operation *user) {
        return !isa<mlir::phiq_ir::QuantizeOp>(user);
      });
      if (anyFloatUse)
        error = add(op);
    } else if (isa<mlir::phiq_ir::QuantizeOp, mlir::phiq_ir::PackedWeightOp>(
                   op)) {
      error = add(op);
    }
  });
  if (error)
    return std::move(error);
  // Experts in index order; every index from 0 must be there.
  for (auto &[key, op] : experts) {
    Entry &e = entries[byName[key.first]];
    if (key.second != int(e.parts.size()))
      return fail("expert " + std::to_string(e.parts.size()) + " of '" +
                  key.first + "' is missing");
    e.parts.push_back(op);
  }

  for (Entry &e : entries) {
    std::optional<quant::BlockFormat> first = blockFormat(e.parts.front());
    for (Operation *part : e.parts)
      if (blockFormat(part) != first ||
          weightShape(part) != weightShape(e.parts.front()))
        return fail("the experts of '" + e.name +
                    "' differ in format or shape; mlx-lm stacks them into "
                    "one tensor");
    bool isFloatFormat = first && (*first == quant::BlockFormat::F32 ||
                                   *first == quant::BlockFormat::F16 ||
                                   *first == quant::BlockFormat::BF16);
    if (!first || isFloatFormat) {
      params::DType own =
          !first                               ? floatDType(e.parts.front())
          : *first == quant::BlockFormat::F16  ? params::DType::F16
          : *first == quant::BlockFormat::BF16 ? params::DType::BF16
                                               : params::DType::F32;
      e.floatType = dtype.value_or(own);
      continue;
    }
    if (quant::mlxAffineLayout(*first)) {
      e.format = first;
      continue;
    }
    std::string tensor = weightName(e.parts.front());
    if (!options.allowRequantize)
      return fail("tensor '" + tensor + "' is stored as " +
                  quant::formatInfo(*first).name +
                  ", which MLX's affine groups cannot hold exactly; quantize "
                  "with --phiq-quantize-mlx, or pass --mlx-allow-requantize "
                  "(phi-quantize: --allow-requantize) to "
                  "decode and re-quantize it (adding error)");
    std::optional<quant::BlockFormat> target = quant::mlxAffineFormat(
        options.requantizeBits, options.requantizeGroupSize,
        dtype == params::DType::F32    ? quant::MLXScaleType::F32
        : dtype == params::DType::BF16 ? quant::MLXScaleType::BF16
                                       : quant::MLXScaleType::F16);
    if (!target)
      return fail(
          "no MLX format has " + std::to_string(options.requantizeBits) +
          " bits and groups of " + std::to_string(options.requantizeGroupSize));
    if (weightShape(e.parts.front()).back() % options.requantizeGroupSize)
      return fail("tensor '" + tensor + "' (" + quant::formatInfo(*first).name +
                  ") has rows that are not a whole number of " +
                  std::to_string(options.requantizeGroupSize) +
                  "-element groups and cannot be re-quantized for MLX");
    e.format = target;
    e.requantizedFrom = first;
  }
  return entries;
}

/// Writes `v` as JSON, keeping a float that happens to be integral a float
/// ("0.0", not "0"): transformers' strict config classes, which mlx-lm's
/// tokenizer loading goes through, reject an int where a float is declared
/// (PhiMoE's router_aux_loss_coef). A non-negative number that is no
/// unsigned integer was parsed from a float literal.
void writeJSON(llvm::json::OStream &j, const llvm::json::Value &v) {
  if (const llvm::json::Object *o = v.getAsObject()) {
    std::vector<std::string> keys;
    for (const auto &entry : *o)
      keys.push_back(entry.first.str());
    llvm::sort(keys);
    j.object([&] {
      for (const std::string &key : keys)
        j.attributeBegin(key), writeJSON(j, *o->get(key)), j.attributeEnd();
    });
    return;
  }
  if (const llvm::json::Array *a = v.getAsArray()) {
    j.array([&] {
      for (const llvm::json::Value &e : *a)
        writeJSON(j, e);
    });
    return;
  }
  if (std::optional<double> d = v.getAsNumber();
      d && !v.getAsUINT64() && *d >= 0 && *d == std::floor(*d) && *d < 1e15) {
    j.rawValue(llvm::formatv("{0:f1}", *d).str());
    return;
  }
  j.value(v);
}

/// config.json: the checkpoint's, with mlx-lm's quantization entry.
Error writeConfig(StringRef checkpointDir, ArrayRef<Entry> entries,
                  StringRef path) {
  llvm::SmallString<256> src(checkpointDir);
  llvm::sys::path::append(src, "config.json");
  auto buffer = llvm::MemoryBuffer::getFile(src);
  if (!buffer)
    return fail("cannot read " + src + ": " + buffer.getError().message() +
                " (the MLX folder's config.json starts from the checkpoint's; "
                "name the checkpoint folder with --mlx-checkpoint)");
  auto parsed = llvm::json::parse((*buffer)->getBuffer());
  if (!parsed)
    return fail(src + ": " + llvm::toString(parsed.takeError()));
  llvm::json::Object *config = parsed->getAsObject();
  if (!config)
    return fail(src + ": not a JSON object");
  config->erase("quantization");
  config->erase("quantization_config");

  // The most common (bits, group size) is the default; others are listed.
  std::map<std::pair<int, int64_t>, int> counts;
  for (const Entry &e : entries)
    if (e.format) {
      quant::MLXAffineLayout l = *quant::mlxAffineLayout(*e.format);
      ++counts[{l.bits, l.groupSize}];
    }
  if (!counts.empty()) {
    auto best = counts.begin();
    for (auto it = counts.begin(); it != counts.end(); ++it)
      if (it->second > best->second)
        best = it;
    auto entry = [](int bits, int64_t group) {
      return llvm::json::Object{
          {"group_size", group}, {"bits", bits}, {"mode", "affine"}};
    };
    llvm::json::Object quantization =
        entry(best->first.first, best->first.second);
    for (const Entry &e : entries) {
      if (!e.format)
        continue;
      quant::MLXAffineLayout l = *quant::mlxAffineLayout(*e.format);
      if (l.bits != best->first.first || l.groupSize != best->first.second)
        quantization[e.name] = entry(l.bits, l.groupSize);
    }
    // mlx-lm writes both keys (quantization_config for HF tooling).
    (*config)["quantization_config"] =
        llvm::json::Value(llvm::json::Object(quantization));
    (*config)["quantization"] = std::move(quantization);
  }
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return fail("cannot write " + path + ": " + ec.message());
  {
    llvm::json::OStream j(os, /*IndentSize=*/2);
    writeJSON(j, llvm::json::Value(std::move(*config)));
  }
  os << "\n";
  os.close();
  if (os.has_error())
    return fail("cannot write " + path + ": " + os.error().message());
  return Error::success();
}

/// Tokenizer and generation files mlx-lm (transformers' AutoTokenizer)
/// reads; those present in the checkpoint are copied.
constexpr const char *kCopiedFiles[] = {
    "tokenizer.json",  "tokenizer_config.json",  "special_tokens_map.json",
    "tokenizer.model", "added_tokens.json",      "vocab.json",
    "merges.txt",      "generation_config.json", "chat_template.jinja"};

Error copyTokenizer(StringRef from, StringRef to) {
  bool any = false;
  for (const char *file : kCopiedFiles) {
    llvm::SmallString<256> src(from), dst(to);
    llvm::sys::path::append(src, file);
    llvm::sys::path::append(dst, file);
    if (!llvm::sys::fs::exists(src))
      continue;
    any = true;
    if (std::error_code ec = llvm::sys::fs::copy_file(src, dst))
      return fail("cannot copy " + src + " to " + dst + ": " + ec.message());
  }
  if (!any)
    return fail("no tokenizer files in '" + from +
                "' (mlx-lm needs tokenizer.json or tokenizer.model)");
  return Error::success();
}

/// Checks that `outDir` may be replaced by a finished export.
Error checkReplaceable(StringRef outDir) {
  llvm::sys::fs::file_status status;
  if (llvm::sys::fs::status(outDir, status))
    return Error::success();
  if (!llvm::sys::fs::is_directory(status))
    return fail("output '" + outDir + "' exists and is not a folder");
  llvm::SmallString<256> previous(outDir);
  llvm::sys::path::append(previous, "model.safetensors");
  std::error_code ec;
  llvm::sys::fs::directory_iterator it(outDir, ec);
  bool empty = !ec && it == llvm::sys::fs::directory_iterator();
  if (!empty && !llvm::sys::fs::exists(previous))
    return fail("output folder '" + outDir +
                "' is not empty and holds no model.safetensors; refusing to "
                "replace it");
  return Error::success();
}

} // namespace

Error phiq::mlx::exportMLX(ModuleOp module, StringRef outDir,
                           const ExportOptions &options) {
  std::optional<params::DType> dtype;
  if (options.dtype != "auto") {
    dtype = parseFloatDType(options.dtype);
    if (!dtype)
      return fail("unknown MLX dtype '" + options.dtype +
                  "' (expected auto, f32, f16 or bf16)");
  }
  auto models = llvm::to_vector(module.getOps<phi::ModelOp>());
  if (models.size() != 1)
    return fail("expected exactly one phi.model to write as MLX, found " +
                std::to_string(models.size()));
  phi::ModelOp model = models.front();
  std::string checkpointDir = options.checkpointDir;
  if (checkpointDir.empty())
    if (auto p = model.getStorePath("model"))
      checkpointDir = llvm::sys::fs::is_directory(*p)
                          ? p->str()
                          : llvm::sys::path::parent_path(*p).str();
  if (outDir.empty())
    return fail("no output folder given (--mlx-out)");
  if (Error e = checkReplaceable(outDir))
    return e;
  auto entries = collectEntries(model, options, dtype);
  if (!entries)
    return entries.takeError();

  // Stage next to the destination so the final rename is one file system.
  llvm::SmallString<256> absolute(outDir);
  llvm::sys::fs::make_absolute(absolute);
  llvm::sys::path::remove_dots(absolute, /*remove_dot_dot=*/true);
  llvm::SmallString<256> staging;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory(absolute + ".partial", staging))
    return fail("cannot create output folder '" + outDir +
                "': " + ec.message());
  (void)llvm::sys::fs::setPermissions(
      staging,
      llvm::sys::fs::perms(llvm::sys::fs::all_read | llvm::sys::fs::all_exe |
                           llvm::sys::fs::owner_write));
  bool done = false;
  llvm::scope_exit cleanup([&] {
    if (!done)
      llvm::sys::fs::remove_directories(staging);
  });
  auto inStaging = [&](StringRef file) {
    llvm::SmallString<256> path(staging);
    llvm::sys::path::append(path, file);
    return std::string(path);
  };

  std::vector<params::TensorLayout> layouts;
  for (const Entry &e : *entries)
    llvm::append_range(layouts, layoutOf(e).layouts);
  uint64_t dataBytes = 0;
  std::string header =
      params::buildSafetensorsHeader(layouts, {{"format", "mlx"}}, dataBytes);
  {
    std::string path = inStaging("model.safetensors");
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    if (ec)
      return fail("cannot write " + path + ": " + ec.message());
    os.SetBufferSize(1 << 22);
    os << header;
    size_t layoutIndex = 0;
    for (const Entry &e : *entries) {
      auto bytes = entryBytes(e, options);
      if (!bytes)
        return fail("tensor '" + weightName(e.parts.front()) +
                    "': " + llvm::toString(bytes.takeError()));
      for (const std::vector<uint8_t> &tensor : *bytes) {
        const params::TensorLayout &layout = layouts[layoutIndex++];
        if (tensor.size() != layout.byteSize())
          return fail("tensor '" + layout.name + "' came out " +
                      std::to_string(tensor.size()) +
                      " bytes, its layout needs " +
                      std::to_string(layout.byteSize()));
        os.write(reinterpret_cast<const char *>(tensor.data()), tensor.size());
      }
    }
    os.close();
    if (os.has_error())
      return fail("cannot write " + path + ": " + os.error().message());
  }
  if (Error e = writeConfig(checkpointDir, *entries, inStaging("config.json")))
    return e;
  if (Error e = copyTokenizer(checkpointDir, staging))
    return e;

  // Swap the finished folder in; an earlier export moves aside first.
  llvm::SmallString<256> old;
  if (llvm::sys::fs::exists(absolute)) {
    if (std::error_code ec =
            llvm::sys::fs::createUniqueDirectory(absolute + ".old", old))
      return fail("cannot replace '" + outDir + "': " + ec.message());
    llvm::sys::fs::remove(old);
    if (std::error_code ec = llvm::sys::fs::rename(absolute, old))
      return fail("cannot replace '" + outDir + "': " + ec.message());
  }
  if (std::error_code ec = llvm::sys::fs::rename(staging, absolute)) {
    if (!old.empty())
      (void)llvm::sys::fs::rename(old, absolute);
    return fail("cannot create output folder '" + outDir +
                "': " + ec.message());
  }
  done = true;
  if (!old.empty())
    llvm::sys::fs::remove_directories(old);
  return Error::success();
}
