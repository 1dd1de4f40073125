//===- phi-run.cpp - Run a phi model: eval, generate ------------*- C++ -*-===//
//
// The command-line face of the reference executor:
//   phi-run eval MODEL --tokens FILE.i32 [--seq-len T] [--logits-out F]
//   phi-run generate MODEL --prompt TEXT [--chat] [--max-new-tokens N] ...
// MODEL is a Hugging Face folder or a GGUF file (imported on the fly) or a
// .mlir file holding one phi.model. All errors are printed here, with a
// non-zero exit.
//
//===----------------------------------------------------------------------===//
#include "phiq/InitAll.h"
#include "phiq/Runtime/Generate.h"
#include "phiq/Runtime/Kernels.h"
#include "phiq/Target/GGUF/ImportGGUF.h"
#include "phiq/Target/HF/Import.h"
#include "phiq/Target/MLX/ImportMLX.h"
#include "phiq/Target/ONNX/ImportONNX.h"
#include "phiq/Target/OpenVINO/ImportOpenVINO.h"
#include "phiq/Tokenizer/Tokenizer.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileOutputBuffer.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstring>

using namespace mlir;
using namespace phiq;
namespace cl = llvm::cl;

static cl::SubCommand evalCmd("eval", "mean NLL and perplexity of token windows");
static cl::SubCommand generateCmd("generate", "continue a prompt");

static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<model folder, .gguf or .mlir>"),
                                      cl::sub(evalCmd), cl::sub(generateCmd));
static cl::opt<std::string>
    tokenizerDir("tokenizer",
                 cl::desc("tokenizer folder (default: the model's checkpoint)"),
                 cl::sub(evalCmd), cl::sub(generateCmd));
static cl::opt<bool> jsonOutput("json", cl::desc("print results as JSON"),
                                cl::sub(evalCmd), cl::sub(generateCmd));
static cl::opt<bool> llamaCppArithmetic(
    "llamacpp-arithmetic",
    cl::desc("round matmul activations as llama.cpp's CPU backend does "
             "(Q8_0/Q8_K/fp16 rows), to predict a GGUF file's numbers there"),
    cl::sub(evalCmd), cl::sub(generateCmd));

// eval
static cl::opt<std::string> tokensFile(
    "tokens", cl::Required,
    cl::desc("int32 little-endian token file holding [B, T] ids"),
    cl::sub(evalCmd));
static cl::opt<int64_t> seqLen("seq-len", cl::desc("T, tokens per window"),
                               cl::init(256), cl::sub(evalCmd));
static cl::opt<int64_t> chunk("chunk", cl::desc("windows per forward pass"),
                              cl::init(8), cl::sub(evalCmd));
static cl::opt<int64_t> prefillTokens(
    "prefill",
    cl::desc("score as a runtime decodes: prefill this many tokens of each "
             "window (--chunk windows per pass), then one token per pass "
             "through the KV cache (0: one full-sequence pass)"),
    cl::init(0), cl::sub(evalCmd));
static cl::opt<std::string>
    logitsOut("logits-out",
              cl::desc("write window 0's logits [T, vocab] as float32 here"),
              cl::sub(evalCmd));
static cl::opt<bool>
    allLogits("all-windows",
              cl::desc("--logits-out writes every window's logits [B, T, V]"),
              cl::sub(evalCmd));

static cl::opt<bool> routingStats(
    "routing-stats",
    cl::desc("print how often each expert of each MoE layer was chosen"),
    cl::sub(evalCmd));

// generate
static cl::opt<std::string> prompt("prompt", cl::desc("prompt text"),
                                   cl::sub(generateCmd));
static cl::list<int32_t> promptIds("prompt-ids", cl::CommaSeparated,
                                   cl::desc("prompt as token ids (a,b,c)"),
                                   cl::sub(generateCmd));
static cl::opt<bool> chat("chat",
                          cl::desc("wrap the prompt as a user message in the "
                                   "checkpoint's chat template"),
                          cl::sub(generateCmd));
static cl::opt<std::string> systemPrompt("system",
                                         cl::desc("system message (--chat)"),
                                         cl::sub(generateCmd));
static cl::opt<int64_t> maxNewTokens("max-new-tokens", cl::init(64),
                                     cl::desc("most tokens to generate"),
                                     cl::sub(generateCmd));
