//===- IRBuilder.cpp - OpenVINO IR v11 layers, edges and weights -*- C++ -*-=//
//
// The XML follows what ov::save_model writes for IR version 11: <net> with
// <layers> (id, name, type, version = opset; <data> attributes; <input> and
// <output> ports numbered inputs first), <edges>, and <rt_info>. Const
// layers point into the .bin with offset and size.
//
//===----------------------------------------------------------------------===//
#include "IRBuilder.h"

#include "phiq/Quant/Fp16.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstring>

using namespace phiq::openvino;
using llvm::Error;
using llvm::Expected;

namespace {

constexpr uint64_t kAlignment = 64;

/// IR port precision names (the reader maps them back to element types).
llvm::StringRef precisionName(ElementType type) {
  switch (type) {
  case ElementType::f32: return "FP32";
  case ElementType::f16: return "FP16";
  case ElementType::i64: return "I64";
  case ElementType::i32: return "I32";
  case ElementType::boolean: return "BOOL";
  case ElementType::u8: return "U8";
  case ElementType::u4: return "U4";
  case ElementType::i4: return "I4";
  }
  llvm_unreachable("unknown element type");
}

std::string escape(llvm::StringRef text) {
  std::string out;
  for (char c : text) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    default: out += c;
    }
  }
  return out;
}

std::string shapeString(llvm::ArrayRef<int64_t> shape) {
  return llvm::join(llvm::map_range(shape,
                                    [](int64_t d) { return std::to_string(d); }),
                    ", ");
}

} // namespace

llvm::StringRef phiq::openvino::elementTypeName(ElementType type) {
  switch (type) {
  case ElementType::f32: return "f32";
  case ElementType::f16: return "f16";
  case ElementType::i64: return "i64";
  case ElementType::i32: return "i32";
  case ElementType::boolean: return "boolean";
  case ElementType::u8: return "u8";
  case ElementType::u4: return "u4";
  case ElementType::i4: return "i4";
  }
  llvm_unreachable("unknown element type");
}

int phiq::openvino::elementBits(ElementType type) {
  switch (type) {
  case ElementType::f32: case ElementType::i32: return 32;
  case ElementType::f16: return 16;
  case ElementType::i64: return 64;
  case ElementType::boolean: case ElementType::u8: return 8;
  case ElementType::u4: case ElementType::i4: return 4;
  }
  llvm_unreachable("unknown element type");
}

std::vector<uint8_t> phiq::openvino::encodeFloats(llvm::ArrayRef<float> values,
                                                  ElementType type) {
  std::vector<uint8_t> bytes;
  if (type == ElementType::f16) {
    bytes.resize(values.size() * 2);
    for (size_t i = 0; i < values.size(); ++i) {
      uint16_t h = phiq::quant::fp32ToFp16Bits(values[i]);
      std::memcpy(&bytes[i * 2], &h, 2);
    }
  } else {
    bytes.resize(values.size() * 4);
    std::memcpy(bytes.data(), values.data(), bytes.size());
  }
  return bytes;
}

std::vector<Output> IRBuilder::addLayer(llvm::StringRef type,
                                        llvm::StringRef opset,
                                        llvm::ArrayRef<Output> inputs,
                                        llvm::ArrayRef<ElementType> outTypes,
                                        Attrs attrs, std::string name) {
  const int id = int(layers.size());
  if (name.empty())
    name = llvm::formatv("{0}/{1}_{2}", scope, type,
                         counters[(scope + "/" + type).str()]++)
               .str();
  Layer layer{name, type.str(), opset.str(), std::move(attrs), {}, {}, {},
              false};
  for (auto [i, in] : llvm::enumerate(inputs)) {
    layer.inputs.push_back(in.type);
    edges.push_back({in.layer, in.port, id, int(i)});
  }
  std::vector<Output> outs;
  for (auto [i, t] : llvm::enumerate(outTypes)) {
    layer.outputs.push_back(t);
    layer.outputNames.emplace_back();
    outs.push_back({id, int(inputs.size() + i), t});
  }
  layers.push_back(std::move(layer));
  return outs;
}

Output IRBuilder::parameter(llvm::StringRef name, ElementType type,
                            llvm::StringRef shape) {
  Output out = addLayer("Parameter", "opset1", {}, {type},
                        {{"shape", shape.str()},
                         {"element_type", elementTypeName(type).str()}},
                        name.str())[0];
  nameOutput(out, name);
  return out;
}

void IRBuilder::result(llvm::StringRef name, Output value) {
  nameOutput(value, name);
  addLayer("Result", "opset1", {value}, {}, {}, (name + "/sink_port_0").str());
}

void IRBuilder::sink(llvm::StringRef type, llvm::StringRef opset, Output input,
                     Attrs attrs) {
  addLayer(type, opset, {input}, {}, std::move(attrs));
}

void IRBuilder::nameOutput(Output value, llvm::StringRef name) {
  Layer &layer = layers[size_t(value.layer)];
  std::string &names =
      layer.outputNames[size_t(value.port) - layer.inputs.size()];
  if (!names.empty())
    names += ",";
  names += name.str();
}

