//===- IRReader.cpp - The layers and Consts of an OpenVINO IR file -*- C++ -*-//
//
// expat streams the elements; only <net>, <layers>/<layer>/<data> and the
// version are kept (edges, ports and rt_info are not needed: the importer
// finds weights by their Const names, which are the checkpoint's).
//
//===----------------------------------------------------------------------===//
#include "IRReader.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <expat.h>

using namespace phiq::openvino;
using llvm::StringRef;

std::string IRLayer::describe() const {
  return llvm::formatv("layer '{0}' (id {1}, {2})", name, id, type).str();
}

namespace {

/// The layer types PhiQ's writer emits (lib/Target/OpenVINO) plus those
/// NNCF's weight compression adds, as OpenVINO's serializer spells them
/// (ov.save_model writes Softmax-8 as "SoftMax"); a graph with any other
/// type is not a decoder PhiQ wrote.
bool isKnownLayerType(StringRef type) {
  static const llvm::StringSet<> known = {
      "Abs",       "Add",          "Assign",     "Broadcast",
      "Concat",    "Const",        "Convert",    "Divide",
      "Equal",     "Gather",       "GatherElements", "Greater",
      "Less",      "LessEqual",    "LogicalAnd", "LogicalNot",
      "MVN",       "MatMul",       "Maximum",    "Minimum",
      "Multiply",  "Parameter",    "Range",      "ReadValue",
      "ReduceMean", "ReduceSum",   "Reshape",    "Result",
      "Select",    "ShapeOf",      "Sigmoid",    "Slice",
      "Softmax",   "SoftMax",      "Sqrt",         "Subtract",   "TopK",
      "Transpose", "Unsqueeze",    "VariadicSplit"};
  return known.contains(type);
}

/// Bits per element of an IR element_type; 0 if unknown.
unsigned elementBits(StringRef type) {
  return llvm::StringSwitch<unsigned>(type)
      .Case("f64", 64).Case("i64", 64).Case("u64", 64)
      .Case("f32", 32).Case("i32", 32).Case("u32", 32)
      .Case("f16", 16).Case("bf16", 16).Case("i16", 16).Case("u16", 16)
      .Case("i8", 8).Case("u8", 8).Case("boolean", 8)
      .Case("i4", 4).Case("u4", 4)
      .Default(0);
}

struct ParseState {
  XML_Parser parser;
  std::string error;
  std::vector<std::string> stack;
  IRGraph *graph;
};

void fail(ParseState &s, const llvm::Twine &message) {
  // The position of the element at fault (the parser moves on once
  // stopped).
  if (s.error.empty())
    s.error = llvm::formatv("{0} (line {1}, column {2})", message.str(),
                            XML_GetCurrentLineNumber(s.parser),
                            XML_GetCurrentColumnNumber(s.parser))
                  .str();
  XML_StopParser(s.parser, XML_FALSE);
}

void XMLCALL startElement(void *user, const XML_Char *tag,
                          const XML_Char **attrs) {
  auto &s = *static_cast<ParseState *>(user);
  StringRef name(tag);
  llvm::StringMap<std::string> a;
  for (const XML_Char **p = attrs; *p; p += 2)
    a[p[0]] = p[1];
  if (s.stack.empty()) {
    if (name != "net")
      return fail(s, "not OpenVINO IR: the root element is <" + name +
                         ">, expected <net>");
    if (a.lookup("version") != "11")
      return fail(s, "OpenVINO IR version '" + a.lookup("version") +
                         "' is not supported (PhiQ reads IR version 11, "
                         "as it and OpenVINO 2022.1 or later write it)");
  } else if (name == "layer" && s.stack.back() == "layers") {
    IRLayer layer;
    layer.id = a.lookup("id");
    layer.name = a.lookup("name");
    layer.type = a.lookup("type");
    s.graph->layers.push_back(std::move(layer));
  } else if (name == "data" && s.stack.back() == "layer" &&
             !s.graph->layers.empty()) {
    for (auto &entry : a)
      s.graph->layers.back().data[entry.getKey()] = entry.getValue();
  }
  s.stack.push_back(name.str());
}

void XMLCALL endElement(void *user, const XML_Char *) {
  static_cast<ParseState *>(user)->stack.pop_back();
}

/// Checks a Const's attributes and points it at its bytes in the .bin.
llvm::Error bindConstant(IRLayer &layer, const IRGraph &graph) {
  auto bad = [&](const llvm::Twine &why) {
    return llvm::createStringError(graph.xmlPath + ": " + layer.describe() +
                                   ": " + why);
  };
  layer.elementType = layer.data.lookup("element_type");
  const unsigned bits = elementBits(layer.elementType);
  if (!bits)
    return bad("element_type '" + layer.elementType + "' is not supported");
  int64_t elements = 1;
  layer.shape.clear();
  const std::string shape = layer.data.lookup("shape");
  llvm::SmallVector<StringRef> dims;
  StringRef(shape).split(dims, ',', -1, /*KeepEmpty=*/false);
  for (StringRef d : dims) {
    int64_t v;
    if (d.trim().getAsInteger(10, v) || v < 0)
      return bad("shape '" + shape + "' is not a list of sizes");
    layer.shape.push_back(v);
    elements *= v;
  }
  uint64_t offset = 0, size = 0;
  if (StringRef(layer.data.lookup("offset")).getAsInteger(10, offset) ||
      StringRef(layer.data.lookup("size")).getAsInteger(10, size))
    return bad("offset and size must be byte counts");
  if (size != uint64_t((elements * bits + 7) / 8))
    return bad(llvm::formatv("size {0} does not match element_type {1} and "
                             "shape [{2}] ({3} bytes)",
                             size, layer.elementType, shape,
                             (elements * bits + 7) / 8));
  const uint64_t binSize = graph.bin->getBufferSize();
  if (offset > binSize || size > binSize - offset)
    return bad(llvm::formatv("bytes [{0}, {1}) run past the end of {2} "
                             "({3} bytes)",
                             offset, offset + size, graph.binPath, binSize));
  layer.offset = offset;
  layer.bytes = llvm::ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(graph.bin->getBufferStart()) + offset,
      size);
  return llvm::Error::success();
}

} // namespace

