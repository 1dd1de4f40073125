// RUN: rm -rf %t && mkdir -p %t
// RUN: phi-translate --import-hf %models/phi35-tiny | phi-opt --phiq-quantize-weights="type=Q4_K_M output=%t/q4km.safetensors" | FileCheck %s --check-prefix=Q4KM
// RUN: phi-translate --import-hf %models/phi35-tiny | phi-opt --phiq-quantize-weights="type=Q4_0 pure=true output=%t/pure.safetensors" | FileCheck %s --check-prefix=PURE
// RUN: phi-translate --import-hf %models/phi35-tiny | phi-opt --phiq-quantize-weights="type=Q4_0 tensor-type=attn_qkv=Q8_0,output=F16 output=%t/over.safetensors" | FileCheck %s --check-prefix=OVERRIDE
// RUN: phi-translate --import-hf %models/phimoe-tiny | phi-opt --phiq-quantize-weights="type=Q4_K_M output=%t/moe.safetensors" 2>%t/moe.err | FileCheck %s --check-prefix=MOE
// RUN: FileCheck %s --check-prefix=FALLBACK < %t/moe.err

// llama-quantize's Q4_K_M mixture on Phi-3.5 (6 layers): the output gets
// Q6_K; attn_qkv (an attn_v-like tensor) and ffn_down get Q6_K in the
// use_more_bits layers (2 and 5 of 6: every third after the first eighth,
// and the last eighth) and Q4_K elsewhere; norms stay bf16
// and the model now reads a second store.
// Q4KM: stores = {model = "{{.*}}phi35-tiny", quantized = "{{.*}}q4km.safetensors"}
// Q4KM: phiq.packed_weight #phi.param<"quantized"::"model.embed_tokens.weight"> : tensor<{{[0-9]+}}xui8> -> !phiq.blocks<3520x256, Q4_K>
// Q4KM: phi.weight #phi.param<"model"::"model.layers.0.input_layernorm.weight"> : tensor<256xbf16>
// Q4KM: phiq.packed_weight #phi.param<"quantized"::"model.layers.0.self_attn.qkv_proj.weight"> {{.*}} -> !phiq.blocks<768x256, Q4_K>
// Q4KM: phiq.packed_weight #phi.param<"quantized"::"model.layers.0.self_attn.o_proj.weight"> {{.*}} -> !phiq.blocks<256x256, Q4_K>
// Q4KM: phiq.packed_weight #phi.param<"quantized"::"model.layers.0.mlp.gate_up_proj.weight"> {{.*}} -> !phiq.blocks<1536x256, Q4_K>
// Q4KM: phiq.packed_weight #phi.param<"quantized"::"model.layers.0.mlp.down_proj.weight"> {{.*}} -> !phiq.blocks<256x768, Q4_K>
// Q4KM: phiq.packed_weight #phi.param<"quantized"::"model.layers.1.self_attn.qkv_proj.weight"> {{.*}} -> !phiq.blocks<768x256, Q4_K>
// Q4KM: phiq.packed_weight #phi.param<"quantized"::"model.layers.1.mlp.down_proj.weight"> {{.*}} -> !phiq.blocks<256x768, Q4_K>
// Q4KM: phiq.packed_weight #phi.param<"quantized"::"model.layers.2.self_attn.qkv_proj.weight"> {{.*}} -> !phiq.blocks<768x256, Q6_K>
// Q4KM: phiq.packed_weight #phi.param<"quantized"::"model.layers.2.mlp.down_proj.weight"> {{.*}} -> !phiq.blocks<256x768, Q6_K>
// Q4KM: phiq.packed_weight #phi.param<"quantized"::"model.layers.3.self_attn.qkv_proj.weight"> {{.*}} -> !phiq.blocks<768x256, Q4_K>
// Q4KM: phiq.packed_weight #phi.param<"quantized"::"lm_head.weight"> {{.*}} -> !phiq.blocks<3520x256, Q6_K>
// Q4KM: phiq.dequantize %{{.*}} : !phiq.blocks<3520x256, Q6_K> -> tensor<3520x256xf32>

// --pure: one format everywhere, the output included.
// PURE-NOT: Q6_K
// PURE: phiq.packed_weight #phi.param<"quantized"::"lm_head.weight"> {{.*}} -> !phiq.blocks<3520x256, Q4_0>

// Overrides match GGUF names (attn_qkv) and win over the mixture.
// OVERRIDE: model.layers.0.self_attn.qkv_proj.weight"> {{.*}} -> !phiq.blocks<768x256, Q8_0>
// OVERRIDE: model.layers.0.mlp.gate_up_proj.weight"> {{.*}} -> !phiq.blocks<1536x256, Q4_0>
// OVERRIDE: "lm_head.weight"> {{.*}} -> !phiq.blocks<3520x256, F16>

// PhiMoE: experts quantized one by one, the router kept; ffn_down rows of
// 384 do not fit K-quants and fall back as llama-quantize does.
// MOE: phi.weight #phi.param<"model"::"model.layers.0.block_sparse_moe.gate.weight"> : tensor<4x256xbf16>
// MOE: experts.0.w1.weight"> {{.*}} -> !phiq.blocks<384x256, Q4_K>
// (layers 0 and 1 want Q4_K -> Q5_0, layers 2 and 3 Q6_K -> Q8_0, as
// llama.cpp's own Q4_K_M file of this model shows).
// MOE: experts.0.w2.weight"> {{.*}} -> !phiq.blocks<256x384, Q5_0>
// MOE: model.layers.2.block_sparse_moe.experts.0.w2.weight"> {{.*}} -> !phiq.blocks<256x384, Q8_0>
// FALLBACK: warning: tensor 'model.layers.0.block_sparse_moe.experts.0.w2.weight': rows of 384 elements do not fit Q4_K (blocks of 256); using Q5_0
// FALLBACK: warning: tensor 'model.layers.2.block_sparse_moe.experts.0.w2.weight': rows of 384 elements do not fit Q6_K (blocks of 256); using Q8_0