Expected<Output> IRBuilder::constant(llvm::StringRef name, ElementType type,
                                     llvm::ArrayRef<int64_t> shape,
                                     llvm::ArrayRef<uint8_t> bytes) {
  int64_t elements = 1;
  for (int64_t d : shape)
    elements *= d;
  const uint64_t expected = uint64_t(elements * elementBits(type) + 7) / 8;
  if (bytes.size() != expected)
    return llvm::createStringError(
        llvm::formatv("constant '{0}' of shape [{1}] needs {2} bytes, got {3}",
                      name, shapeString(shape), expected, bytes.size())
            .str());
  const uint64_t padding = (kAlignment - binSize % kAlignment) % kAlignment;
  bin->write_zeros(padding);
  const uint64_t offset = binSize + padding;
  bin->write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
  binSize = offset + bytes.size();
  if (bin->has_error())
    return llvm::createStringError("cannot write openvino_model.bin: " +
                                   bin->error().message());
  return addLayer("Const", "opset1", {}, {type},
                  {{"element_type", elementTypeName(type).str()},
                   {"shape", shapeString(shape)},
                   {"offset", std::to_string(offset)},
                   {"size", std::to_string(bytes.size())}},
                  name.str())[0];
}

Output IRBuilder::smallConstant(ElementType type,
                                llvm::ArrayRef<int64_t> shape,
                                llvm::ArrayRef<uint8_t> bytes) {
  std::string key = (elementTypeName(type) + "[" + shapeString(shape) + "]")
                        .str();
  key.append(bytes.begin(), bytes.end());
  auto it = shared.find(key);
  if (it != shared.end())
    return it->second;
  std::string name =
      llvm::formatv("Constant_{0}", counters["/Constant"]++).str();
  // Small constants cannot fail their size check; the stream error, if
  // any, surfaces at finish().
  Output out = llvm::cantFail(constant(name, type, shape, bytes));
  shared[key] = out;
  return out;
}

Output IRBuilder::constI64(llvm::ArrayRef<int64_t> values, bool scalar) {
  llvm::SmallVector<int64_t, 1> shape;
  if (!scalar)
    shape.push_back(int64_t(values.size()));
  return smallConstant(
      ElementType::i64, shape,
      llvm::ArrayRef(reinterpret_cast<const uint8_t *>(values.data()),
                     values.size() * 8));
}

Output IRBuilder::constI32(llvm::ArrayRef<int32_t> values, bool scalar) {
  llvm::SmallVector<int64_t, 1> shape;
  if (!scalar)
    shape.push_back(int64_t(values.size()));
  return smallConstant(
      ElementType::i32, shape,
      llvm::ArrayRef(reinterpret_cast<const uint8_t *>(values.data()),
                     values.size() * 4));
}

Output IRBuilder::constF32(float value) {
  return smallConstant(
      ElementType::f32, {},
      llvm::ArrayRef(reinterpret_cast<const uint8_t *>(&value), 4));
}

Error IRBuilder::finish(
    llvm::raw_ostream &os, llvm::StringRef modelName,
    llvm::ArrayRef<std::pair<std::string, std::string>> rtInfo) {
  bin->close();
  if (bin->has_error())
    return llvm::createStringError("cannot write openvino_model.bin: " +
                                   bin->error().message());
  os << "<?xml version=\"1.0\"?>\n<net name=\"" << escape(modelName)
     << "\" version=\"11\">\n\t<layers>\n";
  for (auto [id, layer] : llvm::enumerate(layers)) {
    os << "\t\t<layer id=\"" << id << "\" name=\"" << escape(layer.name)
       << "\" type=\"" << layer.type << "\" version=\"" << layer.opset
       << "\">\n";
    if (!layer.attrs.empty()) {
      os << "\t\t\t<data";
      for (const auto &[key, value] : layer.attrs)
        os << " " << key << "=\"" << escape(value) << "\"";
      os << " />\n";
    }
    if (layer.decompression)
      os << "\t\t\t<rt_info>\n\t\t\t\t<attribute name=\"decompression\" "
            "version=\"0\" />\n\t\t\t</rt_info>\n";
    if (!layer.inputs.empty()) {
      os << "\t\t\t<input>\n";
      for (auto [port, type] : llvm::enumerate(layer.inputs))
        os << "\t\t\t\t<port id=\"" << port << "\" precision=\""
           << precisionName(type) << "\" />\n";
      os << "\t\t\t</input>\n";
    }
    if (!layer.outputs.empty()) {
      os << "\t\t\t<output>\n";
      for (auto [i, type] : llvm::enumerate(layer.outputs)) {
        os << "\t\t\t\t<port id=\"" << layer.inputs.size() + i
           << "\" precision=\"" << precisionName(type) << "\"";
        if (!layer.outputNames[i].empty())
          os << " names=\"" << escape(layer.outputNames[i]) << "\"";
        os << " />\n";
      }
      os << "\t\t\t</output>\n";
    }
    os << "\t\t</layer>\n";
  }
  os << "\t</layers>\n\t<edges>\n";
  for (const Edge &e : edges)
    os << "\t\t<edge from-layer=\"" << e.fromLayer << "\" from-port=\""
       << e.fromPort << "\" to-layer=\"" << e.toLayer << "\" to-port=\""
       << e.toPort << "\" />\n";
  os << "\t</edges>\n\t<rt_info>\n";
  for (const auto &[key, value] : rtInfo)
    os << "\t\t<" << key << " value=\"" << escape(value) << "\" />\n";
  os << "\t</rt_info>\n</net>\n";
  return Error::success();
}
