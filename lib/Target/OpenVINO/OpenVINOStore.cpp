//===- OpenVINOStore.cpp - An OpenVINO IR folder as a parameter store -----===//
//
// Only Consts named like checkpoint tensors (…weight, …bias) are weights;
// the rest (rotary tables, shape constants, NNCF's and our decompression
// constants under NAME/…) belong to the graph around them. A low-bit
// weight's blocks are those the writer split: the inverse of
// ExportOpenVINO.cpp's lowBitMatrix and channelMatrix, code for code.
//
//===----------------------------------------------------------------------===//
#include "OpenVINOStore.h"

#include "IRReader.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <cstring>
#include <vector>

using namespace phiq::openvino;
namespace params = ::phiq::params;
namespace quant = ::phiq::quant;
using llvm::StringRef;

namespace {

class OpenVINOStore final : public params::ParamStore {
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

  std::string dir;
  std::unique_ptr<IRGraph> graph;
  llvm::StringMap<params::TensorRef> tensors;
  std::vector<std::vector<uint8_t>> owned;
};

llvm::Error layerError(const IRGraph &graph, const IRLayer &layer,
                       const llvm::Twine &why) {
  return llvm::createStringError(graph.xmlPath + ": " + layer.describe() +
                                 ": " + why);
}

std::string shapeString(llvm::ArrayRef<int64_t> shape) {
  return "[" + llvm::join(llvm::map_range(shape, [](int64_t d) {
                            return std::to_string(d);
                          }),
                          ", ") +
         "]";
}

/// The Const NAME/SUFFIX of element type one of `types` and shape `shape`.
llvm::Expected<const IRLayer *>
companion(const IRGraph &graph, const IRLayer &codes, StringRef suffix,
          llvm::ArrayRef<StringRef> types, llvm::ArrayRef<int64_t> shape) {
  auto it = graph.constants.find((codes.name + "/" + suffix).str());
  if (it == graph.constants.end())
    return layerError(graph, codes,
                      "low-bit weight without its Const '" + codes.name + "/" +
                          suffix + "'");
  const IRLayer &c = *it->second;
  if (!llvm::is_contained(types, StringRef(c.elementType)) ||
      llvm::ArrayRef<int64_t>(c.shape) != shape)
    return layerError(graph, c,
                      "expected " + llvm::join(types, " or ") + " of shape " +
                          shapeString(shape) + " for the codes " +
                          shapeString(codes.shape) + ", got " + c.elementType +
                          " " + shapeString(c.shape));
  return &c;
}

/// PhiQ's blocks of a grouped low-bit matrix: codes [n, groups, group]
/// (u4 with a u4 zero point, i4 symmetric, or u8 with a u8 zero point) and
/// scales [n, groups, 1] (f16 or f32).
llvm::Expected<std::pair<quant::BlockFormat, std::vector<uint8_t>>>
groupBlocks(const IRGraph &graph, const IRLayer &codes) {
  const int64_t n = codes.shape[0], groups = codes.shape[1],
                group = codes.shape[2];
  const bool symmetric = codes.elementType == "i4";
  const int bits = codes.elementType == "u8" ? 8 : 4;
  auto scale = companion(graph, codes, "scale", {"f16", "f32"},
                         {n, groups, 1});
  if (!scale)
    return scale.takeError();
  const bool fp16 = (*scale)->elementType == "f16";
  const IRLayer *zeroPoint = nullptr;
  if (!symmetric) {
    auto zp = companion(graph, codes, "zero_point", {codes.elementType},
                        {n, groups, 1});
    if (!zp)
      return zp.takeError();
    zeroPoint = *zp;
  }
  std::optional<quant::BlockFormat> format;
  if (bits == 4 && fp16)
    format = quant::nncfFormat(4, group, symmetric);
  if (!format)
    format = quant::matMulNBitsFormat(bits, group, symmetric, fp16);
  if (!format)
    return layerError(graph, codes,
                      llvm::formatv("{0}-bit groups of {1} have no PhiQ block "
                                    "format (groups of 16, 32, 64 or 128)",
                                    bits, group));
  const quant::MatMulNBitsLayout l = *quant::matMulNBitsLayout(*format);
  std::vector<uint8_t> out(size_t(n * groups * l.blockBytes()));
  uint8_t *dst = out.data();
  for (int64_t i = 0; i < n * groups; ++i) {
    std::memcpy(dst, (*scale)->bytes.data() + i * l.scaleBytes(),
                size_t(l.scaleBytes()));
    if (zeroPoint)
      dst[l.scaleBytes()] =
          bits == 8 ? zeroPoint->bytes[size_t(i)]
                    : (zeroPoint->bytes[size_t(i / 2)] >> (4 * (i % 2))) & 15;
    uint8_t *q = dst + l.scaleBytes() + l.zeroPointBytes();
    std::memcpy(q, codes.bytes.data() + i * l.codeBytes(),
                size_t(l.codeBytes()));
    // IR's i4 holds q (two's complement); PhiQ's symmetric blocks q + 8.
    if (symmetric)
      for (int64_t j = 0; j < l.codeBytes(); ++j)
        q[j] ^= 0x88;
    dst += l.blockBytes();
  }
  return std::make_pair(*format, std::move(out));
}

/// NNCF's INT8_ASYM per channel: codes u8 [n, k], zero point u8 and f16
/// scale [n, 1]; PhiQ's rows {scale, zero point, codes}.
llvm::Expected<std::vector<uint8_t>> channelRows(const IRGraph &graph,
                                                 const IRLayer &codes) {
  const int64_t n = codes.shape[0], k = codes.shape[1];
  auto scale = companion(graph, codes, "scale", {"f16"}, {n, 1});
  if (!scale)
    return scale.takeError();
  auto zp = companion(graph, codes, "zero_point", {"u8"}, {n, 1});
  if (!zp)
    return zp.takeError();
  std::vector<uint8_t> out(size_t(n * (k + 3)));
  for (int64_t r = 0; r < n; ++r) {
    uint8_t *row = out.data() + r * (k + 3);
    std::memcpy(row, (*scale)->bytes.data() + r * 2, 2);
    row[2] = (*zp)->bytes[size_t(r)];
    std::memcpy(row + 3, codes.bytes.data() + r * k, size_t(k));
  }
  return out;
}

} // namespace

