//===- GGUFReader.cpp - Parsing the metadata of a GGUF file -----*- C++ -*-===//
//
// A single forward pass over the header, the KV pairs and the tensor infos
// of a mapped GGUF file, then range checks of the tensor data against the
// file and against each other. Every read goes through one bounds check;
// every count is multiplied by the fewest bytes one item can take and
// compared with the bytes left before anything is allocated, so a 40-byte
// file claiming 2^60 array items fails instead of allocating. See
// GGUFReader.h for what is accepted.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/GGUF/GGUFReader.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <numeric>

using namespace phiq::gguf;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
using llvm::Twine;

/// Fewest bytes a KV pair takes: a one-byte key, its type and a u8 value.
static constexpr uint64_t kMinKeyValueBytes = 8 + 1 + 4 + 1;
/// Fewest bytes a tensor info takes: an empty name, n_dims, one dim, the
/// type and the offset.
static constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;

/// Small files are read into memory rather than mapped; this alignment of
/// that copy keeps tensor data as aligned as a mapping's page start would.
static constexpr uint64_t kMaxDataAlignment = 4096;

static Error fileError(StringRef path, const Twine &message) {
  return llvm::createStringError(
      std::make_error_code(std::errc::invalid_argument), path + ": " + message);
}

uint64_t GGUFTensor::getNumElements() const {
  uint64_t count = 1;
  for (uint64_t dim : dims)
    count *= dim;
  return count;
}

namespace phiq::gguf {
/// The parser; a friend of GGUFFile so that it fills the fields directly.
class GGUFParser {
public:
  explicit GGUFParser(GGUFFile &file)
      : file(file),
        bytes(reinterpret_cast<const uint8_t *>(file.buffer->getBufferStart()),
              file.buffer->getBufferSize()) {}

  Error parse();

private:
  /// A tensor info as read, before its data range is checked.
  struct TensorInfo {
    std::string name;
    GGMLType type;
    llvm::SmallVector<uint64_t, 4> dims;
    uint64_t offset;
    uint64_t byteSize;
    uint64_t infoOffset;
  };

  Error fail(uint64_t at, const Twine &message) const {
    return fileError(file.path, "byte " + Twine(at) + ": " + message);
  }
  uint64_t left() const { return bytes.size() - pos; }
  /// Fails unless `count` bytes are left, describing them as `what`.
  Error need(uint64_t count, const Twine &what) const {
    if (count <= left())
      return Error::success();
    return fail(pos, what + " needs " + Twine(count) + " bytes but only " +
                         Twine(left()) + " are left in the file");
  }

  template <typename T> Expected<T> read(const Twine &what) {
    if (Error error = need(sizeof(T), what))
      return std::move(error);
    const uint8_t *at = bytes.data() + pos;
    pos += sizeof(T);
    if constexpr (std::is_same_v<T, bool>) {
      return *at != 0; // ggml reads any non-zero byte as true
    } else if constexpr (std::is_same_v<T, float>) {
      return llvm::bit_cast<float>(llvm::support::endian::read32le(at));
    } else if constexpr (std::is_same_v<T, double>) {
      return llvm::bit_cast<double>(llvm::support::endian::read64le(at));
    } else {
      return llvm::support::endian::read<T, llvm::endianness::little>(at);
    }
  }

  Expected<std::string> readString(const Twine &what) {
    uint64_t start = pos;
    Expected<uint64_t> length = read<uint64_t>(what + " length");
    if (!length)
      return length.takeError();
    if (*length > kMaxStringBytes)
      return fail(start, what + " is " + Twine(*length) +
                             " bytes long, more than the limit of " +
                             Twine(kMaxStringBytes));
    if (Error error = need(*length, what))
      return std::move(error);
    std::string text(reinterpret_cast<const char *>(bytes.data() + pos),
                     *length);
    pos += *length;
    return text;
  }

  Expected<GGUFValueType> readValueType(const Twine &what) {
    uint64_t start = pos;
    Expected<uint32_t> id = read<uint32_t>(what);
    if (!id)
      return id.takeError();
    std::optional<GGUFValueType> type = lookupGGUFValueType(*id);
    if (!type)
      return fail(start, what + " is " + Twine(*id) +
                             ", expected a GGUF value type (0 to 12)");
    return *type;
  }

  template <typename T>
  Expected<GGUFValue> readArray(uint64_t count, const Twine &what) {
    std::vector<T> items;
    items.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      Expected<T> item = [&]() -> Expected<T> {
        if constexpr (std::is_same_v<T, std::string>)
          return readString(what + " item " + Twine(i));
        else
          return read<T>(what + " item " + Twine(i));
      }();
      if (!item)
        return item.takeError();
      items.push_back(std::move(*item));
    }
    return GGUFValue(std::move(items));
  }

