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

    With importance statistics (`imatrix`: a `--phiq-calibrate` store or a
    llama.cpp imatrix, GGUF or legacy `.dat`; by default the model's
    `phiq.calibration_stats` when `--phiq-calibrate` ran first) every block
    format minimizes the error weighted by each input column's mean squared
    activation, as `llama-quantize --imatrix` does. The statistics stay in
    their file: the model's `phiq.importance_file` names it and each
    `phiq.quantize` its entry, so deferred packing uses them too.

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

    `target-bpw=X` replaces the mixture rules for every linear weight and
    the lm_head by a measured choice: each candidate format of
    `mixed-formats` that the rows fit is quantized as this pass would
    (`algorithm=rtn` with the importance, or `gptq`), its output error
    trace((W - Q) H (W - Q)^T) per calibration token is measured with the
    Hessian of `calibration` (or, without one, the diagonal of the
    importance statistics), and an exact multiple-choice knapsack picks the
    formats with the least summed error such that all tensor data (every
    parameter of the model: the chosen tensors, the others at their
    formats, float tensors at 4 bytes) stays within X bits per parameter.
    `report=DIR` writes the per-tensor table (format, bits, weighted error,
    sensitivity = the error at Q4_K (or the 4-bit format the rows fit)) as Markdown, CSV and JSON and a
    plot of the error by layer (SVG).
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
    Option<"imatrix", "imatrix", "std::string", /*default=*/"\"\"",
           "importance statistics: a --phiq-calibrate store or a llama.cpp "
           "imatrix (GGUF or legacy .dat); default: the model's "
           "phiq.calibration_stats, if any">,
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
    Option<"gptqRefits", "gptq-refits", "int64_t", /*default=*/"0",
           "GPTQ scale refits: sweeps that choose every block's scales again "
           "from the compensated values the last sweep rounded (kept per row "
           "while the output error falls)">,
    Option<"gptqImportance", "gptq-importance", "std::string",
           /*default=*/"\"diagonal\"",
           "what GPTQ's block scale search weights errors by: diagonal "
           "(diag H) or schur (1 / [H^-1]_ii, the cost left after "
           "compensation)">,
    Option<"storeName", "store", "std::string", /*default=*/"\"quantized\"",
           "name of the parameter store the packed weights are read from">,
    Option<"targetBpw", "target-bpw", "double", /*default=*/"0.0",
           "choose each linear's format by measured error so that the "
           "tensor data has at most this many bits per parameter (0: off)">,
    ListOption<"mixedFormats", "mixed-formats", "std::string",
               "the formats target-bpw chooses from (default: Q2_K, Q3_K, Q4_K, IQ4_NL, Q5_K, Q6_K, Q8_0)">,
    Option<"sensitivity", "sensitivity", "std::string",
           /*default=*/"\"relative\"",
           "what target-bpw minimizes: relative (each tensor's output "
           "error over its output energy; the better allocations measured) "
           "or output (the output error per calibration token)">,
    Option<"report", "report", "std::string", /*default=*/"\"\"",
           "write the per-tensor error report (Markdown, CSV, JSON, SVG) "
           "into this folder">,
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
    embedding only with `quantize-embedding` (the ONNX writer then keeps it
    packed for `com.microsoft.GatherBlockQuantized`). With
    tied embeddings the two uses are decided separately: the lm_head can
    read blocks while the embedding keeps the float table. A weight whose
    rows are not a whole number of blocks stays float, with a warning.

    `qdq=true` (with `bits=8`, scales f32) stores instead
    one f32 scale per output row and int8 codes with zero point 0
    (`QDQ8_CHANNEL`), rounded as onnxruntime.quantization's per-channel
    symmetric weight quantization rounds; the ONNX writer emits it as
    `DequantizeLinear(axis=0)` in front of the MatMul. It is always
    symmetric; `block-size` and `symmetric` do not apply.

    `activations=dynamic` (with `qdq=true`) quantizes the input of every
    linear and of the lm_head with such a weight at run time as well
    (`phiq.quantize_activation "dynamic"`: ONNX's DynamicQuantizeLinear,
    per tensor, uint8, as onnxruntime.quantization's quantize_dynamic
    does); phi-run then multiplies with integer sums, and the ONNX writer
    emits DynamicQuantizeLinear + MatMulInteger + a float rescale. MoE
    experts keep float activations.

    `algorithm=smoothquant` (SmoothQuant, Xiao et al. 2022) migrates
    activation outliers into the weights first: per input channel
    s_j = max|x_j|^alpha / max|W_j|^(1-alpha) (`smooth-alpha`, default 0.5,
    from the calibration store's `<key>.in_absmax`), W diag(s) is
    quantized, and x / s is folded into the producer of x exactly as AWQ
    folds (the rms_norm weight, the `up` rows before a GLU, the `v` rows
    before an attention without shared heads; elsewhere s = 1).
    `activations=static` then quantizes every such linear's input with a
    fixed per-tensor uint8 scale and zero point covering the calibrated
    range [-m, m], m = max_j max|x_j| / s_j (ONNX QuantizeLinear).

    As in `--phiq-quantize-weights`, the quantization is deferred
    (`phiq.quantize`, packed by whoever reads it) unless `output` names a
    safetensors file to pack into now.

    With importance statistics (`imatrix`, or the model's
    `phiq.calibration_stats`) the blocks are not rounded to nearest: each
    block's scale and zero point are searched to minimize the error
    weighted by the input columns' mean squared activation (never worse
    than ORT's rounding in that error); the bytes keep ORT's layout.

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

    `target-bpw=X` replaces the mixture rules for every linear weight and
    the lm_head by a measured choice: each candidate format of
    `mixed-formats` (default: int4 and int8 at the block size) that the rows fit is quantized as this pass would
    (`algorithm=rtn` with the importance, or `gptq`), its output error
    trace((W - Q) H (W - Q)^T) per calibration token is measured with the
    Hessian of `calibration` (or, without one, the diagonal of the
    importance statistics), and an exact multiple-choice knapsack picks the
    formats with the least summed error such that all tensor data (every
    parameter of the model: the chosen tensors, the others at their
    formats, float tensors at 4 bytes) stays within X bits per parameter.
    `report=DIR` writes the per-tensor table (format, bits, weighted error,
    sensitivity = the error at int4 at the block size) as Markdown, CSV and JSON and a
    plot of the error by layer (SVG).
  }];
  let options = [
    Option<"bits", "bits", "int64_t", /*default=*/"4", "bits per code: 4 or 8">,
    Option<"blockSize", "block-size", "int64_t", /*default=*/"32",
           "elements per scale: 16, 32, 64 or 128 (8 bits: 32..128)">,
    Option<"symmetric", "symmetric", "bool", /*default=*/"false",
           "implicit zero point 2^(bits-1) instead of a stored one">,
    Option<"scales", "scales", "std::string", /*default=*/"\"f32\"",
           "scale type: f32 or f16">,
    Option<"qdq", "qdq", "bool", /*default=*/"false",
           "per-channel symmetric int8 for DequantizeLinear (QDQ8_CHANNEL) "
           "instead of MatMulNBits blocks">,
    Option<"quantizeLmHead", "quantize-lm-head", "bool", /*default=*/"true",
           "quantize the output projection">,
    Option<"quantizeEmbedding", "quantize-embedding", "bool",
           /*default=*/"false", "quantize the token embedding table">,
    Option<"output", "output", "std::string", /*default=*/"\"\"",
           "safetensors file that receives the packed weights (empty: "
           "leave the quantization deferred)">,
    Option<"activations", "activations", "std::string",
           /*default=*/"\"none\"",
           "none (float activations), dynamic (per-tensor uint8 at run "
           "time) or static (per-tensor uint8 with calibrated ranges; needs "
           "algorithm=smoothquant); both need qdq=true">,
    Option<"smoothAlpha", "smooth-alpha", "double", /*default=*/"0.5",
           "SmoothQuant's migration strength alpha in [0, 1]">,
    Option<"algorithm", "algorithm", "std::string", /*default=*/"\"rtn\"",
           "rtn (round to nearest, with the format's own scale search), "
           "gptq (error compensation), awq (activation-aware channel "
           "scales folded into the preceding op), awq+gptq or smoothquant "
           "(W8A8 smoothing scales, folded the same way); all but rtn "
           "need calibration= and output=">,
    Option<"calibration", "calibration", "std::string", /*default=*/"\"\"",
           "calibration side store (safetensors with <weight>.hessian)">,
    Option<"gptqDamp", "gptq-damp", "double", /*default=*/"0.01",
           "GPTQ dampening, a fraction of the Hessian's mean diagonal">,
    Option<"gptqActOrder", "gptq-act-order", "bool", /*default=*/"false",
           "GPTQ visits columns by decreasing Hessian diagonal">,
    Option<"gptqBlock", "gptq-block", "int64_t", /*default=*/"128",
           "GPTQ columns per lazy update">,
    Option<"gptqRefits", "gptq-refits", "int64_t", /*default=*/"0",
           "GPTQ scale refits: sweeps that choose every block's scales again "
           "from the compensated values the last sweep rounded (kept per row "
           "while the output error falls)">,
    Option<"gptqImportance", "gptq-importance", "std::string",
           /*default=*/"\"diagonal\"",
           "what GPTQ's block scale search weights errors by: diagonal "
           "(diag H) or schur (1 / [H^-1]_ii, the cost left after "
           "compensation)">,
    Option<"imatrix", "imatrix", "std::string", /*default=*/"\"\"",
           "importance statistics: a --phiq-calibrate store or a llama.cpp "
           "imatrix (GGUF or legacy .dat); default: the model's "
           "phiq.calibration_stats, if any">,
    Option<"storeName", "store", "std::string", /*default=*/"\"quantized\"",
           "name of the parameter store the packed weights are read from">,
    Option<"targetBpw", "target-bpw", "double", /*default=*/"0.0",
           "choose each linear's format by measured error so that the "
           "tensor data has at most this many bits per parameter (0: off)">,
    ListOption<"mixedFormats", "mixed-formats", "std::string",
               "the formats target-bpw chooses from (default: int4 and int8 at block-size)">,
    Option<"sensitivity", "sensitivity", "std::string",
           /*default=*/"\"relative\"",
           "what target-bpw minimizes: relative (each tensor's output "
           "error over its output energy; the better allocations measured) "
           "or output (the output error per calibration token)">,
    Option<"report", "report", "std::string", /*default=*/"\"\"",
           "write the per-tensor error report (Markdown, CSV, JSON, SVG) "
           "into this folder">,
  ];
  let statistics = [
    Statistic<"numQuantized", "quantized-tensors", "tensors quantized">,
    Statistic<"numKept", "kept-float", "tensors kept float (rows do not fit)">,
    Statistic<"packedBytes", "packed-bytes", "bytes of packed weights">,
    Statistic<"numActivations", "quantized-activations",
              "linear inputs quantized (activations=dynamic)">,
  ];
  let dependentDialects = ["mlir::phi::PhiDialect", "mlir::phiq_ir::PhiQDialect"];
}

