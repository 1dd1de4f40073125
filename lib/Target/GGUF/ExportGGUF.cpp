//===- ExportGGUF.cpp - phi IR to a llama.cpp GGUF file ---------*- C++ -*-===//
//
// Maps a phi.model onto llama.cpp's `phi3` / `phimoe` GGUF layout: the
// hyper-parameter keys llama.cpp reads for those architectures, the longrope
// factor tensors (sized by the rotary dimensions / 2), the tokenizer, and
// every weight under its GGUF name. Packed phiq weights are copied block for
// block; deferred ones (phiq.quantize) are quantized straight into the file
// and float weights converted on the fly. Tensors are produced one at a time
// while the file is written, so memory stays at one tensor.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/GGUF/ExportGGUF.h"

#include "dialects/Phi/PhiOps.h"
#include "dialects/Phi/PhiParams.h"
#include "dialects/PhiQ/PackWeight.h"
#include "dialects/PhiQ/PhiQOps.h"
#include "phiq/Quant/BlockFormat.h"
#include "phiq/Quant/MLXRetarget.h"
#include "phiq/Quant/Recipe.h"
#include "phiq/Target/GGUF/GGUFVocab.h"
#include "phiq/Target/GGUF/GGUFWriter.h"
#include "phiq/Target/GGUF/TensorNames.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <cstring>
#include <map>

using namespace mlir;
using namespace mlir::phi;
using namespace phiq::gguf;
namespace quant = ::phiq::quant;
namespace params = ::phiq::params;
using llvm::Error;

namespace {

Error fail(const llvm::Twine &message) {
  return llvm::createStringError(message);
}

/// One GGUF tensor: a single weight, or the per-expert weights of a stacked
/// expert tensor (in expert order).
struct Source {
  std::string ggufName;
  std::vector<Operation *> parts;
};

/// The op that holds a weight's data: phi.weight, phiq.packed_weight or
/// phiq.quantize.
Operation *dataOp(Value weight) {
  if (auto dq = weight.getDefiningOp<mlir::phiq_ir::DequantizeOp>())
    return dq.getInput().getDefiningOp();
  return weight.getDefiningOp();
}

std::string checkpointName(Operation *op) {
  if (auto w = dyn_cast<WeightOp>(op))
    if (auto p = dyn_cast<ParamAttr>(w.getValue()))
      return p.getKey().str();
  if (auto p = dyn_cast<mlir::phiq_ir::PackedWeightOp>(op))
    return p.getBytes().getKey().str();
  if (auto q = dyn_cast<mlir::phiq_ir::QuantizeOp>(op))
    return mlir::phiq_ir::quantizedWeightName(q).str();
  return "";
}

/// The GGUF block format a part is (or will be) stored in.
quant::BlockFormat storedFormat(Operation *op, StringRef floatType,
                                bool forceF32) {
  if (auto packed = dyn_cast<mlir::phiq_ir::PackedWeightOp>(op))
    return packed.getType().getScheme().getBlockFormat();
  if (auto quantize = dyn_cast<mlir::phiq_ir::QuantizeOp>(op))
    return quantize.getType().getScheme().getBlockFormat();
  if (forceF32 || floatType == "f32")
    return quant::BlockFormat::F32;
  if (floatType == "f16")
    return quant::BlockFormat::F16;
  if (floatType == "bf16")
    return quant::BlockFormat::BF16;
  Type element = cast<WeightOp>(op).getType().getElementType();
  if (element.isF16())
    return quant::BlockFormat::F16;
  if (element.isBF16())
    return quant::BlockFormat::BF16;
  return quant::BlockFormat::F32;
}

ArrayRef<int64_t> logicalShape(Operation *op) {
  if (auto packed = dyn_cast<mlir::phiq_ir::PackedWeightOp>(op))
    return packed.getType().getShape();
  if (auto quantize = dyn_cast<mlir::phiq_ir::QuantizeOp>(op))
    return quantize.getType().getShape();
  return cast<WeightOp>(op).getType().getShape();
}

/// Writes one part's bytes in `format` into `out`; adds the error of a
/// part quantized here to `error` when given.
/// An imported MLX weight in `target`: its groups rewritten exactly as
/// Q4_1 / Q5_1 blocks, or, with allowRequantize, decoded and quantized
/// again, with the relative RMS error this adds reported.
Error retargetMLX(mlir::phiq_ir::PackedWeightOp op, quant::BlockFormat stored,
                  quant::BlockFormat target, ArrayRef<uint8_t> bytes,
                  MutableArrayRef<uint8_t> out, const ExportOptions &options) {
  std::string name = checkpointName(op);
  quant::MLXAffineLayout layout = *quant::mlxAffineLayout(stored);
  ArrayRef<int64_t> shape = op.getType().getShape();
  const int64_t cols = shape.back();
  int64_t rows = 1;
  for (int64_t d : shape.drop_back())
    rows *= d;
  if (int64_t(bytes.size()) != rows * cols / layout.groupSize *
                                   layout.blockBytes())
    return fail("packed tensor '" + name + "' has " +
                std::to_string(bytes.size()) + " bytes, expected " +
                std::to_string(rows * cols / layout.groupSize *
                               layout.blockBytes()));
  if (quant::ggufFormatForMLX(layout) == target) {
    Error e = quant::mlxToGGUFBlocks(layout, bytes, rows, cols, out);
    if (!e)
      return Error::success();
    if (!options.allowRequantize)
      return fail("tensor '" + name + "' (" + quant::formatInfo(stored).name +
                  "): " + llvm::toString(std::move(e)) +
                  "; pass --allow-requantize (phi-translate: "
                  "--gguf-allow-requantize) to quantize it again as " +
                  quant::formatInfo(target).name);
    llvm::consumeError(std::move(e));
  }
  std::vector<float> weights(size_t(rows * cols)), written(weights.size());
  quant::dequantize(stored, bytes, rows, cols, weights);
  if (Error e = quant::quantize(target, weights, rows, cols, out))
    return e;
  quant::dequantize(target, out, rows, cols, written);
  double err = 0, norm = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    const double d = double(written[i]) - double(weights[i]);
    err += d * d;
    norm += double(weights[i]) * double(weights[i]);
  }
  if (options.onRequantize)
    options.onRequantize(name, quant::formatInfo(stored).name,
                         quant::formatInfo(target).name,
                         norm > 0 ? std::sqrt(err / norm) : 0.0);
  return Error::success();
}

