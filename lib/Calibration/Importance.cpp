//===- Importance.cpp - Calibration statistics and imatrix files ---------===//
//
// Readers and writers of the three statistics files described in
// Importance.h. Every writer goes through a temporary file renamed over the
// destination, so a failed write never leaves a partial file.
//
//===----------------------------------------------------------------------===//
#include "phiq/Calibration/Importance.h"

#include "phiq/Params/ParamStore.h"
#include "phiq/Params/Safetensors.h"
#include "phiq/Target/GGUF/GGUFReader.h"
#include "phiq/Target/GGUF/GGUFWriter.h"
#include "phiq/Target/GGUF/TensorNames.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/EndianStream.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <map>
#include <mutex>

using namespace phiq::calib;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace params = ::phiq::params;
namespace gguf = ::phiq::gguf;

static Error fileError(StringRef path, const llvm::Twine &message) {
  return llvm::createStringError(
      std::make_error_code(std::errc::invalid_argument),
      path + ": " + message);
}

/// Writes `write(os)` to `path` through a temporary file next to it.
static Error writeAtomically(StringRef path,
                             llvm::function_ref<void(llvm::raw_ostream &)> write) {
  auto temp = llvm::sys::fs::TempFile::create(path + ".tmp-%%%%%%");
  if (!temp)
    return fileError(path, "cannot create a temporary file next to it: " +
                               llvm::toString(temp.takeError()));
  {
    llvm::raw_fd_ostream os(temp->FD, /*shouldClose=*/false);
    write(os);
    os.flush();
    if (os.has_error()) {
      std::string message = os.error().message();
      os.clear_error();
      llvm::consumeError(temp->discard());
      return fileError(path, "cannot write: " + message);
    }
  }
  if (Error e = temp->keep(path))
    return fileError(path, "cannot write: " + llvm::toString(std::move(e)));
  return Error::success();
}

static void writeFloats(llvm::raw_ostream &os, llvm::ArrayRef<float> values) {
  for (float v : values)
    llvm::support::endian::write<float>(os, v, llvm::endianness::little);
}

//===----------------------------------------------------------------------===//
// PhiQ's statistics store
//===----------------------------------------------------------------------===//

Error phiq::calib::writeStatisticsFile(
    StringRef path, llvm::ArrayRef<WeightStatistics> weights,
    llvm::ArrayRef<std::pair<std::string, std::string>> metadata) {
  std::vector<params::TensorLayout> layouts;
  std::vector<llvm::ArrayRef<float>> data;
  for (const WeightStatistics &w : weights) {
    llvm::SmallVector<int64_t, 4> vec = {w.cols}, one = {1}, mat = {w.cols, w.cols};
    if (w.nmat > 1) {
      vec.insert(vec.begin(), w.nmat);
      one = {w.nmat};
      mat.insert(mat.begin(), w.nmat);
    }
    layouts.push_back({w.key + ".in_sumsq", params::DType::F32, vec});
    data.push_back(w.sumsq);
    layouts.push_back({w.key + ".in_absmax", params::DType::F32, vec});
    data.push_back(w.absmax);
    layouts.push_back({w.key + ".count", params::DType::F32, one});
    data.push_back(w.counts);
    if (!w.hessian.empty()) {
      layouts.push_back({w.key + ".hessian", params::DType::F32, mat});
      data.push_back(w.hessian);
    }
  }
  for (auto [layout, values] : llvm::zip_equal(layouts, data))
    if (layout.byteSize() != values.size() * sizeof(float))
      return fileError(path, "statistics '" + layout.name + "' hold " +
                                 llvm::Twine(values.size()) +
                                 " values, their shape needs " +
                                 llvm::Twine(layout.byteSize() / 4));
  uint64_t dataBytes = 0;
  std::string header =
      params::buildSafetensorsHeader(layouts, metadata, dataBytes);
  return writeAtomically(path, [&](llvm::raw_ostream &os) {
    os << header;
    for (llvm::ArrayRef<float> values : data)
      writeFloats(os, values);
  });
}

//===----------------------------------------------------------------------===//
// llama.cpp's imatrix files
//===----------------------------------------------------------------------===//

