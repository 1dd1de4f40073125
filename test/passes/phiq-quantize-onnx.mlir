// RUN: rm -rf %t && mkdir -p %t
// RUN: phi-translate --import-hf %models/phi35-tiny | phi-opt --phiq-quantize-onnx | FileCheck %s --check-prefix=DEFAULT
// RUN: phi-translate --import-hf %models/phi35-tiny | phi-opt --phiq-quantize-onnx="bits=8 block-size=128 symmetric=true scales=f16 output=%t/q8.safetensors" | FileCheck %s --check-prefix=PACKED
// RUN: phi-translate --import-hf %models/phi35-tiny | phi-opt --phiq-quantize-onnx="quantize-lm-head=false quantize-embedding=true block-size=64 symmetric=true" | FileCheck %s --check-prefix=EMBED
// RUN: phi-translate --import-hf %models/phi4-mini-tiny | phi-opt --phiq-quantize-onnx="block-size=128" | FileCheck %s --check-prefix=TIED
// RUN: phi-translate --import-hf %models/phi4-mini-tiny | phi-opt --phiq-quantize-onnx="quantize-lm-head=false" | FileCheck %s --check-prefix=TIEDFLOAT
// RUN: phi-translate --import-hf %models/phi35-tiny | phi-opt --phiq-quantize-onnx="bits=8 qdq=true output=%t/qdq.safetensors" | FileCheck %s --check-prefix=QDQ
// RUN: phi-translate --import-hf %models/phi35-tiny | phi-opt --phiq-quantize-onnx="bits=8 qdq=true activations=dynamic" | FileCheck %s --check-prefix=W8A8
// RUN: phi-translate --import-hf %models/phi35-tiny -o %t/p.mlir
// RUN: not phi-opt %t/p.mlir --phiq-quantize-onnx="activations=dynamic" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADACTQDQ
// RUN: not phi-opt %t/p.mlir --phiq-quantize-onnx="bits=8 qdq=true activations=per_token" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADACT
// RUN: not phi-opt %t/p.mlir --phiq-quantize-onnx="bits=8 qdq=true activations=static" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADSTATIC
// RUN: not phi-opt %t/p.mlir --phiq-quantize-onnx="bits=8 qdq=true algorithm=smoothquant smooth-alpha=1.5" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADALPHA
// RUN: not phi-opt %t/p.mlir --phiq-quantize-onnx="qdq=true" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADQDQBITS
// RUN: not phi-opt %t/p.mlir --phiq-quantize-onnx="bits=8 qdq=true scales=f16" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADQDQSCALES
// RUN: not phi-opt %t/p.mlir --phiq-quantize-onnx="bits=8 block-size=16" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADBLOCK
// RUN: not phi-opt %t/p.mlir --phiq-quantize-onnx="scales=bf16" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADSCALES

// Default: 4-bit, blocks of 32, stored zero points, fp32 scales; every
// linear and the lm_head deferred, the embedding and norms kept.
// DEFAULT: %[[E:.*]] = phi.weight #phi.param<"model"::"model.embed_tokens.weight"> : tensor<3520x256xbf16>
// DEFAULT-NEXT: phi.embedding %{{.*}}, %[[E]] : (tensor<?x?xi32>, tensor<3520x256xbf16>)
// DEFAULT: phi.weight #phi.param<"model"::"model.layers.0.input_layernorm.weight"> : tensor<256xbf16>
// DEFAULT: phiq.quantize %{{.*}} : tensor<768x256xbf16> -> !phiq.blocks<768x256, MNB4_G32_ASYM>
// DEFAULT: phiq.quantize %{{.*}} : tensor<256x256xbf16> -> !phiq.blocks<256x256, MNB4_G32_ASYM>
// DEFAULT: phiq.quantize %{{.*}} : tensor<1536x256xbf16> -> !phiq.blocks<1536x256, MNB4_G32_ASYM>
// DEFAULT: phiq.quantize %{{.*}} : tensor<256x768xbf16> -> !phiq.blocks<256x768, MNB4_G32_ASYM>
// DEFAULT: %[[H:.*]] = phiq.quantize %{{.*}} : tensor<3520x256xbf16> -> !phiq.blocks<3520x256, MNB4_G32_ASYM>
// DEFAULT-NEXT: %[[HD:.*]] = phiq.dequantize %[[H]]
// DEFAULT-NEXT: phi.lm_head %{{.*}}, %[[HD]]