  template <typename T> Expected<GGUFValue> readScalar(const Twine &what) {
    Expected<T> value = [&]() -> Expected<T> {
      if constexpr (std::is_same_v<T, std::string>)
        return readString(what);
      else
        return read<T>(what);
    }();
    if (!value)
      return value.takeError();
    return GGUFValue(std::move(*value));
  }

  /// Calls `callback.template operator()<T>()` with the C++ type of `type`.
  template <typename Callback>
  static auto dispatch(GGUFValueType type, Callback &&callback) {
    switch (type) {
    case GGUFValueType::UInt8:
      return callback(uint8_t());
    case GGUFValueType::Int8:
      return callback(int8_t());
    case GGUFValueType::UInt16:
      return callback(uint16_t());
    case GGUFValueType::Int16:
      return callback(int16_t());
    case GGUFValueType::UInt32:
      return callback(uint32_t());
    case GGUFValueType::Int32:
      return callback(int32_t());
    case GGUFValueType::Float32:
      return callback(float());
    case GGUFValueType::Bool:
      return callback(bool());
    case GGUFValueType::UInt64:
      return callback(uint64_t());
    case GGUFValueType::Int64:
      return callback(int64_t());
    case GGUFValueType::Float64:
      return callback(double());
    case GGUFValueType::String:
    case GGUFValueType::Array:
      break;
    }
    return callback(std::string());
  }

  Expected<GGUFValue> readValue(const Twine &what);
  Error parseHeader();
  Error parseKeyValues();
  Error parseAlignment();
  Error parseTensorInfos();
  Error placeTensors();

  GGUFFile &file;
  llvm::ArrayRef<uint8_t> bytes;
  uint64_t pos = 0;
  uint64_t tensorCount = 0;
  uint64_t kvCount = 0;
  std::vector<TensorInfo> infos;
};
} // namespace phiq::gguf

Error GGUFParser::parseHeader() {
  if (Error error = need(4, "the GGUF magic"))
    return error;
  if (llvm::support::endian::read32le(bytes.data()) != kGGUFMagic) {
    std::string shown;
    for (uint8_t c : bytes.take_front(4))
      shown += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
    return fail(0, "bad magic '" + shown + "', expected 'GGUF'");
  }
  pos = 4;
  Expected<uint32_t> version = read<uint32_t>("the version");
  if (!version)
    return version.takeError();
  if (*version != 0 && (*version & 0xFFFF) == 0)
    return fail(4, llvm::formatv("version {0:x8} looks byte-swapped: "
                                 "big-endian GGUF files are not supported",
                                 *version));
  if (*version < kGGUFMinReadVersion || *version > kGGUFVersion)
    return fail(4, llvm::formatv("unsupported GGUF version {0}, expected {1} "
                                 "or {2}",
                                 *version, kGGUFMinReadVersion, kGGUFVersion));
  file.version = *version;

  Expected<uint64_t> tensors = read<uint64_t>("the tensor count");
  if (!tensors)
    return tensors.takeError();
  Expected<uint64_t> kvs = read<uint64_t>("the KV count");
  if (!kvs)
    return kvs.takeError();
  tensorCount = *tensors;
  kvCount = *kvs;
  // Both counts are bounded by the bytes that follow before any reserve().
  if (kvCount > left() / kMinKeyValueBytes)
    return fail(16, llvm::formatv("KV count {0} cannot fit in the {1} bytes "
                                  "left (a KV pair takes at least {2})",
                                  kvCount, left(), kMinKeyValueBytes));
  uint64_t afterKVs = left() - kvCount * kMinKeyValueBytes;
  if (tensorCount > afterKVs / kMinTensorInfoBytes)
    return fail(8, llvm::formatv(
                       "tensor count {0} cannot fit in the {1} bytes left "
                       "after the KV pairs (a tensor info takes at least {2})",
                       tensorCount, afterKVs, kMinTensorInfoBytes));
  return Error::success();
}

Expected<GGUFValue> GGUFParser::readValue(const Twine &what) {
  Expected<GGUFValueType> type = readValueType(what + " type");
  if (!type)
    return type.takeError();
  if (*type != GGUFValueType::Array)
    return dispatch(*type,
                    [&](auto tag) { return readScalar<decltype(tag)>(what); });

  uint64_t elementOffset = pos;
  Expected<GGUFValueType> element = readValueType(what + " element type");
  if (!element)
    return element.takeError();
  if (*element == GGUFValueType::Array)
    return fail(elementOffset, what + " is an array of arrays, which ggml "
                                      "does not load");
  uint64_t countOffset = pos;
  Expected<uint64_t> count = read<uint64_t>(what + " array count");
  if (!count)
    return count.takeError();
  uint64_t minBytes = getGGUFMinEncodedBytes(*element);
  if (*count > kMaxArrayElements || *count > left() / minBytes)
    return fail(countOffset,
                llvm::formatv("{0}: array of {1} {2} cannot fit in the {3} "
                              "bytes left (each takes at least {4})",
                              what.str(), *count,
                              getGGUFValueTypeName(*element), left(),
                              minBytes));
  return dispatch(*element, [&](auto tag) {
    return readArray<decltype(tag)>(*count, what);
  });
}