static cl::opt<double> temperature("temperature", cl::init(0.0),
                                   cl::desc("0 = greedy"), cl::sub(generateCmd));
static cl::opt<int64_t> topK("top-k", cl::init(0), cl::desc("0 = off"),
                             cl::sub(generateCmd));
static cl::opt<double> topP("top-p", cl::init(1.0), cl::desc("1 = off"),
                            cl::sub(generateCmd));
static cl::opt<uint64_t> seed("seed", cl::init(0), cl::desc("sampling seed"),
                              cl::sub(generateCmd));
static cl::opt<bool> ignoreEos("ignore-eos",
                               cl::desc("do not stop at end tokens"),
                               cl::sub(generateCmd));

namespace {

int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "phi-run") << message << "\n";
  return 1;
}

/// The model as IR: imported from a folder (checkpoint, MLX or OpenVINO IR),
/// a GGUF or an ONNX file, or
/// parsed from a .mlir file.
llvm::Expected<OwningOpRef<ModuleOp>> loadModel(MLIRContext &context,
                                                StringRef path) {
  if (phiq::onnx::isONNXModel(path))
    return phiq::onnx::importONNX(path, &context);
  if (openvino::isOpenVINOFolder(path))
    return openvino::importOpenVINO(path, &context);
  if (llvm::sys::fs::is_directory(path))
    return mlx::isMLXFolder(path) ? mlx::importMLX(path, &context)
                                  : hf::importCheckpoint(path, &context);
  if (gguf::isGGUFFile(path))
    return gguf::importGGUF(path, &context);
  llvm::SourceMgr sourceMgr;
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  SourceMgrDiagnosticHandler handler(sourceMgr, &context, os);
  auto module = parseSourceFile<ModuleOp>(path, sourceMgr,
                                          ParserConfig(&context));
  if (!module)
    return llvm::createStringError(path + ": cannot load model\n" +
                                   diagnostics);
  return module;
}

/// The checkpoint folder behind a model (for its tokenizer).
std::string checkpointDir(phi::ModelOp model) {
  if (!tokenizerDir.empty())
    return tokenizerDir;
  if (llvm::sys::fs::is_directory(modelPath))
    return modelPath;
  for (NamedAttribute store : model.getStores())
    if (auto path = llvm::dyn_cast<StringAttr>(store.getValue()))
      return llvm::sys::fs::is_directory(path.getValue())
                 ? path.getValue().str()
                 : llvm::sys::path::parent_path(path.getValue()).str();
  return ".";
}

/// Writes `bytes` to `path` through a temporary file (no partial output).
llvm::Error writeFile(StringRef path, const void *data, size_t size) {
  auto buffer = llvm::FileOutputBuffer::create(path, size);
  if (!buffer)
    return buffer.takeError();
  std::memcpy((*buffer)->getBufferStart(), data, size);
  return (*buffer)->commit();
}

