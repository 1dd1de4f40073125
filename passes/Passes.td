//===- Passes.td - PhiQ passes ------------------------------*- tablegen -*-===//
//
// Every PhiQ pass, declared once; flags read `phiq-<verb>-<noun>`.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_PASSES_TD
#define PHIQ_PASSES_TD

include "mlir/Pass/PassBase.td"

def PrintModelSummary : Pass<"phiq-print-model-summary", "mlir::ModuleOp"> {
  let summary = "Print the structure of each phi.model";
  let description = [{
    Prints, for every `phi.model`, the architecture, layer count, attention
    shape (heads, kv heads, head dim), rotary settings, MLP width, whether
    embeddings are tied, and the parameters by element type (count and
    bytes). Reads only the IR: no weight bytes are touched. The IR is left
    unchanged.
  }];
  let options = [
    Option<"asJson", "json", "bool", /*default=*/"false",
           "print one JSON object per model instead of text">,
  ];
  let dependentDialects = ["mlir::phi::PhiDialect"];
}

def EmulateLlamaCpp : Pass<"phiq-emulate-llamacpp", "mlir::ModuleOp"> {
  let summary = "Rewrite a model to compute what llama.cpp computes for it";
  let description = [{
    llama.cpp runs PhiMoE through its phi3 graph, which differs from the
    checkpoint's math in two places: every LayerNorm becomes an RMS norm
    plus the LayerNorm's bias, and the experts are picked by softmax over
    all router logits, top-k, with the k weights renormalized to sum to
    one (instead of sparsemixer). This pass makes exactly those two
    rewrites, so that the reference executor predicts what a GGUF file will
    do in llama.cpp. Dense Phi-3 models are left unchanged.

    On phimoe-tiny the two semantics are far apart: perplexity 6.290 with
    the checkpoint's math, 7.467 after this pass (llama.cpp's own F32 GGUF
    measures 7.4674).
  }];
  let dependentDialects = ["mlir::phi::PhiDialect"];
}

