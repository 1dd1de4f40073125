//===- Safetensors.cpp - Validating one safetensors file --------*- C++ -*-===//
//
// The parser for a single `.safetensors` file. Checkpoint files come from
// the internet, so every field of the header is checked before anything
// points into the data: lengths against the file size, JSON types, dtypes,
// shapes against byte ranges, and that the tensors tile the data buffer
// exactly (see Safetensors.h for why gaps are rejected). Errors name the
// file, the tensor or byte offset, and what was expected. The data itself is
// never read here.
//
//===----------------------------------------------------------------------===//
#include "phiq/Params/Safetensors.h"

#include "Diagnostics.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <algorithm>

using namespace phiq::params;
using llvm::Expected;
using llvm::StringRef;
namespace json = llvm::json;
using phiq::params::detail::fileError;
using phiq::params::detail::jsonKindName;

static std::string shapeString(llvm::ArrayRef<int64_t> shape) {
  std::string text = "[";
  llvm::raw_string_ostream os(text);
  llvm::interleave(shape, os, ", ");
  os << "]";
  return text;
}

static std::string dtypeList() {
  static constexpr DType all[] = {
      DType::F64,     DType::F32, DType::F16, DType::BF16, DType::F8_E4M3,
      DType::F8_E5M2, DType::I64, DType::I32, DType::I16,  DType::I8,
      DType::U64,     DType::U32, DType::U16, DType::U8,   DType::Bool};
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::interleave(
      all, os, [&](DType dtype) { os << dtypeName(dtype); }, ", ");
  return text;
}

namespace {
/// Parses one header entry into a TensorRef. `dataStart` is the file offset
/// of the data buffer, `dataSize` its length.
class EntryParser {
public:
  EntryParser(StringRef path, StringRef file, uint64_t dataStart,
              uint64_t dataSize)
      : path(path), file(file), dataStart(dataStart), dataSize(dataSize) {}

  Expected<TensorRef> parse(StringRef name, const json::Value &value);

private:
  llvm::Error error(StringRef name, const llvm::Twine &message) const {
    return fileError(path, "tensor '" + name + "': " + message);
  }

  StringRef path;
  StringRef file;
  uint64_t dataStart;
  uint64_t dataSize;
};
} // namespace