int runEval(rt::Executor &executor) {
  auto file = llvm::MemoryBuffer::getFile(tokensFile, /*IsText=*/false,
                                          /*RequiresNullTerminator=*/false);
  if (!file)
    return fail(tokensFile + ": " + file.getError().message());
  size_t bytes = (*file)->getBufferSize();
  if (seqLen < 2)
    return fail("--seq-len must be at least 2");
  if (bytes % 4 != 0 || bytes / 4 % size_t(seqLen) != 0 || bytes == 0)
    return fail(tokensFile + ": " + std::to_string(bytes) +
                " bytes is not a whole number of int32 windows of " +
                std::to_string(seqLen) + " tokens");
  std::vector<int32_t> tokens(bytes / 4);
  std::memcpy(tokens.data(), (*file)->getBufferStart(), bytes);
  int64_t windows = int64_t(tokens.size()) / seqLen;

  std::vector<float> firstLogits;
  auto start = std::chrono::steady_clock::now();
  if (prefillTokens && !logitsOut.empty())
    return fail("--logits-out needs the full-sequence pass (no --prefill)");
  auto result =
      prefillTokens
          ? rt::evaluateDecoding(executor, tokens, windows, seqLen,
                                 prefillTokens, chunk)
          : rt::evaluate(executor, tokens, windows, seqLen, chunk,
                         logitsOut.empty() ? nullptr : &firstLogits,
                         allLogits);
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  if (!result)
    return fail(llvm::toString(result.takeError()));
  if (!logitsOut.empty())
    if (llvm::Error e = writeFile(logitsOut, firstLogits.data(),
                                  firstLogits.size() * sizeof(float)))
      return fail(logitsOut + ": " + llvm::toString(std::move(e)));
  double tokensPerSecond = double(tokens.size()) / seconds;
  double gflops =
      tokensPerSecond * double(executor.matmulFlopsPerToken()) / 1e9;
  // Per layer: the share of routing choices that went to each expert.
  llvm::json::Array routing;
  for (const std::vector<int64_t> &layer : executor.expertCounts()) {
    int64_t total = 0;
    for (int64_t c : layer)
      total += c;
    llvm::json::Array shares;
    for (int64_t c : layer)
      shares.push_back(total ? double(c) / double(total) : 0.0);
    routing.push_back(std::move(shares));
  }
  if (jsonOutput) {
    llvm::json::Object out{{"windows", windows},
                           {"seq_len", int64_t(seqLen)},
                           {"prefill", int64_t(prefillTokens)},
                           {"chunk", int64_t(chunk)},
                           {"predictions", result->predictions},
                           {"mean_nll", result->meanNll},
                           {"perplexity", result->perplexity},
                           {"top1_accuracy", result->top1Accuracy},
                           {"seconds", seconds},
                           {"tokens_per_second", tokensPerSecond},
                           {"matmul_gflops", gflops}};
    if (routingStats)
      out["expert_share"] = std::move(routing);
    llvm::outs() << llvm::json::Value(std::move(out)) << "\n";
  } else {
    llvm::outs() << llvm::formatv(
        "eval: {0} windows x {1} tokens, {2} predictions\n"
        "  mean NLL   {3:F6}\n  perplexity {4:F6}\n  top-1      {5:F4}\n"
        "  {6:F0} tokens/s, {7:F1} GFLOP/s in matmuls ({8:F2} s)\n",
        windows, int64_t(seqLen), result->predictions, result->meanNll,
        result->perplexity, result->top1Accuracy, tokensPerSecond, gflops,
        seconds);
    if (routingStats) {
      if (executor.expertCounts().empty())
        llvm::outs() << "  routing: the model has no MoE layers\n";
      for (auto [layer, counts] : llvm::enumerate(executor.expertCounts())) {
        llvm::outs() << llvm::formatv("  router {0}: experts chosen", layer);
        int64_t total = 0;
        for (int64_t c : counts)
          total += c;
        for (auto [e, c] : llvm::enumerate(counts))
          llvm::outs() << llvm::formatv(" {0}:{1:P1}", e,
                                        total ? double(c) / total : 0.0);
        llvm::outs() << "\n";
      }
    }
  }
  return 0;
}