def QuantizeWeights : Pass<"phiq-quantize-weights", "mlir::ModuleOp"> {
  let summary = "Quantize a model's weights into GGUF block formats";
  let description = [{
    Chooses a block format for every matrix of each `phi.model` the way
    llama-quantize does for the file type `type` (Q4_K_M, Q8_0, ...: the same
    per-tensor mixture rules), applies `tensor-type` overrides
    (`REGEX=TYPE`, matched against the GGUF and the checkpoint name, first
    match wins), and falls back to a 32-element format where a row length
    does not fit a K-quant (a warning, or an error with `no-fallback`).
    Norms, biases and MoE routers stay as they are; `pure` skips the
    mixture rules.

    Each quantized `phi.weight` gets a `phiq.quantize` to its blocks and a
    `phiq.dequantize` back, so the model's other ops are unchanged. Without
    `output` the quantization stays deferred: a consumer packs each tensor
    when it reads it (the GGUF writer quantizes straight into the file,
    which is how `phi-quantize` streams a model through in the memory of
    one tensor). With `output`, the blocks are packed now, tensor by
    tensor, into that safetensors file (through a temporary file, renamed
    at the end), registered as the store `store` of the model, and every
    `phiq.quantize` becomes a `phiq.packed_weight` of those bytes.

    `algorithm=gptq` quantizes every linear weight (and the lm_head) with
    GPTQ against the Hessian X^T X that the calibration side store
    `calibration` holds for it (`<weight key>.hessian`), honouring the
    target block format: each block's scales are chosen by the format's own
    search, weighted by diag(H), when the sweep reaches the block, and the
    result is the format's exact bytes. It packs while the pass runs, so it
    needs `output`; embeddings and MoE experts keep round-to-nearest.
    `algorithm=awq` searches a per-input-channel scale s = m^alpha (m the
    RMS activation of the channel, alpha on a grid of 20) minimizing the
    output error on the calibration statistics (X^T X when the store has
    it, else the per-channel sum of squares), multiplies the weight's
    columns by s and divides the producer of its input by s: the rms_norm
    weight (rewritten as f32 into `output`), the `up` rows of the linear
    before a GLU, or the `v` rows of the qkv linear before an attention
    without shared key/value heads. `awq+gptq` runs GPTQ on the scaled
    weight with the Hessian of the scaled activations.
  }];
  let options = [
    Option<"type", "type", "std::string", /*default=*/"\"Q4_K_M\"",
           "llama.cpp file type: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, "
           "Q5_1, Q2_K, Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S, "
           "Q5_K_M, Q6_K, IQ4_NL">,
    Option<"pure", "pure", "bool", /*default=*/"false",
           "one format for every quantized tensor (no mixture rules)">,
    ListOption<"tensorTypes", "tensor-type", "std::string",
               "per-tensor override REGEX=TYPE (repeatable)">,
    Option<"noFallback", "no-fallback", "bool", /*default=*/"false",
           "make a tensor whose rows do not fit its format an error">,
    Option<"output", "output", "std::string", /*default=*/"\"\"",
           "safetensors file that receives the packed weights (empty: "
           "leave the quantization deferred)">,
    Option<"algorithm", "algorithm", "std::string", /*default=*/"\"rtn\"",
           "rtn (round to nearest, with the format's own scale search), "
           "gptq (error compensation), awq (activation-aware channel "
           "scales folded into the preceding op) or awq+gptq; all but rtn "
           "need calibration= and output=">,
    Option<"calibration", "calibration", "std::string", /*default=*/"\"\"",
           "calibration side store (safetensors with <weight>.hessian)">,
    Option<"gptqDamp", "gptq-damp", "double", /*default=*/"0.01",
           "GPTQ dampening, a fraction of the Hessian's mean diagonal">,
    Option<"gptqActOrder", "gptq-act-order", "bool", /*default=*/"false",
           "GPTQ visits columns by decreasing Hessian diagonal">,
    Option<"gptqBlock", "gptq-block", "int64_t", /*default=*/"128",
           "GPTQ columns per lazy update">,
    Option<"storeName", "store", "std::string", /*default=*/"\"quantized\"",
           "name of the parameter store the packed weights are read from">,
  ];
  let statistics = [
    Statistic<"numQuantized", "quantized-tensors", "tensors quantized">,
    Statistic<"numFallbacks", "fallbacks", "tensors that fell back">,
    Statistic<"packedBytes", "packed-bytes", "bytes of packed weights">,
  ];
  let dependentDialects = ["mlir::phi::PhiDialect", "mlir::phiq_ir::PhiQDialect"];
}

