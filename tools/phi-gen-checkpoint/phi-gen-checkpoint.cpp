//===- phi-gen-checkpoint.cpp - Synthetic Phi checkpoints -------*- C++ -*-===//
//
// Benchmarks need checkpoints with the real sizes of Phi-3.5-mini and
// Phi-4-mini, but not their trained weights. This tool writes a Hugging Face
// folder (config.json, generation_config.json, sharded safetensors and the
// index) with the real shapes and tensor names and random bf16 weights. Data
// is generated and written in chunks of a few MB, so memory stays bounded
// and a full 7.6 GB checkpoint is limited by disk speed; every file is
// written under a temporary name and renamed when complete. After writing,
// the folder is reopened with PhiQParams and checked against the plan.
//
//===----------------------------------------------------------------------===//
#include "phiq/Params/Convert.h"
#include "phiq/Params/ParamStore.h"
#include "phiq/Params/Safetensors.h"
#include "phiq/Params/ShardIndex.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <future>

using namespace phiq::params;
using llvm::StringRef;

static llvm::cl::OptionCategory category("phi-gen-checkpoint options");

static llvm::cl::opt<std::string>
    presetName("preset",
               llvm::cl::desc("Model to imitate: phi3.5-mini or "
                              "phi4-mini"),
               llvm::cl::Required, llvm::cl::cat(category));
static llvm::cl::opt<std::string>
    outputDir("o", llvm::cl::desc("Output folder (created if missing)"),
              llvm::cl::value_desc("dir"), llvm::cl::Required,
              llvm::cl::cat(category));
static llvm::cl::opt<unsigned>
    layerCount("layers",
               llvm::cl::desc("Number of decoder layers (default: the "
                              "preset's; also written to config.json)"),
               llvm::cl::init(0), llvm::cl::cat(category));
static llvm::cl::opt<uint64_t>
    seed("seed",
         llvm::cl::desc("Random seed; each tensor's values depend "
                        "only on the seed and its name"),
         llvm::cl::init(0), llvm::cl::cat(category));
static llvm::cl::opt<double>
    shardSizeGB("shard-size-gb",
                llvm::cl::desc("Largest shard in GB (1e9 bytes); a tensor "
                               "larger than this gets a shard of its own"),
                llvm::cl::init(5.0), llvm::cl::cat(category));
static llvm::cl::opt<bool>
    verifyOnly("verify-only",
               llvm::cl::desc("Write nothing: open the checkpoint in -o "
                              "and check its tensors against the preset"),
               llvm::cl::init(false), llvm::cl::cat(category));

//===----------------------------------------------------------------------===//
// Presets
//===----------------------------------------------------------------------===//

namespace {
struct Preset {
  const char *name;
  int64_t hiddenSize;
  int64_t intermediateSize;
  int64_t numLayers;
  int64_t numHeads;
  int64_t numKVHeads;
  int64_t headDim;
  int64_t vocabSize;
  int64_t maxPositionEmbeddings;
  int64_t originalMaxPositionEmbeddings;
  double partialRotaryFactor;
  double longFactorMax;
  bool tieWordEmbeddings;
  int64_t bosTokenId;
  int64_t eosTokenId;
  int64_t padTokenId;
  std::vector<int64_t> generationEosTokenIds;
  /// Phi-4-mini's config carries a few keys Phi-3.5-mini's does not.
  bool phi4Keys;
};
} // namespace

static const Preset kPresets[] = {
    {"phi3.5-mini",
     3072,
     8192,
     32,
     32,
     32,
     96,
     32064,
     131072,
     4096,
     1.0,
     32.0,
     false,
     1,
     32000,
     32000,
     {32007, 32001, 32000},
     false},
    {"phi4-mini",
     3072,
     8192,
     32,
     24,
     8,
     128,
     200064,
     131072,
     4096,
     0.75,
     32.0,
     true,
     199999,
     199999,
     199999,
     {200020, 199999},
     true},
};

static const Preset *findPreset(StringRef name) {
  for (const Preset &preset : kPresets)
    if (name == preset.name)
      return &preset;
  return nullptr;
}