/// The GGUF format an imported MLX weight is written in: Q4_1 / Q5_1 for
/// 4- / 5-bit groups (exact when their scales and biases are f16 values,
/// checked while writing); for the other widths an error, or with
/// allowRequantize the GGUF format it is quantized again into.
llvm::Expected<quant::BlockFormat>
mlxTargetFormat(Operation *op, quant::BlockFormat stored,
                const ExportOptions &options) {
  quant::MLXAffineLayout layout = *quant::mlxAffineLayout(stored);
  if (auto exact = quant::ggufFormatForMLX(layout))
    return *exact;
  quant::BlockFormat target = layout.bits <= 4 ? quant::BlockFormat::Q4_1
                                               : quant::BlockFormat::Q8_0;
  if (options.allowRequantize)
    return target;
  return fail("tensor '" + checkpointName(op) + "' is in " +
              quant::formatInfo(stored).name + ": GGUF has no block format "
              "that holds " + std::to_string(layout.bits) +
              "-bit affine groups (a scale and a bias per group) exactly "
              "(Q4_1 / Q5_1 hold 4 and 5 bits; Q8_0 is symmetric); pass "
              "--allow-requantize (phi-translate: --gguf-allow-requantize) "
              "to quantize it again as " + quant::formatInfo(target).name +
              " and report the error added");
}

