//===- GenAIConfig.cpp - genai_config.json for ONNX Runtime GenAI -*- C++ -*-=//
//
// Field names and meanings follow ONNX Runtime GenAI's own model builder
// (onnxruntime_genai/models/builders/base.py, make_genai_config). The KV
// cache is not shared between past and present (the graph concatenates),
// and search defaults to greedy decoding up to the context length; every
// end token the checkpoint declares stops generation, as in phi-run.
//
//===----------------------------------------------------------------------===//
#include "GenAIConfig.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

using namespace phiq::onnx;
using llvm::json::Array;
using llvm::json::Object;

llvm::Error phiq::onnx::writeGenAIConfig(llvm::StringRef path,
                                         const GenAIModelInfo &info) {
  Object inputs{{"input_ids", "input_ids"},
                {"attention_mask", "attention_mask"},
                {"position_ids", "position_ids"},
                {"past_key_names", "past_key_values.%d.key"},
                {"past_value_names", "past_key_values.%d.value"}};
  Object outputs{{"logits", "logits"},
                 {"present_key_names", "present.%d.key"},
                 {"present_value_names", "present.%d.value"}};
  Object decoder{
      {"session_options",
       Object{{"log_id", "onnxruntime-genai"}, {"provider_options", Array{}}}},
      {"filename", info.filename},
      {"head_size", info.headSize},
      {"hidden_size", info.hiddenSize},
      {"inputs", std::move(inputs)},
      {"outputs", std::move(outputs)},
      {"num_attention_heads", info.numHeads},
      {"num_hidden_layers", info.numLayers},
      {"num_key_value_heads", info.numKvHeads}};
  Array eos;
  for (int64_t id : info.eosTokenIds)
    eos.push_back(id);
  Object model{{"bos_token_id", info.bosTokenId},
               {"context_length", info.contextLength},
               {"decoder", std::move(decoder)},
               {"eos_token_id", std::move(eos)},
               {"pad_token_id", info.padTokenId},
               {"type", info.type},
               {"vocab_size", info.vocabSize}};
  Object search{{"diversity_penalty", 0.0},
                {"do_sample", false},
                {"early_stopping", true},
                {"length_penalty", 1.0},
                {"max_length", info.contextLength},
                {"min_length", 0},
                {"no_repeat_ngram_size", 0},
                {"num_beams", 1},
                {"num_return_sequences", 1},
                {"past_present_share_buffer", false},
                {"repetition_penalty", 1.0},
                {"temperature", 1.0},
                {"top_k", 1},
                {"top_p", 1.0}};
  llvm::json::Value root(
      Object{{"model", std::move(model)}, {"search", std::move(search)}});
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return llvm::createStringError(ec, "cannot write " + path + ": " +
                                           ec.message());
  os << llvm::formatv("{0:2}", root) << "\n";
  os.close();
  if (os.has_error())
    return llvm::createStringError(os.error(), "cannot write " + path);
  return llvm::Error::success();
}