/// What a tensor's values look like.
enum class Init { Weight, Norm };

namespace {
struct PlannedTensor {
  TensorLayout layout;
  Init init;
};
} // namespace

/// The tensors of the model in file order, named as Hugging Face's Phi3
/// implementation names them.
static std::vector<PlannedTensor> planTensors(const Preset &preset,
                                              int64_t layers) {
  int64_t hidden = preset.hiddenSize;
  int64_t qkvRows = (preset.numHeads + 2 * preset.numKVHeads) * preset.headDim;
  int64_t attnOut = preset.numHeads * preset.headDim;
  std::vector<PlannedTensor> tensors;
  auto add = [&](std::string name, llvm::SmallVector<int64_t, 4> shape,
                 Init init) {
    tensors.push_back({{std::move(name), DType::BF16, std::move(shape)}, init});
  };
  add("model.embed_tokens.weight", {preset.vocabSize, hidden}, Init::Weight);
  for (int64_t layer = 0; layer < layers; ++layer) {
    std::string prefix = "model.layers." + std::to_string(layer) + ".";
    add(prefix + "input_layernorm.weight", {hidden}, Init::Norm);
    add(prefix + "self_attn.qkv_proj.weight", {qkvRows, hidden}, Init::Weight);
    add(prefix + "self_attn.o_proj.weight", {hidden, attnOut}, Init::Weight);
    add(prefix + "post_attention_layernorm.weight", {hidden}, Init::Norm);
    add(prefix + "mlp.gate_up_proj.weight",
        {2 * preset.intermediateSize, hidden}, Init::Weight);
    add(prefix + "mlp.down_proj.weight", {hidden, preset.intermediateSize},
        Init::Weight);
  }
  add("model.norm.weight", {hidden}, Init::Norm);
  if (!preset.tieWordEmbeddings)
    add("lm_head.weight", {preset.vocabSize, hidden}, Init::Weight);
  return tensors;
}

//===----------------------------------------------------------------------===//
// JSON files
//===----------------------------------------------------------------------===//

/// The shortest text that reads back as `value`, with a ".0" on integral
/// values the way Python's json writes floats.
static std::string formatDouble(double value) {
  char text[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(text, sizeof(text), "%.*g", precision, value);
    if (std::strtod(text, nullptr) == value)
      break;
  }
  std::string result = text;
  if (result.find_first_of(".en") == std::string::npos)
    result += ".0";
  return result;
}

/// LongRoPE factors: one per rotary frequency pair, increasing from 1 to
/// `maxValue` along t^exponent (t from 0 to 1), rounded to 6 decimals.
static std::vector<double> ropeFactors(int64_t count, double maxValue,
                                       double exponent) {
  std::vector<double> factors;
  for (int64_t i = 0; i < count; ++i) {
    double t = count > 1 ? double(i) / double(count - 1) : 0.0;
    double value = 1.0 + (maxValue - 1.0) * std::pow(t, exponent);
    factors.push_back(std::round(value * 1e6) / 1e6);
  }
  return factors;
}