Error fillPart(Operation *op, quant::BlockFormat format,
               MutableArrayRef<uint8_t> out,
               quant::QuantizationError *error, const ExportOptions &options) {
  if (auto quantize = dyn_cast<mlir::phiq_ir::QuantizeOp>(op)) {
    quant::QuantizationError partError;
    if (Error e = mlir::phiq_ir::packWeight(quantize, out,
                                            error ? &partError : nullptr))
      return e;
    if (error) {
      error->squaredError += partError.squaredError;
      error->squaredNorm += partError.squaredNorm;
    }
    return Error::success();
  }
  if (auto packed = dyn_cast<mlir::phiq_ir::PackedWeightOp>(op)) {
    auto tensor = resolveParam(packed.getBytes(), op);
    if (!tensor)
      return tensor.takeError();
    quant::BlockFormat stored = packed.getType().getScheme().getBlockFormat();
    if (stored != format)
      return retargetMLX(packed, stored, format, (*tensor)->data, out,
                         options);
    if ((*tensor)->data.size() != out.size())
      return fail("packed tensor '" + checkpointName(op) + "' has " +
                  std::to_string((*tensor)->data.size()) + " bytes, expected " +
                  std::to_string(out.size()));
    std::memcpy(out.data(), (*tensor)->data.data(), out.size());
    return Error::success();
  }
  auto weight = cast<WeightOp>(op);
  std::vector<float> floats(
      static_cast<size_t>(weight.getType().getNumElements()));
  if (isa<ParamAttr>(weight.getValue())) {
    auto tensor = resolveParam(weight);
    if (!tensor)
      return tensor.takeError();
    params::convertToF32((*tensor)->dtype, (*tensor)->data.data(),
                         floats.data(), int64_t(floats.size()));
  } else if (auto dense = dyn_cast<DenseElementsAttr>(weight.getValue())) {
    size_t i = 0;
    for (APFloat v : dense.getValues<APFloat>()) {
      bool lost;
      v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
      floats[i++] = v.convertToFloat();
    }
  }
  int64_t cols = weight.getType().getShape().back();
  return quant::quantize(format, floats, int64_t(floats.size()) / cols, cols,
                         out);
}

/// llama.cpp's general.file_type for a PhiQ file type name.
uint32_t fileTypeId(StringRef name) {
  return llvm::StringSwitch<uint32_t>(name)
      .Case("F32", 0).Case("F16", 1).Case("Q4_0", 2).Case("Q4_1", 3)
      .Case("Q8_0", 7).Case("Q5_0", 8).Case("Q5_1", 9).Case("Q2_K", 10)
      .Case("Q3_K_S", 11).Case("Q3_K_M", 12).Case("Q3_K_L", 13)
      .Case("Q4_K_S", 14).Case("Q4_K_M", 15).Case("Q5_K_S", 16)
      .Case("Q5_K_M", 17).Case("Q6_K", 18).Case("IQ4_NL", 25)
      .Case("BF16", 32).Default(0);
}

} // namespace