Error GGUFParser::parseKeyValues() {
  file.keyValues.reserve(kvCount);
  for (uint64_t i = 0; i < kvCount; ++i) {
    uint64_t start = pos;
    Expected<std::string> key = readString("key #" + Twine(i));
    if (!key)
      return key.takeError();
    if (key->empty())
      return fail(start, "key #" + Twine(i) + " is empty");
    auto [it, inserted] = file.keyIndex.try_emplace(*key, i);
    if (!inserted)
      return fail(start,
                  llvm::formatv("key '{0}' is a duplicate (first at byte {1})",
                                *key, file.keyValues[it->second].fileOffset));
    Expected<GGUFValue> value = readValue("key '" + *key + "'");
    if (!value)
      return value.takeError();
    file.keyValues.push_back({std::move(*key), std::move(*value), start});
  }
  return Error::success();
}

Error GGUFParser::parseAlignment() {
  auto it = file.keyIndex.find(kAlignmentKey);
  if (it == file.keyIndex.end())
    return Error::success();
  const GGUFKeyValue &kv = file.keyValues[it->second];
  const uint32_t *alignment = kv.value.getIf<uint32_t>();
  if (!alignment)
    return fail(kv.fileOffset,
                llvm::formatv("key '{0}' has type {1}, expected u32",
                              kAlignmentKey, kv.value.getTypeString()));
  if (!llvm::isPowerOf2_32(*alignment))
    return fail(kv.fileOffset,
                llvm::formatv("key '{0}' is {1}, expected a power of two",
                              kAlignmentKey, *alignment));
  file.alignment = *alignment;
  return Error::success();
}

Error GGUFParser::parseTensorInfos() {
  infos.reserve(tensorCount);
  llvm::StringMap<uint64_t> firstSeen;
  for (uint64_t i = 0; i < tensorCount; ++i) {
    TensorInfo info;
    info.infoOffset = pos;
    Expected<std::string> name = readString("tensor #" + Twine(i) + " name");
    if (!name)
      return name.takeError();
    info.name = std::move(*name);
    std::string what = "tensor '" + info.name + "'";
    if (info.name.size() > kMaxTensorNameBytes)
      return fail(info.infoOffset,
                  llvm::formatv("{0}: name is {1} bytes, llama.cpp accepts at "
                                "most {2}",
                                what, info.name.size(), kMaxTensorNameBytes));
    auto [it, inserted] = firstSeen.try_emplace(info.name, info.infoOffset);
    if (!inserted)
      return fail(info.infoOffset,
                  llvm::formatv("{0} is a duplicate (first at byte {1})", what,
                                it->second));

    uint64_t dimsOffset = pos;
    Expected<uint32_t> rank = read<uint32_t>(what + " n_dims");
    if (!rank)
      return rank.takeError();
    if (*rank == 0 || *rank > kMaxDims)
      return fail(dimsOffset, llvm::formatv("{0}: n_dims is {1}, expected 1 "
                                            "to {2}",
                                            what, *rank, kMaxDims));
    for (uint32_t d = 0; d < *rank; ++d) {
      Expected<uint64_t> dim = read<uint64_t>(what + " dim " + Twine(d));
      if (!dim)
        return dim.takeError();
      info.dims.push_back(*dim);
    }

    uint64_t typeOffset = pos;
    Expected<uint32_t> typeId = read<uint32_t>(what + " type");
    if (!typeId)
      return typeId.takeError();
    if (!lookupGGMLType(*typeId))
      return fail(typeOffset,
                  llvm::formatv("{0}: unknown ggml type {1}", what, *typeId));
    info.type = static_cast<GGMLType>(*typeId);
    Expected<uint64_t> size = computeTensorByteSize(info.type, info.dims);
    if (!size)
      return fail(dimsOffset, what + ": " + llvm::toString(size.takeError()));
    info.byteSize = *size;

    uint64_t offsetOffset = pos;
    Expected<uint64_t> offset = read<uint64_t>(what + " offset");
    if (!offset)
      return offset.takeError();
    if (*offset % file.alignment != 0)
      return fail(offsetOffset,
                  llvm::formatv("{0}: offset {1} is not a multiple of the "
                                "alignment {2}",
                                what, *offset, file.alignment));
    info.offset = *offset;
    infos.push_back(std::move(info));
  }
  return Error::success();
}