def QuantizeOpenVINO : Pass<"phiq-quantize-openvino", "mlir::ModuleOp"> {
  let summary = "Quantize a model's weights as NNCF's compress_weights does";
  let description = [{
    The OpenVINO counterpart of `--phiq-quantize-onnx`: every linear weight
    is stored in one NNCF format, `NNCF_<U4|I4>_G<group-size>` or
    `NNCF_U8_CHANNEL`, quantized by NNCF's data-free round to nearest
    (`nncf.compress_weights` with `mode=INT4_ASYM`, `INT4_SYM` or
    `INT8_ASYM`, `group_size`, `ratio=1.0`), so the OpenVINO writer emits
    the u4/i4/u8 constants, f16 scales and u4/u8 zero points NNCF would
    have written for the same f32 weights. INT8_ASYM is per channel
    (`group-size=-1`), as in NNCF. Only `ratio=1.0` is accepted: NNCF's
    smaller ratios pick the layers kept in INT8 by a data-dependent error
    ranking.

    The lm_head is quantized unless `quantize-lm-head=false` (NNCF's
    `all_layers=True`; by default NNCF keeps it in INT8); the token
    embedding only with `quantize-embedding`; PhiMoE's expert weights unless
    `quantize-experts=false`. `int8-embedding-and-head` is NNCF's default
    mix (`all_layers=False`, backup mode INT8_ASYM): the lm_head and the
    token embedding are both quantized, as `NNCF_U8_CHANNEL`, while the
    linears get the 4-bit mode. A weight whose rows are not a
    whole number of groups stays float, with a warning. The quantization
    is deferred (`phiq.quantize`) unless `output` names a safetensors file.
  }];
  let options = [
    Option<"mode", "mode", "std::string", /*default=*/"\"int4_asym\"",
           "NNCF's mode: int4_asym (u4 codes, u4 zero points), int4_sym, "
           "or int8_asym (u8, per channel)">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"128",
           "elements per scale: 64 or 128; -1 (per channel) for int8_asym">,
    Option<"ratio", "ratio", "double", /*default=*/"1.0",
           "share of the weights in 4 bits (only 1.0)">,
    Option<"quantizeLmHead", "quantize-lm-head", "bool", /*default=*/"true",
           "quantize the output projection">,
    Option<"quantizeEmbedding", "quantize-embedding", "bool",
           /*default=*/"false", "quantize the token embedding table">,
    Option<"int8EmbeddingAndHead", "int8-embedding-and-head", "bool",
           /*default=*/"false",
           "NNCF's default mix (all_layers=False): the lm_head and the "
           "embedding in INT8_ASYM per channel, the linears in the mode">,
    Option<"quantizeExperts", "quantize-experts", "bool", /*default=*/"true",
           "quantize the mixture-of-experts gate/up/down weights">,
    Option<"output", "output", "std::string", /*default=*/"\"\"",
           "safetensors file that receives the packed weights (empty: "
           "leave the quantization deferred)">,
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

def QuantizeMLX : Pass<"phiq-quantize-mlx", "mlir::ModuleOp"> {
  let summary = "Quantize a model's weights into Apple MLX's affine groups";
  let description = [{
    The MLX counterpart of `--phiq-quantize-onnx`: every linear weight
    (attention, MLP, MoE router and experts), the lm_head and the token
    embedding are stored in one MLX affine format,
    `MLX<bits>_G<group-size>_<F32|F16|BF16>`, quantized by round to nearest
    exactly as MLX's `mx.quantize` (mode "affine") computes it, so the MLX
    writer emits the packed `uint32` weights, scales and biases that
    `mlx_lm.convert -q` would have written for the same weights. Scales and
    biases take each weight's own float type unless `scales` names one.
    As in mlx-lm, a weight whose rows are not a whole number of groups stays
    float (with a warning).

    As in `--phiq-quantize-weights`, the quantization is deferred
    (`phiq.quantize`, packed by whoever reads it) unless `output` names a
    safetensors file to pack into now.
  }];
  let options = [
    Option<"bits", "bits", "int64_t", /*default=*/"4",
           "bits per code: 2, 3, 4, 5, 6 or 8">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"64",
           "elements per scale and bias: 32, 64 or 128">,
    Option<"scales", "scales", "std::string", /*default=*/"\"auto\"",
           "scale and bias type: auto (the weight's), f32, f16 or bf16">,
    Option<"quantizeLmHead", "quantize-lm-head", "bool", /*default=*/"true",
           "quantize the output projection">,
    Option<"quantizeEmbedding", "quantize-embedding", "bool",
           /*default=*/"true", "quantize the token embedding table">,
    Option<"output", "output", "std::string", /*default=*/"\"\"",
           "safetensors file that receives the packed weights (empty: "
           "leave the quantization deferred)">,
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

def RotateResidual : Pass<"phiq-rotate-residual", "mlir::ModuleOp"> {
  let summary = "Fold an orthogonal rotation of the residual stream into the weights";
  let description = [{
    QuaRot's rotation without online ops: every residual-stream vector x
    becomes x Q (Q orthogonal: a randomized Hadamard matrix, times a random
    orthogonal factor when the width is not a power of two), which spreads
    outlier channels over all channels so that block formats round the
    weights with less error. The model computes the same function: each
    phi.rms_norm that reads the stream has its weight g folded into the
    phi.linear / phi.lm_head weights it feeds (W -> W diag(g) Q) and
    becomes all ones, each phi.linear added into the stream is rotated on
    its output side (W -> Q^T W, bias too), and the embedding table's rows
    are rotated (E -> E Q). The graph keeps its ops, so every writer and
    runtime handles the result unchanged. The stream is followed from the
    phi.embedding through the phi.add chain; any other op reading it is an
    error, and so is a tied embedding table whose final norm weight is not
    all ones (it would need two tensors).

    The rotated weights go, as f32, into the safetensors file `output`
    (through a temporary file), registered as the store `store`. Run it
    before `--phiq-calibrate` (the statistics must be the rotated model's)
    and before the quantization passes.
  }];
  let options = [
    Option<"seed", "seed", "uint64_t", /*default=*/"0",
           "seed of the random signs and orthogonal factor">,
    Option<"output", "output", "std::string", /*default=*/"\"\"",
           "safetensors file that receives the rotated weights (required)">,
    Option<"storeName", "store", "std::string", /*default=*/"\"rotated\"",
           "name of the parameter store the rotated weights are read from">,
  ];
  let statistics = [
    Statistic<"numRotated", "rotated-tensors", "tensors rewritten">,
  ];
  let dependentDialects = ["mlir::phi::PhiDialect"];
}

def Calibrate : Pass<"phiq-calibrate", "mlir::ModuleOp"> {
  let summary = "Collect activation statistics of every linear layer";
  let description = [{
    Runs the model with the reference executor (fp32) on calibration
    tokens, window by window (`seq-len` tokens each, a fresh KV cache per
    window), and collects for every weight that multiplies activations
    (phi.linear, phi.lm_head, each MoE expert's projections -- an expert
    sees only the tokens routed to it) per input channel: the sum of
    squares (llama.cpp's importance matrix is it over the token count), the
    abs-max, the token count and, with `hessian`, X^T X. Memory stays at the
    statistics plus one window's activations.

    The statistics go to the safetensors file `output` (through a temporary
    file): `<weight key>.in_sumsq` [cols], `<key>.in_absmax` [cols],
    `<key>.count` [1] and `<key>.hessian` [cols, cols] (f32; a stacked
    expert tensor has a leading expert dimension). The file is registered as
    the model's store `store` and recorded in the model attribute
    `phiq.calibration_stats` (its absolute path), where
    `--phiq-quantize-weights` / `--phiq-quantize-onnx` find it. `imatrix`
    also writes llama.cpp's importance matrix (GGUF imatrix, or the legacy
    format when the name ends in `.dat`) that `llama-quantize --imatrix`
    reads.

    Tokens come from `tokens` (little-endian int32 ids; the trailing
    partial window is dropped) or from `text`, encoded with the tokenizer of
    `tokenizer` (default: the folder of the model's checkpoint).
  }];
  let options = [
    Option<"tokens", "tokens", "std::string", /*default=*/"\"\"",
           "int32 token file (e.g. reference/calib_tokens.i32)">,
    Option<"text", "text", "std::string", /*default=*/"\"\"",
           "text file to tokenize instead of a token file">,
    Option<"tokenizerDir", "tokenizer", "std::string", /*default=*/"\"\"",
           "tokenizer folder for `text` (default: the model's checkpoint)">,
    Option<"seqLen", "seq-len", "int64_t", /*default=*/"512",
           "tokens per window (llama-imatrix's default chunk is 512)">,
    Option<"maxWindows", "max-windows", "int64_t", /*default=*/"0",
           "use at most this many windows (0: all)">,
    Option<"hessian", "hessian", "bool", /*default=*/"false",
           "also collect X^T X per weight (cols^2 floats each)">,
    Option<"lmHead", "lm-head", "bool", /*default=*/"true",
           "collect the lm_head's input statistics too">,
    Option<"output", "output", "std::string", /*default=*/"\"\"",
           "safetensors file that receives the statistics (required)">,
    Option<"imatrix", "imatrix", "std::string", /*default=*/"\"\"",
           "also write a llama.cpp imatrix file (.dat: legacy format)">,
    Option<"storeName", "store", "std::string", /*default=*/"\"calibration\"",
           "name of the store the statistics are registered as">,
  ];
  let statistics = [
    Statistic<"numWeights", "weights", "weights with statistics">,
    Statistic<"numTokens", "tokens", "calibration tokens run">,
  ];
  let dependentDialects = ["mlir::phi::PhiDialect"];
}

#endif // PHIQ_PASSES_TD
