//===- Importance.h - Calibration statistics and imatrix files --*- C++ -*-===//
//
// Three files carry what calibration learned about a model's activations:
//
//  - PhiQ's statistics store (written by --phiq-calibrate): a safetensors
//    file with, per weight key K, `K.in_sumsq` [cols] f32 (sum over tokens
//    of x^2 per input channel), `K.in_absmax` [cols] f32, `K.count` [1] f32
//    (tokens seen) and, on request, `K.hessian` [cols, cols] f32 (X^T X).
//    A stacked expert tensor [E, rows, cols] has [E, cols] / [E] / [E, cols,
//    cols] instead, one slice per expert. The GPTQ/AWQ passes read the same
//    names.
//  - llama.cpp's GGUF imatrix (llama-imatrix's default since 2025):
//    general.type = "imatrix", imatrix.datasets (string array),
//    imatrix.chunk_count, imatrix.chunk_size (u32); per GGUF tensor name N,
//    `N.in_sum2` F32 with ggml dims [cols, nmat] (raw sums) and `N.counts`
//    F32 [1, nmat] (tokens per matrix; nmat = experts of a stacked tensor).
//  - llama.cpp's legacy `.dat`: i32 entry count; per entry i32 name length,
//    name, i32 ncall, i32 nval, nval f32 = (sum / tokens) * ncall; then i32
//    chunk count, i32 length + dataset name. llama-quantize divides the
//    values by ncall.
//
// llama-quantize weights each column by the mean squared activation,
// sum / count; ImportanceTable::lookup returns exactly that, for a weight
// named either way (checkpoint key or GGUF name, through the GGUF writer's
// name table).
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_CALIBRATION_IMPORTANCE_H
#define PHIQ_CALIBRATION_IMPORTANCE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace phiq::calib {

/// The statistics of one weight, ready to be written. `nmat` matrices of
/// `cols` input channels (nmat > 1 only for a stacked expert tensor).
struct WeightStatistics {
  std::string key;
  int64_t cols = 0;
  int64_t nmat = 1;
  std::vector<float> sumsq;   // nmat * cols
  std::vector<float> absmax;  // nmat * cols
  std::vector<float> counts;  // nmat
  std::vector<float> hessian; // nmat * cols * cols, or empty
};

/// Writes PhiQ's statistics store (see the file comment) to `path` through
/// a temporary file renamed at the end. `metadata` goes to __metadata__.
llvm::Error
writeStatisticsFile(llvm::StringRef path,
                    llvm::ArrayRef<WeightStatistics> weights,
                    llvm::ArrayRef<std::pair<std::string, std::string>> metadata);

/// One llama.cpp imatrix entry, by GGUF tensor name.
struct ImatrixEntry {
  std::string name;
  int64_t cols = 0;
  std::vector<float> sums;   // nmat * cols, raw sums of x^2
  std::vector<float> counts; // nmat tokens
};

/// The llama.cpp view of statistics keyed by checkpoint names: GGUF names,
/// per-expert checkpoint tensors gathered into their stacked GGUF tensor (an
/// expert that saw no token keeps a zero count). Keys without a GGUF name
/// are an error naming them.
llvm::Expected<std::vector<ImatrixEntry>>
toImatrixEntries(llvm::ArrayRef<WeightStatistics> weights);

struct ImatrixInfo {
  std::vector<std::string> datasets;
  uint32_t chunkCount = 0;
  uint32_t chunkSize = 0;
};

/// Writes llama.cpp's GGUF imatrix / legacy .dat (temp file + rename).
llvm::Error writeImatrixGGUF(llvm::StringRef path,
                             llvm::ArrayRef<ImatrixEntry> entries,
                             const ImatrixInfo &info);
llvm::Error writeImatrixLegacy(llvm::StringRef path,
                               llvm::ArrayRef<ImatrixEntry> entries,
                               const ImatrixInfo &info);

/// Per-column importance read from any of the three files.
class ImportanceTable {
public:
  enum class Format { PhiQStatistics, GGUFImatrix, LegacyImatrix };

  /// Opens `path`, recognizing the format by its first bytes.
  static llvm::Expected<std::unique_ptr<ImportanceTable>>
  open(llvm::StringRef path);

  /// The mean squared input per column (sum / count) of the weight `key`
  /// (a checkpoint key or a GGUF name): `nmat` x `cols` values, or nullopt
  /// when the file has no entry for it. A per-expert checkpoint key reads
  /// its slice of a stacked GGUF entry. A matrix that saw no token gets
  /// all-ones (no preference), as llama.cpp does. Errors (naming the file
  /// and tensor) when the entry's shape disagrees.
  llvm::Expected<std::optional<std::vector<float>>>
  lookup(llvm::StringRef key, int64_t cols, int64_t nmat = 1) const;

  /// Whether lookup(key, ...) finds an entry.
  bool contains(llvm::StringRef key) const;

  Format format() const { return fileFormat; }
  llvm::StringRef path() const { return filePath; }
  /// The entry names as stored (checkpoint keys or GGUF names).
  std::vector<std::string> names() const;
  /// The entries, by stored name.
  const llvm::StringMap<ImatrixEntry> &entries() const { return table; }

private:
  /// The stored entry and matrix slice (-1: all) that `key` reads.
  std::pair<const ImatrixEntry *, int> find(llvm::StringRef key) const;

  Format fileFormat = Format::PhiQStatistics;
  std::string filePath;
  /// counts has one element per matrix, or a single element that applies
  /// to every matrix (legacy files).
  llvm::StringMap<ImatrixEntry> table;
};

/// Opens `path` once per process and keeps it (the packers of deferred
/// quantizations look their importance up tensor by tensor).
llvm::Expected<const ImportanceTable *>
getOrOpenImportanceTable(llvm::StringRef path);

} // namespace phiq::calib

#endif // PHIQ_CALIBRATION_IMPORTANCE_H