llvm::Expected<std::unique_ptr<IRGraph>>
phiq::openvino::readIR(StringRef xmlPath) {
  auto graph = std::make_unique<IRGraph>();
  graph->xmlPath = xmlPath.str();
  llvm::SmallString<256> binPath(xmlPath);
  llvm::sys::path::replace_extension(binPath, "bin");
  graph->binPath = std::string(binPath);

  auto xml = llvm::MemoryBuffer::getFile(xmlPath);
  if (!xml)
    return llvm::createStringError("cannot open " + xmlPath + ": " +
                                   xml.getError().message());
  ParseState state;
  state.graph = graph.get();
  state.parser = XML_ParserCreate(nullptr);
  XML_SetUserData(state.parser, &state);
  XML_SetElementHandler(state.parser, startElement, endElement);
  const XML_Status status =
      XML_Parse(state.parser, (*xml)->getBufferStart(),
                int((*xml)->getBufferSize()), XML_TRUE);
  std::string where =
      llvm::formatv("line {0}, column {1}",
                    XML_GetCurrentLineNumber(state.parser),
                    XML_GetCurrentColumnNumber(state.parser))
          .str();
  // XML_ErrorString is null for XML_ERROR_NONE.
  const XML_LChar *expatError = XML_ErrorString(XML_GetErrorCode(state.parser));
  std::string reason = expatError ? expatError : "unknown error";
  XML_ParserFree(state.parser);
  if (!state.error.empty())
    return llvm::createStringError(xmlPath + ": " + state.error);
  if (status != XML_STATUS_OK)
    return llvm::createStringError(xmlPath + ": not XML: " + reason +
                                   " (" + where + ")");

  for (const IRLayer &layer : graph->layers)
    if (!isKnownLayerType(layer.type))
      return llvm::createStringError(
          xmlPath + ": " + layer.describe() + ": layer type '" + layer.type +
          "' is not one PhiQ's OpenVINO writer or NNCF's weight compression "
          "emits; PhiQ imports only the decoder graphs it writes");

  auto bin = llvm::MemoryBuffer::getFile(graph->binPath, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  if (!bin)
    return llvm::createStringError("cannot open " + graph->binPath +
                                   " (the weights of " + xmlPath +
                                   "): " + bin.getError().message());
  graph->bin = std::move(*bin);
  for (IRLayer &layer : graph->layers)
    if (layer.type == "Const") {
      if (llvm::Error e = bindConstant(layer, *graph))
        return std::move(e);
      graph->constants[layer.name] = &layer;
    }
  return graph;
}