static std::string configJSON(const Preset &preset, int64_t layers) {
  int64_t rotaryDim =
      static_cast<int64_t>(preset.headDim * preset.partialRotaryFactor);
  std::vector<double> shortFactor = ropeFactors(rotaryDim / 2, 1.3, 2.0);
  std::vector<double> longFactor =
      ropeFactors(rotaryDim / 2, preset.longFactorMax, 1.5);

  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::json::OStream out(os, /*IndentSize=*/2);
  auto number = [&](StringRef key, double value) {
    out.attributeBegin(key);
    out.rawValue(formatDouble(value));
    out.attributeEnd();
  };
  auto factors = [&](StringRef key, const std::vector<double> &values) {
    out.attributeArray(key, [&] {
      for (double value : values)
        out.rawValue(formatDouble(value));
    });
  };
  out.object([&] {
    out.attributeArray("architectures", [&] { out.value("Phi3ForCausalLM"); });
    out.attribute("attention_bias", false);
    number("attention_dropout", 0.0);
    out.attribute("bos_token_id", preset.bosTokenId);
    out.attribute("dtype", "bfloat16");
    number("embd_pdrop", 0.0);
    out.attribute("eos_token_id", preset.eosTokenId);
    if (preset.phi4Keys)
      out.attribute("full_attn_mod", 1);
    out.attribute("hidden_act", "silu");
    out.attribute("hidden_size", preset.hiddenSize);
    number("initializer_range", 0.02);
    out.attribute("intermediate_size", preset.intermediateSize);
    if (preset.phi4Keys) {
      out.attribute("interpolate_factor", 1);
      out.attribute("lm_head_bias", false);
    }
    out.attribute("max_position_embeddings", preset.maxPositionEmbeddings);
    if (preset.phi4Keys)
      out.attribute("mlp_bias", false);
    out.attribute("model_type", "phi3");
    out.attribute("num_attention_heads", preset.numHeads);
    out.attribute("num_hidden_layers", layers);
    out.attribute("num_key_value_heads", preset.numKVHeads);
    out.attribute("original_max_position_embeddings",
                  preset.originalMaxPositionEmbeddings);
    out.attribute("pad_token_id", preset.padTokenId);
    if (preset.phi4Keys)
      number("partial_rotary_factor", preset.partialRotaryFactor);
    number("resid_pdrop", 0.0);
    number("rms_norm_eps", 1e-5);
    out.attributeObject("rope_parameters", [&] {
      factors("long_factor", longFactor);
      out.attribute("original_max_position_embeddings",
                    preset.originalMaxPositionEmbeddings);
      number("partial_rotary_factor", preset.partialRotaryFactor);
      number("rope_theta", 10000.0);
      out.attribute("rope_type", "longrope");
      factors("short_factor", shortFactor);
      out.attribute("type", "longrope");
    });
    out.attribute("sliding_window", 262144);
    out.attribute("tie_word_embeddings", preset.tieWordEmbeddings);
    out.attribute("transformers_version", "5.17.0");
    out.attribute("use_cache", true);
    out.attribute("vocab_size", preset.vocabSize);
    number("rope_theta", 10000.0);
    out.attributeObject("rope_scaling", [&] {
      factors("long_factor", longFactor);
      factors("short_factor", shortFactor);
      out.attribute("type", "longrope");
      number("rope_theta", 10000.0);
      number("partial_rotary_factor", preset.partialRotaryFactor);
      out.attribute("rope_type", "longrope");
      out.attribute("original_max_position_embeddings",
                    preset.originalMaxPositionEmbeddings);
    });
    out.attribute("torch_dtype", "bfloat16");
  });
  os << "\n";
  return text;
}

static std::string generationConfigJSON(const Preset &preset) {
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::json::OStream out(os, /*IndentSize=*/2);
  out.object([&] {
    out.attribute("bos_token_id", preset.bosTokenId);
    out.attributeArray("eos_token_id", [&] {
      for (int64_t id : preset.generationEosTokenIds)
        out.value(id);
    });
    out.attribute("pad_token_id", preset.padTokenId);
    out.attribute("transformers_version", "5.17.0");
  });
  os << "\n";
  return text;
}

//===----------------------------------------------------------------------===//
// Random bf16 data
//===----------------------------------------------------------------------===//

static uint64_t splitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// A 32-bit integer hash with full avalanche (xor-shift-multiply rounds).
/// Hashing a counter gives a random stream with no state to carry, so the
/// fill loop vectorizes and each value depends only on its index.
static inline uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

