//===- PhiQAttrs.td - phiq dialect attributes ---------------*- tablegen -*-===//
//
// #phiq.scheme: one block format, described field by field.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_ATTRS_TD
#define PHIQ_ATTRS_TD

include "dialects/PhiQ/PhiQBase.td"

def PhiQ_SchemeAttr : AttrDef<PhiQ_Dialect, "Scheme"> {
  let mnemonic = "scheme";
  let summary = "a weight block format, named and described exactly";
  let description = [{
    ```
    #phiq.scheme<format = "Q4_K", bits = 4, block_size = 32,
                 super_block_size = 256, symmetric = false,
                 scale = "u6*f16", min = "u6*f16", grid = "linear">
    ```
    `format` is the GGUF type name. `bits` per code, `block_size` elements
    per scale; K-quants group 256 elements in a super-block whose fp16 scale
    (and min) multiply per-block quantized scales (`u4*f16`, `u6*f16`,
    `i6*f16`, `i8*f16`). Legacy formats keep one fp16 scale (`f16`) per
    32-element block, and the asymmetric ones an fp16 min too. `grid` is
    `linear` or `iq4_nl` (a fixed non-linear 16-value codebook). Float
    formats (`F32`, `F16`, `BF16`) have block size 1 and no scale.

    ONNX Runtime's `com.microsoft.MatMulNBits` blocks are named
    `MNB<bits>_G<block_size>_<SYM|ASYM>[_F16]`: one `f32` (or, with
    `_F16`, `f16`) scale per block and w = scale * (q - zero_point), with
    `zero_point = "implicit"` (2^(bits-1), MatMulNBits without a
    zero_points input) when symmetric, or a stored one (`u4` for 4 bits,
    `u8` for 8) when not:
    ```
    #phiq.scheme<format = "MNB4_G32_ASYM", bits = 4, block_size = 32,
                 super_block_size = 0, symmetric = false, scale = "f32",
                 min = "none", grid = "linear", zero_point = "u4">
    ```
    Apple MLX's affine groups (mx.quantize, mode "affine") are named
    `MLX<bits>_G<group>_<F32|F16|BF16>`: w = scale * q + bias with one
    scale and one bias per group, both in the model's float type, which is
    what `scale` and `min` state:
    ```
    #phiq.scheme<format = "MLX4_G64_BF16", bits = 4, block_size = 64,
                 super_block_size = 0, symmetric = false, scale = "bf16",
                 min = "bf16", grid = "linear">
    ```
    `zero_point` defaults to `none`, which the GGUF formats have (their
    offsets are part of the code grid or the min). The
    verifier checks that every field is what the named format really is, so
    a scheme can be read without a lookup table and never lies.
  }];
  let parameters = (ins
    StringRefParameter<"GGUF type name">:$format,
    "int64_t":$bits,
    "int64_t":$block_size,
    "int64_t":$super_block_size,
    "bool":$symmetric,
    StringRefParameter<"scale encoding">:$scale,
    StringRefParameter<"min encoding">:$min,
    StringRefParameter<"code grid">:$grid,
    StringRefParameter<"zero point encoding", "\"none\"">:$zero_point);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let builders = [
    AttrBuilder<(ins "::phiq::quant::BlockFormat":$format)>
  ];
  let extraClassDeclaration = [{
    /// The lib/Quant format this scheme names.
    ::phiq::quant::BlockFormat getBlockFormat() const;
    /// Elements per stored block (256 for K-quants, 32 or 1 otherwise).
    int64_t getStorageBlockElements() const;
  }];
}

#endif // PHIQ_ATTRS_TD