Expected<std::vector<ImatrixEntry>>
phiq::calib::toImatrixEntries(llvm::ArrayRef<WeightStatistics> weights) {
  // std::map: llama.cpp sorts its entries by name, so do we.
  std::map<std::string, ImatrixEntry> byName;
  // Per-expert checkpoint tensors: (stacked name) -> expert -> statistics.
  std::map<std::string, std::map<int, const WeightStatistics *>> experts;
  for (const WeightStatistics &w : weights) {
    std::optional<gguf::TensorName> name = gguf::ggufTensorName(w.key);
    if (!name)
      return llvm::createStringError(
          "statistics of '" + w.key +
          "' have no llama.cpp (GGUF) tensor name; an imatrix file cannot "
          "hold them");
    if (name->expert >= 0) {
      experts[name->name][name->expert] = &w;
      continue;
    }
    ImatrixEntry entry{name->name, w.cols, w.sumsq, w.counts};
    byName[name->name] = std::move(entry);
  }
  for (auto &[name, slices] : experts) {
    const int numExperts = slices.rbegin()->first + 1;
    const int64_t cols = slices.begin()->second->cols;
    ImatrixEntry entry{name, cols,
                       std::vector<float>(size_t(numExperts * cols), 0.0f),
                       std::vector<float>(size_t(numExperts), 0.0f)};
    for (auto &[e, w] : slices) {
      if (w->cols != cols || w->nmat != 1)
        return llvm::createStringError(
            "expert statistics of '" + name + "' disagree in shape ('" +
            w->key + "' has " + llvm::Twine(w->cols) + " columns, not " +
            llvm::Twine(cols) + ")");
      std::copy(w->sumsq.begin(), w->sumsq.end(),
                entry.sums.begin() + e * cols);
      entry.counts[e] = w->counts[0];
    }
    byName[name] = std::move(entry);
  }
  std::vector<ImatrixEntry> out;
  for (auto &[name, entry] : byName)
    out.push_back(std::move(entry));
  return out;
}

Error phiq::calib::writeImatrixGGUF(StringRef path,
                                    llvm::ArrayRef<ImatrixEntry> entries,
                                    const ImatrixInfo &info) {
  gguf::GGUFWriter writer;
  auto check = [&](Error e) -> Error {
    if (e)
      return fileError(path, llvm::toString(std::move(e)));
    return Error::success();
  };
  if (Error e = check(writer.addKV("general.type", "imatrix")))
    return e;
  if (Error e = check(writer.addKV("imatrix.datasets", info.datasets)))
    return e;
  if (Error e = check(writer.addKV("imatrix.chunk_count", info.chunkCount)))
    return e;
  if (Error e = check(writer.addKV("imatrix.chunk_size", info.chunkSize)))
    return e;
  for (const ImatrixEntry &entry : entries) {
    const uint64_t nmat = entry.counts.size();
    auto fill = [](llvm::ArrayRef<float> values) {
      return [values](llvm::MutableArrayRef<uint8_t> out) {
        std::memcpy(out.data(), values.data(), out.size());
        return Error::success();
      };
    };
    if (Error e = check(writer.addTensor(
            entry.name + ".in_sum2", gguf::GGMLType::F32,
            {uint64_t(entry.cols), nmat}, entry.sums.size() * sizeof(float),
            fill(entry.sums))))
      return e;
    if (Error e = check(writer.addTensor(entry.name + ".counts",
                                         gguf::GGMLType::F32, {1, nmat},
                                         nmat * sizeof(float),
                                         fill(entry.counts))))
      return e;
  }
  return writer.write(path);
}