// With output=, the blocks are packed into a new store: 8-bit symmetric
// g128 with fp16 scales is 128 + 2 bytes per 128 elements.
// PACKED: stores = {model = "{{.*}}phi35-tiny", quantized = "{{.*}}q8.safetensors"}
// PACKED: phiq.packed_weight #phi.param<"quantized"::"model.layers.0.self_attn.qkv_proj.weight"> : tensor<199680xui8> -> !phiq.blocks<768x256, MNB8_G128_SYM_F16>
// PACKED: phiq.packed_weight #phi.param<"quantized"::"lm_head.weight"> : tensor<{{[0-9]+}}xui8> -> !phiq.blocks<3520x256, MNB8_G128_SYM_F16>
// PACKED-NOT: phiq.quantize

// qdq=true: one f32 scale and 256 int8 codes per row, whatever block-size.
// QDQ: phiq.packed_weight #phi.param<"quantized"::"model.layers.0.self_attn.qkv_proj.weight"> : tensor<199680xui8> -> !phiq.blocks<768x256, QDQ8_CHANNEL>
// QDQ: phiq.packed_weight #phi.param<"quantized"::"lm_head.weight"> : tensor<915200xui8> -> !phiq.blocks<3520x256, QDQ8_CHANNEL>

// The embedding on request, the lm_head kept float.
// EMBED: phiq.quantize %{{.*}} : tensor<3520x256xbf16> -> !phiq.blocks<3520x256, MNB4_G64_SYM>
// EMBED: %[[H:.*]] = phi.weight #phi.param<"model"::"lm_head.weight"> : tensor<3520x256xbf16>
// EMBED-NEXT: phi.lm_head %{{.*}}, %[[H]]

// Tied embeddings: the lm_head reads blocks of the shared table, the
// embedding keeps reading the float table itself.
// TIED: %[[T:.*]] = phi.weight #phi.param<"model"::"model.embed_tokens.weight"> : tensor<4032x256xbf16>
// TIED-NEXT: %[[Q:.*]] = phiq.quantize %[[T]] : tensor<4032x256xbf16> -> !phiq.blocks<4032x256, MNB4_G128_ASYM>
// TIED-NEXT: %[[D:.*]] = phiq.dequantize %[[Q]]
// TIED-NEXT: phi.embedding %{{.*}}, %[[T]]
// TIED: phi.lm_head %{{.*}}, %[[D]]
// TIEDFLOAT-NOT: tensor<4032x256xbf16> -> !phiq.blocks
// TIEDFLOAT: phi.lm_head %{{.*}}, %{{.*}} : (tensor<?x?x256xf32>, tensor<4032x256xbf16>)

// BADBLOCK: error: no MatMulNBits format has bits = 8 and block-size = 16; 4 bits take blocks of 16, 32, 64 or 128, 8 bits 32, 64 or 128
// BADSCALES: error: scales must be f32 or f16, got 'bf16'
// BADQDQBITS: error: qdq=true is per-channel symmetric int8 with f32 scales: it needs bits=8 and scales=f32, got bits=4 and scales=f32
// BADQDQSCALES: error: qdq=true is per-channel symmetric int8 with f32 scales: it needs bits=8 and scales=f32, got bits=8 and scales=f16

// activations=dynamic: every linear and the lm_head read their input
// through a run-time uint8 quantization.
// W8A8: %[[N:.*]] = phi.rms_norm
// W8A8: %[[Q:.*]] = phiq.quantize_activation "dynamic" %[[N]] : tensor<?x?x256xf32>
// W8A8-NEXT: phi.linear %[[Q]], %{{.*}} : (tensor<?x?x256xf32>, tensor<768x256xf32>) -> tensor<?x?x768xf32>
// W8A8: phiq.dequantize %{{.*}} : !phiq.blocks<3520x256, QDQ8_CHANNEL>
// W8A8-NEXT: %[[H:.*]] = phiq.quantize_activation "dynamic" %{{.*}} : tensor<?x?x256xf32>
// W8A8-NEXT: phi.lm_head %[[H]], %{{.*}}
// BADACTQDQ: error: activations=dynamic quantizes the inputs of int8 per-channel weights: it needs qdq=true
// BADACT: error: activations must be none, dynamic or static, got 'per_token'
// BADSTATIC: error: activations=static takes its ranges from SmoothQuant's calibration: it needs algorithm=smoothquant
// BADALPHA: error: smooth-alpha must be in [0, 1], got 1.5