Error phiq::gguf::exportGGUF(ModuleOp module, StringRef path,
                             const ExportOptions &options) {
  auto models = llvm::to_vector(module.getOps<ModelOp>());
  if (models.size() != 1)
    return fail("expected exactly one phi.model to write as GGUF, found " +
                std::to_string(models.size()));
  ModelOp model = models.front();
  ConfigAttr config = model.getConfig();
  StringRef architecture = config.getArchitecture().getValue();
  bool moe = architecture != "Phi3ForCausalLM";
  std::string arch = moe ? "phimoe" : "phi3";
  if (options.floatType != "source" && options.floatType != "f32" &&
      options.floatType != "f16" && options.floatType != "bf16")
    return fail("unknown float type '" + options.floatType +
                "' (expected source, f32, f16 or bf16)");

  // The structure llama.cpp needs.
  AttentionOp attention;
  MoeExpertsOp experts;
  MoeRouteOp route;
  int64_t intermediate = 0;
  model.walk([&](Operation *op) {
    if (auto a = dyn_cast<AttentionOp>(op); a && !attention)
      attention = a;
    if (auto e = dyn_cast<MoeExpertsOp>(op); e && !experts)
      experts = e;
    if (auto r = dyn_cast<MoeRouteOp>(op); r && !route)
      route = r;
    if (auto g = dyn_cast<GluOp>(op))
      intermediate = g.getType().getShape().back();
  });
  if (!attention)
    return fail("the model has no attention layer");
  if (experts)
    intermediate = experts.getIntermediateSize();
  if (route && route.getRouting() != Routing::SparseMixer &&
      route.getRouting() != Routing::SoftmaxTopK)
    return fail("unsupported routing");
  RopeAttr rope = attention.getRope();
  // The tokenizer: a folder given, the checkpoint's folder, or the GGUF
  // file the model was imported from.
  std::string checkpointDir = options.tokenizerDir;
  std::optional<std::string> sourceGGUF;
  if (checkpointDir.empty()) {
    if (auto p = model.getStorePath("model"))
      checkpointDir = llvm::sys::fs::is_directory(*p)
                          ? p->str()
                          : llvm::sys::path::parent_path(*p).str();
    else if (auto g = model.getStorePath("gguf"))
      sourceGGUF = g->str();
  }
  llvm::Expected<Vocab> vocab = [&]() -> llvm::Expected<Vocab> {
    if (!sourceGGUF)
      return readVocab(checkpointDir, config.getVocabSize());
    auto file = GGUFFile::open(*sourceGGUF);
    if (!file)
      return file.takeError();
    return readVocab(**file, config.getVocabSize());
  }();
  if (!vocab)
    return vocab.takeError();

  GGUFWriter writer;
  auto kv = [&](StringRef key, GGUFValue value) -> Error {
    return writer.addKV(key, std::move(value));
  };
  auto archKV = [&](StringRef key, GGUFValue value) -> Error {
    return writer.addKV(arch + "." + key.str(), std::move(value));
  };
  // general.file_type: the quantization type phi-quantize recorded, or the
  // float type the matrices are written in.
  std::string fileType = "F32";
  if (auto ft = model->getAttrOfType<StringAttr>("phiq.file_type")) {
    fileType = ft.getValue().str();
  } else if (options.floatType == "f16") {
    fileType = "F16";
  } else if (options.floatType == "bf16") {
    fileType = "BF16";
  } else if (options.floatType == "source") {
    model.walk([&](WeightOp w) {
      if (w.getType().getRank() == 2 && fileType == "F32")
        fileType = w.getType().getElementType().isBF16()  ? "BF16"
                   : w.getType().getElementType().isF16() ? "F16"
                                                          : "F32";
    });
  }
  bool quantized = false;
  model.walk([&](Operation *op) {
    quantized |= isa<mlir::phiq_ir::PackedWeightOp, mlir::phiq_ir::QuantizeOp>(op);
  });

  // Hyper-parameters, as llama.cpp's loader reads them for phi3/phimoe.
  const int64_t headDim = attention.getHeadDim();
  std::vector<std::pair<std::string, GGUFValue>> pairs;
  if (Error e = kv("general.architecture", arch)) return e;
  if (Error e = kv("general.name", model.getSymName().str())) return e;
  if (Error e = kv("general.file_type", uint32_t(fileTypeId(fileType))))
    return e;
  if (quantized)
    if (Error e = kv("general.quantization_version", uint32_t(2)))
      return e;
  if (Error e = archKV("context_length", uint32_t(config.getMaxPositions())))
    return e;
  if (Error e = archKV("embedding_length", uint32_t(config.getHiddenSize())))
    return e;
  if (Error e = archKV("feed_forward_length", uint32_t(intermediate)))
    return e;
  if (Error e = archKV("block_count", uint32_t(config.getNumLayers())))
    return e;
  if (Error e = archKV("attention.head_count",
                       uint32_t(attention.getNumHeads())))
    return e;
  if (Error e = archKV("attention.head_count_kv",
                       uint32_t(attention.getNumKvHeads())))
    return e;
  // PhiMoE's LayerNorms and Phi-3's RMS norms share one epsilon key.
  double eps = 1e-5;
  model.walk([&](Operation *op) {
    if (auto n = dyn_cast<RmsNormOp>(op))
      eps = n.getEpsilon().convertToDouble();
    if (auto n = dyn_cast<LayerNormOp>(op))
      eps = n.getEpsilon().convertToDouble();
  });
  if (Error e = archKV("attention.layer_norm_rms_epsilon", float(eps)))
    return e;
  if (moe)
    if (Error e = archKV("attention.layer_norm_epsilon", float(eps)))
      return e;
  if (Error e = archKV("rope.dimension_count", uint32_t(rope.getRotaryDim())))
    return e;
  if (Error e = archKV("rope.freq_base",
                       float(rope.getTheta().getValueAsDouble())))
    return e;
  if (auto window = attention.getSlidingWindow())
    if (Error e = archKV("attention.sliding_window", uint32_t(*window)))
      return e;
  if (rope.getKind() == RopeKind::LongRope) {
    if (Error e = archKV("rope.scaling.original_context_length",
                         uint32_t(rope.getOriginalMaxPositions())))
      return e;
    if (Error e = archKV("rope.scaling.attn_factor",
                         float(rope.getAttentionFactor().getValueAsDouble())))
      return e;
  }
  if (experts) {
    if (Error e = archKV("expert_count", uint32_t(experts.getNumExperts())))
      return e;
    if (Error e = archKV("expert_used_count",
                         uint32_t(experts.getWeights().getType().getShape()
                                      .back())))
      return e;
  }

  // Tokenizer.
  if (Error e = kv("tokenizer.ggml.model", vocab->model)) return e;
  if (Error e = kv("tokenizer.ggml.pre", vocab->pre)) return e;
  if (Error e = kv("tokenizer.ggml.tokens", vocab->tokens)) return e;
  if (vocab->model == "llama")
    if (Error e = kv("tokenizer.ggml.scores", vocab->scores)) return e;
  if (Error e = kv("tokenizer.ggml.token_type", vocab->types)) return e;
  if (!vocab->merges.empty())
    if (Error e = kv("tokenizer.ggml.merges", vocab->merges)) return e;
  ArrayRef<int64_t> eos = config.getEosTokenIds().asArrayRef();
  // The first end token of config.json is llama.cpp's eos; <|end|> is its
  // end-of-turn token. llama.cpp treats every token it knows as an end of
  // generation (<|end|>, <|endoftext|>, ...) as one.
  if (Error e = kv("tokenizer.ggml.bos_token_id",
                   uint32_t(config.getBosTokenId())))
    return e;
  if (Error e = kv("tokenizer.ggml.eos_token_id", uint32_t(eos.front())))
    return e;
  if (auto end = vocab->idOf("<|end|>"))
    if (Error e = kv("tokenizer.ggml.eot_token_id", uint32_t(*end)))
      return e;
  if (vocab->unknownId)
    if (Error e = kv("tokenizer.ggml.unknown_token_id",
                     uint32_t(*vocab->unknownId)))
      return e;
  if (Error e = kv("tokenizer.ggml.padding_token_id",
                   uint32_t(config.getPadTokenId())))
    return e;
  if (Error e = kv("tokenizer.ggml.add_bos_token", vocab->addBos)) return e;
  if (Error e = kv("tokenizer.ggml.add_eos_token", vocab->addEos)) return e;
  if (vocab->chatTemplate)
    if (Error e = kv("tokenizer.chat_template", *vocab->chatTemplate))
      return e;

  // Counts the tensors as they are written, for onTensorWritten.
  struct Progress {
    const ExportOptions &options;
    GGUFWriter &writer;
    size_t written = 0, count = 0;
    size_t total() const { return writer.getNumTensors(); }
    void report(WrittenTensor &tensor) {
      tensor.index = ++written;
      tensor.count = count;
      if (options.onTensorWritten)
        options.onTensorWritten(tensor);
    }
  } progress{options, writer};

  // Weights, in model order, experts gathered into their stacked tensors.
  llvm::MapVector<std::string, Source, std::map<std::string, unsigned>> sources;
  bool failed = false;
  std::string error;
  llvm::DenseSet<Operation *> seen;
  model.walk([&](Operation *op) {
    if (!isa<WeightOp, mlir::phiq_ir::PackedWeightOp,
             mlir::phiq_ir::QuantizeOp>(op) ||
        failed)
      return;
    // A weight that is only quantized is written as its blocks.
    if (isa<WeightOp>(op) && !op->use_empty() &&
        llvm::all_of(op->getUsers(), llvm::IsaPred<mlir::phiq_ir::QuantizeOp>))
      return;
    if (!seen.insert(op).second)
      return;
    std::string name = checkpointName(op);
    auto gguf = ggufTensorName(name);
    if (!gguf) {
      error = "weight '" + name + "' has no GGUF name for llama.cpp's " +
              arch + " architecture";
      failed = true;
      return;
    }
    Source &source = sources[gguf->name];
    source.ggufName = gguf->name;
    if (gguf->expert >= 0) {
      if (source.parts.size() <= size_t(gguf->expert))
        source.parts.resize(size_t(gguf->expert) + 1, nullptr);
      source.parts[gguf->expert] = op;
    } else {
      source.parts = {op};
    }
  });
  if (failed)
    return fail(error);

  for (auto &[name, source] : sources) {
    for (Operation *part : source.parts)
      if (!part)
        return fail("stacked tensor '" + name + "' misses an expert");
    Operation *first = source.parts.front();
    ArrayRef<int64_t> shape = logicalShape(first);
    bool vector = shape.size() == 1;
    bool router = StringRef(name).contains("ffn_gate_inp");
    quant::BlockFormat format =
        storedFormat(first, options.floatType, vector || router);
    for (Operation *part : source.parts)
      if (storedFormat(part, options.floatType, vector || router) != format ||
          logicalShape(part) != shape)
        return fail("the experts of '" + name +
                    "' differ in shape or format; llama.cpp stacks them "
                    "into one tensor");
    // ggml order: innermost (row length) first, experts last.
    SmallVector<uint64_t> dims(shape.rbegin(), shape.rend());
    // Per-expert matrices gain the expert dimension; an already stacked
    // [experts, rows, cols] weight has it.
    if (shape.size() == 2 &&
        (source.parts.size() > 1 || StringRef(name).ends_with("_exps.weight")))
      dims.push_back(source.parts.size());
    int64_t rows = 1;
    for (int64_t d : shape.drop_back())
      rows *= d;
    if (quant::mlxAffineLayout(format)) {
      auto target = mlxTargetFormat(first, format, options);
      if (!target)
        return target.takeError();
      format = *target;
    }
    if (quant::formatInfo(format).ggmlType < 0)
      return fail("tensor '" + name + "' is in " +
                  quant::formatInfo(format).name +
                  (quant::mlxAffineLayout(format)
                       ? ", an MLX format llama.cpp cannot read; quantize "
                       : ", an ONNX Runtime format llama.cpp cannot read; "
                         "quantize ") +
                  "with --phiq-quantize-weights for GGUF");
    auto rowBytes = quant::rowBytes(format, shape.back());
    if (!rowBytes)
      return fail("tensor '" + name + "': " +
                  llvm::toString(rowBytes.takeError()));
    uint64_t partBytes = uint64_t(rows * *rowBytes);
    auto parts = source.parts;
    bool measure = options.measureError &&
                   isa<mlir::phiq_ir::QuantizeOp>(parts.front());
    WrittenTensor report;
    report.name = name;
    report.format = format;
    report.elements = rows * shape.back() * int64_t(parts.size());
    report.bytes = partBytes * parts.size();
    if (Error e = writer.addTensor(
            name, GGMLType(quant::formatInfo(format).ggmlType), dims,
            partBytes * parts.size(),
            [parts, format, partBytes, measure, report, &progress,
             &options](MutableArrayRef<uint8_t> out) mutable -> Error {
              quant::QuantizationError error;
              for (size_t i = 0; i < parts.size(); ++i)
                if (Error e = fillPart(parts[i], format,
                                       out.slice(i * partBytes, partBytes),
                                       measure ? &error : nullptr, options))
                  return e;
              if (measure)
                report.relativeRmse =
                    error.squaredNorm > 0
                        ? std::sqrt(error.squaredError / error.squaredNorm)
                        : 0.0;
              progress.report(report);
              return Error::success();
            }))
      return e;
  }

  // Longrope factors, sized by the rotary dimensions / 2.
  if (rope.getKind() == RopeKind::LongRope) {
    for (auto [tensorName, factors] :
         {std::pair{"rope_factors_long.weight", rope.getLongFactor()},
          std::pair{"rope_factors_short.weight", rope.getShortFactor()}}) {
      std::vector<float> values(factors.asArrayRef().begin(),
                                factors.asArrayRef().end());
      WrittenTensor report;
      report.name = tensorName;
      report.format = quant::BlockFormat::F32;
      report.elements = int64_t(values.size());
      report.bytes = values.size() * sizeof(float);
      if (Error e = writer.addTensor(
              tensorName, GGMLType::F32, {uint64_t(values.size())},
              values.size() * sizeof(float),
              [values, report,
               &progress](MutableArrayRef<uint8_t> out) mutable -> Error {
                std::memcpy(out.data(), values.data(), out.size());
                progress.report(report);
                return Error::success();
              }))
        return e;
    }
  }
  (void)headDim;
  progress.count = progress.total();
  return writer.write(path);
}