int runGenerate(rt::Executor &executor, phi::ModelOp model) {
  std::unique_ptr<tok::Tokenizer> tokenizer;
  auto loadTokenizer = [&]() -> bool {
    // The tokenizer comes from a checkpoint folder; a GGUF file's own
    // vocabulary is not read.
    bool fromGGUF = gguf::isGGUFFile(modelPath);
    for (NamedAttribute store : model.getStores())
      if (auto path = llvm::dyn_cast<StringAttr>(store.getValue()))
        fromGGUF |= gguf::isGGUFFile(path.getValue());
    if (fromGGUF && tokenizerDir.empty()) {
      fail(modelPath + ": the model comes from a GGUF file; give the "
                       "tokenizer folder with --tokenizer DIR (or use "
                       "--prompt-ids)");
      return false;
    }
    auto loaded = tok::Tokenizer::load(checkpointDir(model));
    if (!loaded) {
      fail(llvm::toString(loaded.takeError()));
      return false;
    }
    tokenizer = std::move(*loaded);
    return true;
  };
  std::vector<int32_t> ids(promptIds.begin(), promptIds.end());
  std::string promptText;
  if (ids.empty()) {
    if (prompt.empty())
      return fail("give --prompt TEXT or --prompt-ids a,b,c");
    if (!loadTokenizer())
      return 1;
    promptText = prompt;
    if (chat) {
      std::vector<tok::ChatMessage> messages;
      if (!systemPrompt.empty())
        messages.push_back({"system", systemPrompt});
      messages.push_back({"user", prompt});
      auto rendered = tokenizer->applyChatTemplate(messages, true);
      if (!rendered)
        return fail(llvm::toString(rendered.takeError()));
      promptText = *rendered;
    }
    ids = tokenizer->encode(promptText);
  } else if (chat || !prompt.empty()) {
    return fail("--prompt-ids cannot be combined with --prompt or --chat");
  }

  rt::GenerateOptions options;
  options.maxNewTokens = maxNewTokens;
  options.sampling.temperature = temperature;
  options.sampling.topK = topK;
  options.sampling.topP = topP;
  options.sampling.seed = seed;
  if (!ignoreEos)
    for (int64_t id : model.getConfig().getEosTokenIds().asArrayRef())
      options.stopTokens.push_back(id);

  bool stream = !jsonOutput && tokenizer;
  if (stream)
    llvm::outs() << promptText;
  // Stream by decoding prompt + continuation and printing what is new:
  // decoding the continuation alone would drop the space SentencePiece
  // keeps at the start of a word, and byte-fallback pieces only become
  // text once complete.
  std::vector<int32_t> soFar = ids;
  std::string printed = stream ? tokenizer->decode(ids) : std::string();
  auto result = rt::generate(executor, ids, options, [&](int32_t id) {
    if (!stream)
      return;
    soFar.push_back(id);
    std::string text = tokenizer->decode(soFar);
    if (StringRef(text).starts_with(printed)) {
      llvm::outs() << StringRef(text).drop_front(printed.size());
      llvm::outs().flush();
      printed = std::move(text);
    }
  });
  if (!result)
    return fail(llvm::toString(result.takeError()));
  double decodeRate = result->tokens.size() > 1
                          ? double(result->tokens.size() - 1) /
                                result->decodeSeconds
                          : 0.0;
  if (jsonOutput) {
    llvm::json::Array newIds, inIds;
    for (int32_t id : result->tokens)
      newIds.push_back(id);
    for (int32_t id : ids)
      inIds.push_back(id);
    llvm::json::Object out{
        {"prompt_ids", std::move(inIds)},
        {"new_ids", std::move(newIds)},
        {"stopped_by", result->stoppedBy ? llvm::json::Value(*result->stoppedBy)
                                         : llvm::json::Value(nullptr)},
        {"prefill_seconds", result->prefillSeconds},
        {"decode_tokens_per_second", decodeRate}};
    if (tokenizer) {
      out["prompt_text"] = promptText;
      out["new_text"] = tokenizer->decode(result->tokens);
    }
    llvm::outs() << llvm::json::Value(std::move(out)) << "\n";
  } else {
    if (!stream)
      for (int32_t id : result->tokens)
        llvm::outs() << id << " ";
    llvm::outs() << "\n";
    llvm::outs().flush(); // the statistics line follows the text
    llvm::errs() << llvm::formatv(
        "[{0} prompt tokens, {1} new, {2}; {3:F1} tokens/s decode]\n",
        result->promptTokens, result->tokens.size(),
        result->stoppedBy ? "stopped at end token " +
                                std::to_string(*result->stoppedBy)
                          : std::string("length limit"),
        decodeRate);
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv,
                              "PhiQ runner: evaluate or generate with the "
                              "reference executor\n");
  if (!evalCmd && !generateCmd)
    return fail("choose a command: phi-run eval ... or phi-run generate ... "
                "(see --help)");

  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  auto module = loadModel(context, modelPath);
  if (!module)
    return fail(llvm::toString(module.takeError()));
  auto models = llvm::to_vector((*module)->getOps<phi::ModelOp>());
  if (models.size() != 1)
    return fail(modelPath + ": expected exactly one phi.model, found " +
                std::to_string(models.size()));
  rt::Executor::Options options;
  options.llamaCppArithmetic = llamaCppArithmetic;
  auto executor = rt::Executor::create(models.front(), options);
  if (!executor)
    return fail(llvm::toString(executor.takeError()));
  if (evalCmd)
    return runEval(**executor);
  return runGenerate(**executor, models.front());
}