Expected<TensorRef> EntryParser::parse(StringRef name,
                                       const json::Value &value) {
  const json::Object *entry = value.getAsObject();
  if (!entry)
    return error(name, llvm::Twine("header entry is ") + jsonKindName(value) +
                           ", expected an object with \"dtype\", \"shape\" "
                           "and \"data_offsets\"");

  TensorRef tensor;
  tensor.name = name.str();
  tensor.file = path.str();

  // dtype
  const json::Value *dtypeValue = entry->get("dtype");
  if (!dtypeValue)
    return error(name, "missing \"dtype\"");
  std::optional<StringRef> dtypeText = dtypeValue->getAsString();
  if (!dtypeText)
    return error(name, llvm::Twine("\"dtype\" is ") +
                           jsonKindName(*dtypeValue) + ", expected a string");
  std::optional<DType> dtype = parseDType(*dtypeText);
  if (!dtype)
    return error(name, "unknown dtype \"" + *dtypeText +
                           "\" (expected one of " + dtypeList() + ")");
  tensor.dtype = *dtype;

  // shape
  const json::Value *shapeValue = entry->get("shape");
  if (!shapeValue)
    return error(name, "missing \"shape\"");
  const json::Array *shape = shapeValue->getAsArray();
  if (!shape)
    return error(name, llvm::Twine("\"shape\" is ") +
                           jsonKindName(*shapeValue) +
                           ", expected an array of integers");
  for (auto [index, dimValue] : llvm::enumerate(*shape)) {
    std::optional<int64_t> dim = dimValue.getAsInteger();
    if (!dim)
      return error(name, llvm::formatv("shape[{0}] is {1}, expected an "
                                       "integer",
                                       index, jsonKindName(dimValue)));
    if (*dim < 0)
      return error(name, llvm::formatv("shape[{0}] is {1}, expected a "
                                       "dimension >= 0",
                                       index, *dim));
    tensor.shape.push_back(*dim);
  }

  // data_offsets
  const json::Value *offsetsValue = entry->get("data_offsets");
  if (!offsetsValue)
    return error(name, "missing \"data_offsets\"");
  const json::Array *offsets = offsetsValue->getAsArray();
  if (!offsets)
    return error(name, llvm::Twine("\"data_offsets\" is ") +
                           jsonKindName(*offsetsValue) +
                           ", expected an array [begin, end]");
  if (offsets->size() != 2)
    return error(name, llvm::formatv("\"data_offsets\" has {0} elements, "
                                     "expected 2: [begin, end]",
                                     offsets->size()));
  uint64_t bounds[2];
  for (unsigned i = 0; i < 2; ++i) {
    const json::Value &bound = (*offsets)[i];
    std::optional<uint64_t> offset = bound.getAsUINT64();
    if (!offset) {
      std::optional<int64_t> negative = bound.getAsInteger();
      if (negative)
        return error(name, llvm::formatv("data_offsets[{0}] is {1}, "
                                         "expected an offset >= 0",
                                         i, *negative));
      return error(name, llvm::formatv("data_offsets[{0}] is {1}, expected "
                                       "a non-negative integer",
                                       i, jsonKindName(bound)));
    }
    bounds[i] = *offset;
  }
  uint64_t begin = bounds[0], end = bounds[1];
  if (begin > end)
    return error(name, llvm::formatv("data_offsets [{0}, {1}]: begin is "
                                     "after end",
                                     begin, end));
  if (end > dataSize)
    return error(
        name, llvm::formatv("data_offsets [{0}, {1}]: end is past the end "
                            "of the file (data starts at byte {2} and "
                            "holds {3} bytes, so end must be <= {3}; end "
                            "would be file byte {4})",
                            begin, end, dataStart, dataSize, dataStart + end));

  // Size: the byte range must hold exactly numElements * dtypeSize.
  std::optional<int64_t> elements = int64_t(1);
  for (int64_t dim : tensor.shape)
    if (elements)
      elements = llvm::checkedMul(*elements, dim);
  std::optional<int64_t> bytes =
      elements
          ? llvm::checkedMul(*elements, static_cast<int64_t>(dtypeSize(*dtype)))
          : std::nullopt;
  if (!bytes)
    return error(name, "shape " + shapeString(tensor.shape) +
                           " has more elements than fit in 64 bits");
  if (static_cast<uint64_t>(*bytes) != end - begin)
    return error(name,
                 llvm::formatv("data_offsets [{0}, {1}] span {2} "
                               "bytes, but shape {3} of {4} needs {5} "
                               "bytes ({6} elements x {7})",
                               begin, end, end - begin,
                               shapeString(tensor.shape), dtypeName(*dtype),
                               *bytes, *elements, dtypeSize(*dtype)));

  tensor.fileOffset = dataStart + begin;
  tensor.data = llvm::ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(file.data()) + dataStart + begin,
      end - begin);
  return tensor;
}

static llvm::Error
parseMetadata(StringRef path, const json::Value &value,
              std::vector<std::pair<std::string, std::string>> &metadata) {
  const json::Object *object = value.getAsObject();
  if (!object)
    return fileError(path, llvm::Twine("\"__metadata__\" is ") +
                               jsonKindName(value) +
                               ", expected an object of strings");
  for (const auto &[key, entry] : *object) {
    std::optional<StringRef> text = entry.getAsString();
    if (!text)
      return fileError(path, "\"__metadata__\" value for \"" + key.str() +
                                 "\" is " + jsonKindName(entry) +
                                 ", expected a string");
    metadata.emplace_back(key.str(), text->str());
  }
  llvm::sort(metadata);
  return llvm::Error::success();
}

/// Checks that the tensors, sorted by offset, tile [0, dataSize) exactly.
static llvm::Error checkCoverage(StringRef path,
                                 const std::vector<TensorRef> &tensors,
                                 uint64_t dataStart, uint64_t dataSize) {
  uint64_t covered = 0;
  const TensorRef *previous = nullptr;
  for (const TensorRef &tensor : tensors) {
    uint64_t begin = tensor.fileOffset - dataStart;
    uint64_t end = begin + tensor.data.size();
    if (begin < covered)
      return fileError(
          path, llvm::formatv("tensors '{0}' (data_offsets [{1}, {2}]) and "
                              "'{3}' (data_offsets [{4}, {5}]) overlap",
                              previous->name, previous->fileOffset - dataStart,
                              covered, tensor.name, begin, end));
    if (begin > covered)
      return fileError(
          path, llvm::formatv("data bytes [{0}, {1}) (file bytes {2} to {3}) "
                              "before tensor '{4}' belong to no tensor; the "
                              "data buffer must be fully indexed, without "
                              "gaps",
                              covered, begin, dataStart + covered,
                              dataStart + begin - 1, tensor.name));
    // begin == covered. Empty tensors may sit at any boundary; the overlap
    // message names the last tensor that actually holds bytes.
    covered = end;
    if (!tensor.data.empty())
      previous = &tensor;
  }
  if (covered != dataSize)
    return fileError(
        path, llvm::formatv("the tensors end at data offset {0} but the "
                            "data buffer holds {1} bytes: the trailing {2} "
                            "bytes (from file byte {3}) belong to no tensor",
                            covered, dataSize, dataSize - covered,
                            dataStart + covered));
  return llvm::Error::success();
}