/// Fills `out` with elements [first, first + count) of the tensor whose
/// random stream is `key`: bf16 values of mean `mean` and standard
/// deviation `stddev`, roughly bell-shaped (each is the sum of the two
/// 16-bit halves of one hash, a triangular distribution). The range must
/// not cross a multiple of 2^32 elements.
static void fillBF16(uint64_t key, uint64_t first, uint16_t *out, size_t count,
                     float mean, float stddev) {
  uint32_t streamKey = static_cast<uint32_t>(splitMix64(key ^ (first >> 32)));
  uint32_t firstLow = static_cast<uint32_t>(first);
  // Sum of two uniforms on [0, 65535], centered: sd = 65536 / sqrt(6).
  const float scale = stddev * std::sqrt(6.0f) / 65536.0f;
  for (size_t i = 0; i < count; ++i) {
    uint32_t bits = hash32(streamKey + firstLow + static_cast<uint32_t>(i));
    int32_t centered = static_cast<int32_t>(bits & 0xffffu) +
                       static_cast<int32_t>(bits >> 16) - 65535;
    float value = mean + static_cast<float>(centered) * scale;
    // Round to nearest even bf16; values are finite, so no NaN case.
    uint32_t word = floatBits(value);
    uint16_t half =
        static_cast<uint16_t>((word + 0x7fffu + ((word >> 16) & 1u)) >> 16);
    if constexpr (llvm::endianness::native != llvm::endianness::little)
      half = llvm::byteswap(half);
    out[i] = half;
  }
}

//===----------------------------------------------------------------------===//
// Writing files
//===----------------------------------------------------------------------===//

namespace {
/// A file written under a temporary name in the output folder and renamed
/// into place by commit(); removed if never committed.
class AtomicFile {
public:
  static llvm::Expected<std::unique_ptr<AtomicFile>> create(StringRef path) {
    llvm::SmallString<256> model = llvm::sys::path::parent_path(path);
    llvm::sys::path::append(model, "." + llvm::sys::path::filename(path) +
                                       ".tmp-%%%%%%");
    int fd;
    llvm::SmallString<256> tempPath;
    if (std::error_code ec =
            llvm::sys::fs::createUniqueFile(model, fd, tempPath))
      return llvm::createStringError(ec,
                                     "cannot create a temporary file for '" +
                                         path + "': " + ec.message());
    return std::unique_ptr<AtomicFile>(new AtomicFile(path, tempPath, fd));
  }

  ~AtomicFile() {
    if (!committed) {
      out.close();
      out.clear_error();
      llvm::sys::fs::remove(tempPath);
    }
  }

  llvm::raw_fd_ostream &stream() { return out; }

  llvm::Error commit() {
    out.close();
    if (out.has_error()) {
      std::error_code ec = out.error();
      out.clear_error();
      return llvm::createStringError(ec, "cannot write '" + tempPath +
                                             "': " + ec.message());
    }
    if (std::error_code ec = llvm::sys::fs::rename(tempPath, finalPath))
      return llvm::createStringError(ec, "cannot rename '" + tempPath +
                                             "' to '" + finalPath +
                                             "': " + ec.message());
    committed = true;
    return llvm::Error::success();
  }

private:
  AtomicFile(StringRef finalPath, StringRef tempPath, int fd)
      : finalPath(finalPath.str()), tempPath(tempPath.str()),
        out(fd, /*shouldClose=*/true) {}

  std::string finalPath;
  std::string tempPath;
  llvm::raw_fd_ostream out;
  bool committed = false;
};
} // namespace

static llvm::Error writeTextFile(StringRef path, StringRef text) {
  auto file = AtomicFile::create(path);
  if (!file)
    return file.takeError();
  (*file)->stream() << text;
  return (*file)->commit();
}

static std::string shardName(size_t index, size_t count) {
  char name[64];
  std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors",
                index + 1, count);
  return name;
}

static uint64_t fnv1a(StringRef text) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : text)
    hash = (hash ^ c) * 0x100000001b3ull;
  return hash;
}

namespace {
/// The random data of a shard's tensors in file order, handed out in
/// chunks. Only one thread uses it at a time.
class ShardData {
public:
  explicit ShardData(llvm::ArrayRef<PlannedTensor> tensors)
      : tensors(tensors) {}

  /// Fills `out` with the next values (at most out.size(), never crossing
  /// a tensor boundary) and returns how many; 0 once all data is out.
  size_t next(std::vector<uint16_t> &out) {
    while (done == total) {
      if (nextTensor == tensors.size())
        return 0;
      const PlannedTensor &tensor = tensors[nextTensor++];
      key = seed ^ fnv1a(tensor.layout.name);
      mean = tensor.init == Init::Norm ? 1.0f : 0.0f;
      total = tensor.layout.byteSize() / sizeof(uint16_t);
      done = 0;
    }
    // Chunks start at multiples of out.size() (a power of two below 2^32),
    // so none crosses a multiple of 2^32 elements.
    size_t count =
        static_cast<size_t>(std::min<uint64_t>(total - done, out.size()));
    fillBF16(key, done, out.data(), count, mean, 0.02f);
    done += count;
    return count;
  }

private:
  llvm::ArrayRef<PlannedTensor> tensors;
  size_t nextTensor = 0;
  uint64_t key = 0;
  uint64_t total = 0;
  uint64_t done = 0;
  float mean = 0.0f;
};
} // namespace

