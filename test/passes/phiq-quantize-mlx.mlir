// RUN: rm -rf %t && mkdir -p %t
// RUN: phi-translate --import-hf %models/phi35-tiny | phi-opt --phiq-quantize-mlx | FileCheck %s --check-prefix=DEFAULT
// RUN: phi-translate --import-hf %models/phi35-tiny | phi-opt --phiq-quantize-mlx="bits=3 group-size=32 scales=f32 output=%t/q3.safetensors" | FileCheck %s --check-prefix=PACKED
// RUN: phi-translate --import-hf %models/phi35-tiny | phi-opt --phiq-quantize-mlx="quantize-lm-head=false quantize-embedding=false group-size=128" | FileCheck %s --check-prefix=NOEMBED
// RUN: phi-translate --import-hf %models/phi4-mini-tiny | phi-opt --phiq-quantize-mlx | FileCheck %s --check-prefix=TIED
// RUN: phi-translate --import-hf %models/phimoe-tiny | phi-opt --phiq-quantize-mlx="bits=8" | FileCheck %s --check-prefix=MOE
// RUN: phi-translate --import-hf %models/phi35-tiny -o %t/p.mlir
// RUN: not phi-opt %t/p.mlir --phiq-quantize-mlx="bits=7" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADBITS
// RUN: not phi-opt %t/p.mlir --phiq-quantize-mlx="group-size=16" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADGROUP
// RUN: not phi-opt %t/p.mlir --phiq-quantize-mlx="scales=f8" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADSCALES

// Default: mlx_lm.convert -q's 4 bits in groups of 64, scales and biases in
// the weights' own type (bf16); every linear, the embedding and the lm_head.
// DEFAULT: %[[E:.*]] = phi.weight #phi.param<"model"::"model.embed_tokens.weight"> : tensor<3520x256xbf16>
// DEFAULT-NEXT: %[[EQ:.*]] = phiq.quantize %[[E]] : tensor<3520x256xbf16> -> !phiq.blocks<3520x256, MLX4_G64_BF16>
// DEFAULT-NEXT: %[[ED:.*]] = phiq.dequantize %[[EQ]]
// DEFAULT-NEXT: phi.embedding %{{.*}}, %[[ED]]
// DEFAULT: phi.weight #phi.param<"model"::"model.layers.0.input_layernorm.weight"> : tensor<256xbf16>
// DEFAULT: phiq.quantize %{{.*}} : tensor<768x256xbf16> -> !phiq.blocks<768x256, MLX4_G64_BF16>
// DEFAULT: phiq.quantize %{{.*}} : tensor<256x768xbf16> -> !phiq.blocks<256x768, MLX4_G64_BF16>
// DEFAULT: phiq.quantize %{{.*}} : tensor<3520x256xbf16> -> !phiq.blocks<3520x256, MLX4_G64_BF16>

// With output=, the blocks are packed into a new store: 3 bits in groups of
// 32 with fp32 scale and bias are 4 + 4 + 12 bytes per 32 elements.
// PACKED: phiq.packed_weight #phi.param<"quantized"::"model.layers.0.self_attn.qkv_proj.weight"> : tensor<122880xui8> -> !phiq.blocks<768x256, MLX3_G32_F32>
// PACKED-NOT: phiq.quantize

// NOEMBED: %[[E:.*]] = phi.weight #phi.param<"model"::"model.embed_tokens.weight"> : tensor<3520x256xbf16>
// NOEMBED-NEXT: phi.embedding %{{.*}}, %[[E]]
// NOEMBED: phiq.quantize %{{.*}} : tensor<768x256xbf16> -> !phiq.blocks<768x256, MLX4_G128_BF16>
// NOEMBED: %[[H:.*]] = phi.weight #phi.param<"model"::"lm_head.weight"> : tensor<3520x256xbf16>
// NOEMBED-NEXT: phi.lm_head %{{.*}}, %[[H]]

// Tied embeddings: one quantized table for the embedding and the lm_head,
// as mlx-lm's embed_tokens.as_linear reads it.
// TIED: %[[T:.*]] = phi.weight #phi.param<"model"::"model.embed_tokens.weight"> : tensor<4032x256xbf16>
// TIED-NEXT: %[[Q:.*]] = phiq.quantize %[[T]] : tensor<4032x256xbf16> -> !phiq.blocks<4032x256, MLX4_G64_BF16>
// TIED-NEXT: %[[D:.*]] = phiq.dequantize %[[Q]]
// TIED-NEXT: phi.embedding %{{.*}}, %[[D]]
// TIED: phi.lm_head %{{.*}}, %[[D]]

// PhiMoE: the router and every expert too (mlx-lm quantizes the gate
// nn.Linear and the SwitchGLU).
// MOE: phiq.quantize %{{.*}} : tensor<4x256xbf16> -> !phiq.blocks<4x256, MLX8_G64_BF16>
// MOE: phiq.quantize %{{.*}} : tensor<384x256xbf16> -> !phiq.blocks<384x256, MLX8_G64_BF16>
// MOE: phiq.quantize %{{.*}} : tensor<256x384xbf16> -> !phiq.blocks<256x384, MLX8_G64_BF16>

// BADBITS: error: no MLX affine format has bits = 7 and group-size = 64; bits are 2, 3, 4, 5, 6 or 8 and groups 32, 64 or 128
// BADGROUP: error: no MLX affine format has bits = 4 and group-size = 16; bits are 2, 3, 4, 5, 6 or 8 and groups 32, 64 or 128
// BADSCALES: error: scales must be auto, f32, f16 or bf16, got 'f8'