Expected<SafetensorsFile>
phiq::params::parseSafetensors(std::unique_ptr<llvm::MemoryBuffer> buffer,
                               StringRef path) {
  StringRef bytes = buffer->getBuffer();
  uint64_t fileSize = bytes.size();
  if (fileSize < 8)
    return fileError(path, llvm::formatv("file is {0} bytes, too short for "
                                         "the 8-byte header length at byte 0",
                                         fileSize));
  uint64_t headerSize = llvm::support::endian::read64le(bytes.data());
  if (headerSize > kMaxSafetensorsHeaderBytes)
    return fileError(path,
                     llvm::formatv("header length {0} (bytes 0-7) "
                                   "exceeds the limit of {1} bytes",
                                   headerSize, kMaxSafetensorsHeaderBytes));
  if (headerSize > fileSize - 8)
    return fileError(path, llvm::formatv("header length {0} (bytes 0-7) is "
                                         "larger than the file: only {1} "
                                         "bytes follow byte 8",
                                         headerSize, fileSize - 8));

  StringRef headerText = bytes.substr(8, headerSize);
  Expected<json::Value> header = json::parse(headerText);
  if (!header)
    return fileError(path, llvm::formatv("header (file bytes 8 to {0}) is "
                                         "not valid JSON: {1} (positions "
                                         "count from the start of the header)",
                                         8 + headerSize - 1,
                                         llvm::toString(header.takeError())));
  const json::Object *root = header->getAsObject();
  if (!root)
    return fileError(path, llvm::Twine("header (file bytes 8 to ") +
                               llvm::Twine(8 + headerSize - 1) + ") is " +
                               jsonKindName(*header) +
                               ", expected a JSON object");

  SafetensorsFile result;
  uint64_t dataStart = 8 + headerSize;
  uint64_t dataSize = fileSize - dataStart;
  result.info.path = path.str();
  result.info.bytes = llvm::ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
  result.info.dataOffset = dataStart;

  // Visit entries by name so the first error reported does not depend on
  // hash order.
  std::vector<StringRef> keys;
  keys.reserve(root->size());
  for (const auto &entry : *root)
    keys.push_back(entry.first);
  llvm::sort(keys);

  EntryParser parser(path, bytes, dataStart, dataSize);
  for (StringRef key : keys) {
    const json::Value &value = *root->get(key);
    if (key == "__metadata__") {
      if (llvm::Error error = parseMetadata(path, value, result.info.metadata))
        return std::move(error);
      continue;
    }
    Expected<TensorRef> tensor = parser.parse(key, value);
    if (!tensor)
      return tensor.takeError();
    result.tensors.push_back(std::move(*tensor));
  }

  llvm::stable_sort(result.tensors, [](const TensorRef &a, const TensorRef &b) {
    return std::make_pair(a.fileOffset, a.data.size()) <
           std::make_pair(b.fileOffset, b.data.size());
  });
  if (llvm::Error error =
          checkCoverage(path, result.tensors, dataStart, dataSize))
    return std::move(error);

  // Only mapped bytes may be released (releasePages); a copied small file
  // lives in heap memory, where dropping pages would lose the data.
  bool mapped = buffer->getBufferKind() == llvm::MemoryBuffer::MemoryBuffer_MMap;
  for (TensorRef &tensor : result.tensors)
    tensor.mapped = mapped;
  result.buffer = std::move(buffer);
  return result;
}

Expected<SafetensorsFile> phiq::params::mapSafetensorsFile(StringRef path) {
  // No null terminator and not volatile, so LLVM maps the file instead of
  // copying it (it copies only files of a few pages).
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false,
                                  /*IsVolatile=*/false);
  if (!buffer)
    return llvm::createStringError(buffer.getError(),
                                   "cannot open '" + path +
                                       "': " + buffer.getError().message());
  return parseSafetensors(std::move(*buffer), path);
}