/// Writes one shard holding `tensors`. A worker thread generates the next
/// chunk while this one writes the current, so the disk sets the pace.
static llvm::Error writeShard(StringRef path,
                              llvm::ArrayRef<PlannedTensor> tensors,
                              std::vector<uint16_t> (&chunks)[2]) {
  std::vector<TensorLayout> layouts;
  for (const PlannedTensor &tensor : tensors)
    layouts.push_back(tensor.layout);
  uint64_t dataBytes = 0;
  std::string header =
      buildSafetensorsHeader(layouts, {{"format", "pt"}}, dataBytes);

  auto file = AtomicFile::create(path);
  if (!file)
    return file.takeError();
  llvm::raw_fd_ostream &out = (*file)->stream();
  out << header;

  ShardData data(tensors);
  std::vector<uint16_t> *current = &chunks[0], *ahead = &chunks[1];
  size_t count = data.next(*current);
  while (count > 0 && !out.has_error()) {
    std::future<size_t> pending = std::async(
        std::launch::async, [&data, ahead] { return data.next(*ahead); });
    out.write(reinterpret_cast<const char *>(current->data()),
              count * sizeof(uint16_t));
    count = pending.get();
    std::swap(current, ahead);
  }
  // Write errors are reported by commit().
  return (*file)->commit();
}

/// Groups tensors into shards of at most `limit` bytes each.
static std::vector<std::vector<PlannedTensor>>
planShards(const std::vector<PlannedTensor> &tensors, uint64_t limit) {
  std::vector<std::vector<PlannedTensor>> shards;
  uint64_t current = 0;
  for (const PlannedTensor &tensor : tensors) {
    uint64_t bytes = tensor.layout.byteSize();
    if (shards.empty() || (current > 0 && current + bytes > limit)) {
      shards.emplace_back();
      current = 0;
    }
    shards.back().push_back(tensor);
    current += bytes;
  }
  return shards;
}

static std::error_code invalidInput() {
  return std::make_error_code(std::errc::invalid_argument);
}

//===----------------------------------------------------------------------===//
// Checking the result
//===----------------------------------------------------------------------===//

static std::string shapeText(llvm::ArrayRef<int64_t> shape) {
  std::string text = "[";
  llvm::raw_string_ostream os(text);
  llvm::interleave(shape, os, ", ");
  os << "]";
  return text;
}