llvm::Expected<OpenVINOCheckpoint>
phiq::openvino::openOpenVINOCheckpoint(StringRef dir) {
  llvm::SmallString<256> xml(dir);
  llvm::sys::path::append(xml, "openvino_model.xml");
  auto graph = readIR(xml);
  if (!graph)
    return graph.takeError();
  auto store = std::make_unique<OpenVINOStore>();
  store->dir = dir.str();
  OpenVINOCheckpoint result;
  const IRGraph &g = **graph;
  for (const IRLayer &layer : g.layers) {
    if (layer.type != "Const" || StringRef(layer.name).contains('/'))
      continue;
    StringRef name = layer.name;
    const bool compressed = name.consume_back("_compressed");
    // A tied table written twice: the second copy ("NAME_1") is the
    // lm_head's, quantized apart from the embedding.
    if (name == "model.embed_tokens.weight_1")
      name = "lm_head.weight";
    if (!name.ends_with(".weight") && !name.ends_with(".bias"))
      continue;
    if (store->tensors.count(name))
      return layerError(g, layer, "a second Const for '" + name + "'");
    params::TensorRef ref;
    ref.name = name.str();
    ref.file = g.binPath;
    ref.fileOffset = layer.offset;
    ref.shape.assign(layer.shape.begin(), layer.shape.end());
    ref.data = layer.bytes;
    ref.mapped = true;
    StringRef type = layer.elementType;
    if (type == "f32" || type == "f16" || type == "bf16") {
      if (compressed != (type != "f32"))
        return layerError(g, layer, "a float weight is stored as NAME (f32) "
                                    "or NAME_compressed (f16), not as " +
                                        type);
      ref.dtype = type == "f32"   ? params::DType::F32
                  : type == "f16" ? params::DType::F16
                                  : params::DType::BF16;
    } else if ((type == "u4" || type == "i4" || type == "u8") &&
               layer.shape.size() == 3) {
      auto blocks = groupBlocks(g, layer);
      if (!blocks)
        return blocks.takeError();
      result.formats[name] = blocks->first;
      store->owned.push_back(std::move(blocks->second));
    } else if (type == "u8" && layer.shape.size() == 2) {
      auto rows = channelRows(g, layer);
      if (!rows)
        return rows.takeError();
      result.formats[name] = quant::BlockFormat::NNCF_U8_CHANNEL;
      store->owned.push_back(std::move(*rows));
    } else {
      return layerError(g, layer,
                        "weight of element type " + type + " and shape " +
                            shapeString(layer.shape) +
                            " is not a form PhiQ reads (f32/f16/bf16; u4, i4 "
                            "or u8 [out, groups, group]; u8 [out, in] per "
                            "channel)");
    }
    if (result.formats.count(name)) {
      ref.dtype = params::DType::U8;
      ref.shape = {int64_t(store->owned.back().size())};
      ref.data = store->owned.back();
      ref.mapped = false;
    }
    store->tensors[name] = std::move(ref);
  }
  if (store->tensors.empty())
    return llvm::createStringError(
        xml + ": no weight Consts (Consts named after checkpoint tensors, as "
              "PhiQ's writer and NNCF name them)");
  store->graph = std::move(*graph);
  result.store = std::move(store);
  return result;
}

llvm::Expected<std::unique_ptr<params::ParamStore>>
phiq::openvino::openOpenVINOStore(StringRef dir) {
  auto checkpoint = openOpenVINOCheckpoint(dir);
  if (!checkpoint)
    return checkpoint.takeError();
  return std::move(checkpoint->store);
}