def QuantizeONNX : Pass<"phiq-quantize-onnx", "mlir::ModuleOp"> {
  let summary = "Quantize a model's weights for ONNX Runtime's MatMulNBits";
  let description = [{
    The ONNX counterpart of `--phiq-quantize-weights`: every linear weight
    (attention, MLP, MoE experts) is stored in one MatMulNBits block format,
    `MNB<bits>_G<block-size>_<SYM|ASYM>[_F16]`, quantized by round to
    nearest exactly as ONNX Runtime's own `MatMul4BitsQuantizer` /
    `quantize_matmul_4bits` (and `_8bits`) computes it, so the ONNX writer
    emits `com.microsoft.MatMulNBits` with the bytes ORT's tool would have
    written. `symmetric` uses the implicit zero point 2^(bits-1) (no
    `zero_points` input); otherwise every block stores one. `scales=f16`
    stores fp16 scales (exact in an fp16 export); `f32` (the default)
    keeps ORT's fp32 scales.

    The lm_head is quantized unless `quantize-lm-head=false`; the token
    embedding only with `quantize-embedding` (the ONNX writer then decodes
    it for its Gather, so this changes the values, not the file size). With
    tied embeddings the two uses are decided separately: the lm_head can
    read blocks while the embedding keeps the float table. A weight whose
    rows are not a whole number of blocks stays float, with a warning.

    As in `--phiq-quantize-weights`, the quantization is deferred
    (`phiq.quantize`, packed by whoever reads it) unless `output` names a
    safetensors file to pack into now.

    `algorithm=gptq` quantizes every linear weight (and the lm_head) with
    GPTQ against the Hessian X^T X that the calibration side store
    `calibration` holds for it (`<weight key>.hessian`), honouring the
    target block format: each block's scales are chosen by the format's own
    search, weighted by diag(H), when the sweep reaches the block, and the
    result is the format's exact bytes. It packs while the pass runs, so it
    needs `output`; embeddings and MoE experts keep round-to-nearest.
    `algorithm=awq` searches a per-input-channel scale s = m^alpha (m the
    RMS activation of the channel, alpha on a grid of 20) minimizing the
    output error on the calibration statistics (X^T X when the store has
    it, else the per-channel sum of squares), multiplies the weight's
    columns by s and divides the producer of its input by s: the rms_norm
    weight (rewritten as f32 into `output`), the `up` rows of the linear
    before a GLU, or the `v` rows of the qkv linear before an attention
    without shared key/value heads. `awq+gptq` runs GPTQ on the scaled
    weight with the Hessian of the scaled activations.
  }];
  let options = [
    Option<"bits", "bits", "int64_t", /*default=*/"4", "bits per code: 4 or 8">,
    Option<"blockSize", "block-size", "int64_t", /*default=*/"32",
           "elements per scale: 16, 32, 64 or 128 (8 bits: 32..128)">,
    Option<"symmetric", "symmetric", "bool", /*default=*/"false",
           "implicit zero point 2^(bits-1) instead of a stored one">,
    Option<"scales", "scales", "std::string", /*default=*/"\"f32\"",
           "scale type: f32 or f16">,
    Option<"quantizeLmHead", "quantize-lm-head", "bool", /*default=*/"true",
           "quantize the output projection">,
    Option<"quantizeEmbedding", "quantize-embedding", "bool",
           /*default=*/"false", "quantize the token embedding table">,
    Option<"output", "output", "std::string", /*default=*/"\"\"",
           "safetensors file that receives the packed weights (empty: "
           "leave the quantization deferred)">,
    Option<"algorithm", "algorithm", "std::string", /*default=*/"\"rtn\"",
           "rtn (round to nearest, with the format's own scale search), "
           "gptq (error compensation), awq (activation-aware channel "
           "scales folded into the preceding op) or awq+gptq; all but rtn "
           "need calibration= and output=">,
    Option<"calibration", "calibration", "std::string", /*default=*/"\"\"",
           "calibration side store (safetensors with <weight>.hessian)">,
    Option<"gptqDamp", "gptq-damp", "double", /*default=*/"0.01",
           "GPTQ dampening, a fraction of the Hessian's mean diagonal">,
    Option<"gptqActOrder", "gptq-act-order", "bool", /*default=*/"false",
           "GPTQ visits columns by decreasing Hessian diagonal">,
    Option<"gptqBlock", "gptq-block", "int64_t", /*default=*/"128",
           "GPTQ columns per lazy update">,
    Option<"storeName", "store", "std::string", /*default=*/"\"quantized\"",
           "name of the parameter store the packed weights are read from">,
  ];
  let statistics = [
    Statistic<"numQuantized", "quantized-tensors", "tensors quantized">,
    Statistic<"numKept", "kept-float", "tensors kept float (rows do not fit)">,
    Statistic<"packedBytes", "packed-bytes", "bytes of packed weights">,
  ];
  let dependentDialects = ["mlir::phi::PhiDialect", "mlir::phiq_ir::PhiQDialect"];
}

#endif // PHIQ_PASSES_TD