Error GGUFParser::placeTensors() {
  uint64_t fileSize = bytes.size();
  std::optional<uint64_t> dataOffset = alignUp(pos, file.alignment);
  if (!infos.empty() && (!dataOffset || *dataOffset > fileSize))
    return fail(pos, llvm::formatv("the data section, aligned to {0}, starts "
                                   "past the end of the file ({1} bytes)",
                                   file.alignment, fileSize));
  file.dataOffset = std::min(dataOffset.value_or(fileSize), fileSize);

  // [begin, end) of each tensor in the file.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  ranges.reserve(infos.size());
  for (const TensorInfo &info : infos) {
    std::optional<uint64_t> begin =
        llvm::checkedAddUnsigned(file.dataOffset, info.offset);
    std::optional<uint64_t> end =
        begin ? llvm::checkedAddUnsigned(*begin, info.byteSize) : std::nullopt;
    if (!end || *end > fileSize)
      return fail(info.infoOffset,
                  llvm::formatv("tensor '{0}': {1} {2} bytes at offset {3} "
                                "(data section at byte {4}) run past the end "
                                "of the file ({5} bytes)",
                                info.name, getGGMLTypeName(info.type),
                                info.byteSize, info.offset, file.dataOffset,
                                fileSize));
    ranges.emplace_back(*begin, *end);
  }

  std::vector<size_t> order(infos.size());
  std::iota(order.begin(), order.end(), 0);
  llvm::stable_sort(order, [&](size_t a, size_t b) {
    return ranges[a].first < ranges[b].first;
  });
  for (size_t i = 1; i < order.size(); ++i) {
    size_t previous = order[i - 1], current = order[i];
    if (ranges[current].first < ranges[previous].second)
      return fail(infos[current].infoOffset,
                  llvm::formatv("tensor '{0}': data [{1}, {2}) overlaps "
                                "tensor '{3}' [{4}, {5})",
                                infos[current].name, ranges[current].first,
                                ranges[current].second, infos[previous].name,
                                ranges[previous].first,
                                ranges[previous].second));
  }

  file.tensors.reserve(infos.size());
  for (auto [info, range] : llvm::zip_equal(infos, ranges)) {
    file.tensorIndex[info.name] = file.tensors.size();
    file.tensors.emplace_back(std::move(info.name), info.type,
                              std::move(info.dims), info.offset,
                              bytes.slice(range.first, info.byteSize));
  }
  return Error::success();
}

Error GGUFParser::parse() {
  if (Error error = parseHeader())
    return error;
  if (Error error = parseKeyValues())
    return error;
  if (Error error = parseAlignment())
    return error;
  if (Error error = parseTensorInfos())
    return error;
  return placeTensors();
}

Expected<std::unique_ptr<GGUFFile>> GGUFFile::open(StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false,
                                  /*IsVolatile=*/false,
                                  llvm::Align(kMaxDataAlignment));
  if (!buffer)
    return fileError(path, "cannot open: " + buffer.getError().message());
  return parse(std::move(*buffer), path);
}

Expected<std::unique_ptr<GGUFFile>>
GGUFFile::parse(std::unique_ptr<llvm::MemoryBuffer> buffer, StringRef path) {
  std::unique_ptr<GGUFFile> file(new GGUFFile());
  file->buffer = std::move(buffer);
  file->path = path.str();
  GGUFParser parser(*file);
  if (Error error = parser.parse())
    return std::move(error);
  return std::move(file);
}

const GGUFValue *GGUFFile::lookup(StringRef key) const {
  auto it = keyIndex.find(key);
  return it == keyIndex.end() ? nullptr : &keyValues[it->second].value;
}

const GGUFTensor *GGUFFile::lookupTensor(StringRef name) const {
  auto it = tensorIndex.find(name);
  return it == tensorIndex.end() ? nullptr : &tensors[it->second];
}

Expected<int64_t> GGUFFile::getInteger(StringRef key) const {
  const GGUFValue *value = lookup(key);
  if (!value)
    return missingKeyError(key);
  if (std::optional<int64_t> integer = value->getAsInteger())
    return *integer;
  return typeMismatchError(key, *value, "an integer that fits int64");
}

Error GGUFFile::missingKeyError(StringRef key) const {
  return fileError(path, "missing key '" + key + "'");
}

Error GGUFFile::typeMismatchError(StringRef key, const GGUFValue &value,
                                  StringRef expected) const {
  std::string actual = value.getTypeString();
  if (value.getType() != GGUFValueType::Array &&
      value.getAsInteger().has_value()) {
    std::string shown;
    llvm::raw_string_ostream os(shown);
    value.print(os);
    actual += " " + shown;
  }
  return fileError(path, "key '" + key + "' has type " + actual +
                             ", expected " + expected);
}