Error phiq::calib::writeImatrixLegacy(StringRef path,
                                      llvm::ArrayRef<ImatrixEntry> entries,
                                      const ImatrixInfo &info) {
  using llvm::support::endian::write;
  constexpr auto little = llvm::endianness::little;
  const float chunk = float(std::max<uint32_t>(info.chunkSize, 1));
  return writeAtomically(path, [&](llvm::raw_ostream &os) {
    // llama.cpp skips entries without any data; so do we.
    int32_t stored = 0;
    for (const ImatrixEntry &entry : entries)
      stored += llvm::any_of(entry.counts, [](float c) { return c > 0; });
    write<int32_t>(os, stored, little);
    for (const ImatrixEntry &entry : entries) {
      float maxCount = *llvm::max_element(entry.counts);
      if (maxCount <= 0)
        continue;
      write<int32_t>(os, int32_t(entry.name.size()), little);
      os << entry.name;
      // ncall: chunks of the largest count, rounded up so it is never 0.
      int32_t ncall = int32_t((int64_t(maxCount) + int64_t(chunk) - 1) /
                              int64_t(chunk));
      write<int32_t>(os, ncall, little);
      write<int32_t>(os, int32_t(entry.sums.size()), little);
      for (size_t i = 0; i < entry.sums.size(); ++i) {
        float count = entry.counts[i / size_t(entry.cols)];
        // A matrix without data stores 1 (llama.cpp's "partial data").
        float mean = count > 0 ? entry.sums[i] / count : 1.0f;
        write<float>(os, mean * float(ncall), little);
      }
    }
    write<int32_t>(os, int32_t(info.chunkCount), little);
    std::string dataset = info.datasets.empty() ? "" : info.datasets.back();
    write<int32_t>(os, int32_t(dataset.size()), little);
    os << dataset;
  });
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

namespace {

/// Sequential little-endian reads with bounds checks (legacy .dat).
struct Cursor {
  StringRef path;
  StringRef bytes;
  size_t offset = 0;

  Expected<int32_t> readI32(StringRef what) {
    if (bytes.size() - offset < 4)
      return fileError(path, llvm::formatv("truncated at byte {0} reading {1}",
                                           offset, what)
                                 .str());
    int32_t v = llvm::support::endian::read32le(bytes.data() + offset);
    offset += 4;
    return v;
  }
};

Error readLegacy(StringRef path, StringRef bytes,
                 llvm::StringMap<ImatrixEntry> &table) {
  Cursor in{path, bytes};
  auto count = in.readI32("the entry count");
  if (!count)
    return count.takeError();
  if (*count < 0)
    return fileError(path, "negative entry count " + llvm::Twine(*count) +
                               "; not a llama.cpp imatrix file");
  for (int32_t i = 0; i < *count; ++i) {
    auto len = in.readI32("a name length");
    if (!len)
      return len.takeError();
    if (*len <= 0 || size_t(*len) > bytes.size() - in.offset)
      return fileError(path, llvm::formatv("entry {0}: bad name length {1}",
                                           i, *len)
                                 .str());
    std::string name = bytes.substr(in.offset, size_t(*len)).str();
    in.offset += size_t(*len);
    auto ncall = in.readI32("ncall of '" + name + "'");
    if (!ncall)
      return ncall.takeError();
    auto nval = in.readI32("the value count of '" + name + "'");
    if (!nval)
      return nval.takeError();
    if (*nval <= 0 || size_t(*nval) * 4 > bytes.size() - in.offset)
      return fileError(path, llvm::formatv("entry '{0}': {1} values do not "
                                           "fit in the file",
                                           name, *nval)
                                 .str());
    ImatrixEntry entry;
    entry.name = name;
    entry.cols = *nval; // the matrix count is only known at lookup
    entry.sums.resize(size_t(*nval));
    std::memcpy(entry.sums.data(), bytes.data() + in.offset,
                size_t(*nval) * 4);
    in.offset += size_t(*nval) * 4;
    // The values are mean * ncall; a count of ncall makes sum/count the mean.
    entry.counts = {float(std::max(*ncall, 1))};
    if (!table.try_emplace(name, std::move(entry)).second)
      return fileError(path, "entry '" + name + "' appears twice");
  }
  // The chunk count and dataset name that follow are informational.
  return Error::success();
}

Error readGGUF(StringRef path, llvm::StringMap<ImatrixEntry> &table) {
  auto file = gguf::GGUFFile::open(path);
  if (!file)
    return file.takeError();
  auto type = (*file)->getOptional<std::string>("general.type");
  if (!type)
    return type.takeError();
  if (!*type || **type != "imatrix")
    return fileError(path, "is a GGUF file but not an imatrix (general.type "
                           "is '" +
                               (*type ? **type : std::string("missing")) +
                               "', expected 'imatrix')");
  for (const gguf::GGUFTensor &tensor : (*file)->getTensors()) {
    StringRef name = tensor.getName();
    if (!name.consume_back(".in_sum2"))
      continue;
    const gguf::GGUFTensor *counts =
        (*file)->lookupTensor((name + ".counts").str());
    if (!counts)
      return fileError(path, "tensor '" + tensor.getName() +
                                 "' has no '.counts' companion");
    if (tensor.getType() != gguf::GGMLType::F32 ||
        counts->getType() != gguf::GGMLType::F32)
      return fileError(path, "imatrix tensors of '" + name +
                                 "' must be F32");
    llvm::ArrayRef<uint64_t> dims = tensor.getDims();
    const uint64_t nmat = dims.size() > 1 ? dims[1] : 1;
    if (counts->getNumElements() != nmat)
      return fileError(path, llvm::formatv("'{0}' has {1} matrices but {2} "
                                           "counts",
                                           name, nmat,
                                           counts->getNumElements())
                                 .str());
    ImatrixEntry entry;
    entry.name = name.str();
    entry.cols = int64_t(dims[0]);
    entry.sums.resize(size_t(tensor.getNumElements()));
    std::memcpy(entry.sums.data(), tensor.data().data(),
                entry.sums.size() * 4);
    entry.counts.resize(size_t(nmat));
    std::memcpy(entry.counts.data(), counts->data().data(), nmat * 4);
    table[entry.name] = std::move(entry);
  }
  return Error::success();
}

Error readStatistics(StringRef path, llvm::StringMap<ImatrixEntry> &table) {
  auto store = params::openSafetensors(path);
  if (!store)
    return store.takeError();
  auto floats = [&](const params::TensorRef &t) {
    std::vector<float> out(size_t(t.numElements()));
    params::convertToF32(t.dtype, t.data.data(), out.data(),
                         int64_t(out.size()));
    return out;
  };
  for (StringRef name : (*store)->names()) {
    StringRef key = name;
    if (!key.consume_back(".in_sumsq"))
      continue;
    const params::TensorRef *sums = (*store)->lookup(name);
    const params::TensorRef *count = (*store)->lookup((key + ".count").str());
    if (!count)
      return fileError(path, "statistics '" + name +
                                 "' have no '.count' companion");
    if (sums->shape.empty() || sums->shape.size() > 2)
      return fileError(path, "statistics '" + name +
                                 "' must be [cols] or [experts, cols]");
    ImatrixEntry entry;
    entry.name = key.str();
    entry.cols = sums->shape.back();
    entry.sums = floats(*sums);
    entry.counts = floats(*count);
    const int64_t nmat = sums->shape.size() == 2 ? sums->shape[0] : 1;
    if (int64_t(entry.counts.size()) != nmat)
      return fileError(path, llvm::formatv("'{0}' has {1} matrices but {2} "
                                           "counts",
                                           key, nmat, entry.counts.size())
                                 .str());
    table[entry.name] = std::move(entry);
  }
  return Error::success();
}

} // namespace

Expected<std::unique_ptr<ImportanceTable>>
ImportanceTable::open(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fileError(path, "cannot open the importance file: " +
                               buffer.getError().message());
  StringRef bytes = (*buffer)->getBuffer();
  auto table = std::unique_ptr<ImportanceTable>(new ImportanceTable());
  table->filePath = path.str();
  Error error = Error::success();
  if (bytes.starts_with("GGUF")) {
    table->fileFormat = Format::GGUFImatrix;
    error = readGGUF(path, table->table);
  } else if (bytes.size() > 9 && bytes[8] == '{' &&
             llvm::support::endian::read64le(bytes.data()) < bytes.size()) {
    table->fileFormat = Format::PhiQStatistics;
    error = readStatistics(path, table->table);
  } else {
    table->fileFormat = Format::LegacyImatrix;
    error = readLegacy(path, bytes, table->table);
  }
  if (error)
    return std::move(error);
  if (table->table.empty())
    return fileError(path, "holds no importance statistics");
  return table;
}

std::pair<const ImatrixEntry *, int>
ImportanceTable::find(StringRef key) const {
  auto it = table.find(key);
  if (it != table.end())
    return {&it->second, -1};
  if (std::optional<gguf::TensorName> name = gguf::ggufTensorName(key)) {
    it = table.find(name->name);
    if (it != table.end())
      return {&it->second, name->expert};
  }
  return {nullptr, -1};
}

bool ImportanceTable::contains(StringRef key) const {
  return find(key).first != nullptr;
}

Expected<std::optional<std::vector<float>>>
ImportanceTable::lookup(StringRef key, int64_t cols, int64_t nmat) const {
  auto [entry, expert] = find(key);
  if (!entry)
    return std::optional<std::vector<float>>();
  const int64_t stored = int64_t(entry->sums.size());
  const int64_t storedMats = stored / cols;
  auto mismatch = [&]() {
    return fileError(
        filePath,
        llvm::formatv("importance of '{0}' holds {1} values, which is not "
                      "{2} matrix(es) of {3} columns as the model's tensor '{4}' "
                      "needs",
                      entry->name, stored, expert >= 0 ? 1 : nmat, cols, key)
            .str());
  };
  if (stored % cols != 0)
    return mismatch();
  if (expert >= 0 ? expert >= storedMats || nmat != 1 : storedMats != nmat)
    return mismatch();
  std::vector<float> out;
  const int64_t first = expert >= 0 ? expert : 0;
  for (int64_t m = first; m < first + nmat; ++m) {
    float count = entry->counts.size() == 1 ? entry->counts[0]
                  : m < int64_t(entry->counts.size()) ? entry->counts[m]
                                                       : 0.0f;
    for (int64_t c = 0; c < cols; ++c)
      out.push_back(count > 0 ? entry->sums[m * cols + c] / count : 1.0f);
  }
  return std::optional<std::vector<float>>(std::move(out));
}

std::vector<std::string> ImportanceTable::names() const {
  std::vector<std::string> out;
  for (const auto &entry : table)
    out.push_back(entry.getKey().str());
  llvm::sort(out);
  return out;
}

Expected<const ImportanceTable *>
phiq::calib::getOrOpenImportanceTable(StringRef path) {
  static std::mutex mutex;
  static llvm::StringMap<std::unique_ptr<ImportanceTable>> open;
  llvm::SmallString<256> real;
  if (llvm::sys::fs::real_path(path, real))
    real = path;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = open.find(real);
  if (it != open.end())
    return it->second.get();
  auto table = ImportanceTable::open(path);
  if (!table)
    return table.takeError();
  const ImportanceTable *result = table->get();
  open[real] = std::move(*table);
  return result;
}