/// Opens `dir` with PhiQParams and checks it holds exactly `tensors`.
static llvm::Error verify(StringRef dir,
                          const std::vector<PlannedTensor> &tensors) {
  auto start = std::chrono::steady_clock::now();
  auto store = openSafetensors(dir);
  if (!store)
    return store.takeError();
  double openMs = std::chrono::duration<double, std::milli>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  for (const PlannedTensor &planned : tensors) {
    const TensorRef *tensor = (*store)->lookup(planned.layout.name);
    if (!tensor)
      return llvm::createStringError(
          invalidInput(), "%s: tensor '%s' is missing", dir.str().c_str(),
          planned.layout.name.c_str());
    if (tensor->dtype != planned.layout.dtype ||
        tensor->shape != planned.layout.shape)
      return llvm::createStringError(
          invalidInput(),
          llvm::formatv("{0}: tensor '{1}' is {2} {3}, "
                        "expected {4} {5}",
                        dir, planned.layout.name, dtypeName(tensor->dtype),
                        shapeText(tensor->shape),
                        dtypeName(planned.layout.dtype),
                        shapeText(planned.layout.shape))
              .str());
  }
  size_t found = (*store)->names().size();
  if (found != tensors.size())
    return llvm::createStringError(invalidInput(),
                                   "%s: holds %zu tensors, expected %zu",
                                   dir.str().c_str(), found, tensors.size());
  llvm::outs() << llvm::formatv("verified {0}: {1} tensors in {2} files, "
                                "opened in {3:f1} ms\n",
                                dir, found, (*store)->files().size(), openMs);
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

static llvm::Error run() {
  const Preset *preset = findPreset(presetName);
  if (!preset) {
    std::string known;
    for (const Preset &candidate : kPresets)
      known += (known.empty() ? "" : ", ") + std::string(candidate.name);
    return llvm::createStringError(invalidInput(),
                                   "unknown preset '" + presetName +
                                       "' (expected one of: " + known + ")");
  }
  if (!(shardSizeGB > 0.0) || !std::isfinite(shardSizeGB))
    return llvm::createStringError(invalidInput(),
                                   "--shard-size-gb must be a positive "
                                   "number");
  int64_t layers = layerCount ? int64_t(layerCount) : preset->numLayers;
  std::vector<PlannedTensor> tensors = planTensors(*preset, layers);
  if (verifyOnly)
    return verify(outputDir, tensors);

  using namespace llvm::sys::fs;
  if (std::error_code ec = create_directories(
          outputDir, /*IgnoreExisting=*/true,
          perms(owner_all | group_read | group_exe | others_read | others_exe)))
    return llvm::createStringError(ec, "cannot create output folder '" +
                                           outputDir + "': " + ec.message());
  if (!is_directory(outputDir))
    return llvm::createStringError(invalidInput(),
                                   "output path '" + outputDir +
                                       "' exists and is not a folder");
  auto inFolder = [&](StringRef name) {
    llvm::SmallString<256> path(outputDir);
    llvm::sys::path::append(path, name);
    return std::string(path);
  };

  auto start = std::chrono::steady_clock::now();
  if (llvm::Error error =
          writeTextFile(inFolder("config.json"), configJSON(*preset, layers)))
    return error;
  if (llvm::Error error = writeTextFile(inFolder("generation_config.json"),
                                        generationConfigJSON(*preset)))
    return error;

  uint64_t limit = static_cast<uint64_t>(shardSizeGB * 1e9);
  std::vector<std::vector<PlannedTensor>> shards = planShards(tensors, limit);
  // Two chunks of 4 MiB of bf16 values: one written, one generated.
  std::vector<uint16_t> chunks[2] = {std::vector<uint16_t>(size_t(2) << 20),
                                     std::vector<uint16_t>(size_t(2) << 20)};
  std::vector<std::pair<std::string, std::string>> weightMap;
  uint64_t totalBytes = 0;
  for (auto [index, shard] : llvm::enumerate(shards)) {
    std::string name = shardName(index, shards.size());
    if (llvm::Error error = writeShard(inFolder(name), shard, chunks))
      return error;
    for (const PlannedTensor &tensor : shard) {
      weightMap.emplace_back(tensor.layout.name, name);
      totalBytes += tensor.layout.byteSize();
    }
  }
  llvm::sort(weightMap);
  if (llvm::Error error = writeTextFile(inFolder(kShardIndexFileName),
                                        buildShardIndex(totalBytes, weightMap)))
    return error;

  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  llvm::outs() << llvm::formatv(
      "wrote {0}: {1} ({2} layers), {3} tensors, {4} bytes in {5} shards, "
      "{6:f2} s ({7:f0} MB/s)\n",
      outputDir, preset->name, layers, tensors.size(), totalBytes,
      shards.size(), seconds, totalBytes / 1e6 / std::max(seconds, 1e-9));
  return verify(outputDir, tensors);
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  llvm::cl::HideUnrelatedOptions(category);
  llvm::cl::ParseCommandLineOptions(
      argc, argv,
      "writes a synthetic Hugging Face Phi checkpoint with real shapes and "
      "random bf16 weights\n");
  if (llvm::Error error = run()) {
    llvm::WithColor::error(llvm::errs(), "phi-gen-checkpoint")
        << llvm::toString(std::move(error)) << "\n";
    return 1;
  }
  return 0;
}
