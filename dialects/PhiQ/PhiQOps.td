//===- PhiQOps.td - phiq dialect operations -----------------*- tablegen -*-===//
//
// Packed weights, unpacking them, and the ops that use them directly.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_OPS_TD
#define PHIQ_OPS_TD

include "dialects/PhiQ/PhiQTypes.td"
include "dialects/Phi/PhiAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def PhiQ_PackedWeightOp : PhiQ_Op<"packed_weight", [Pure]> {
  let summary = "a packed weight whose bytes are in a parameter store";
  let description = [{
    ```mlir
    %p = phiq.packed_weight #phi.param<"q"::"model.layers.0.mlp.down_proj.weight"> : tensor<36864xui8> -> !phiq.blocks<256x768, Q4_K>
    ```
    The parameter is the packed bytes (a 1-D `ui8` tensor of exactly the
    size the result type's format needs); the result says what they mean.

    MatMulNBits formats (`MNB*`) may instead be stored planar, as ONNX
    Runtime's `com.microsoft.MatMulNBits` keeps them: `bytes` holds only the
    codes (`ui8`, N x K * bits / 8 of them, row by row, low nibble first),
    `scales` the N x K / block_size scales (`f32`, or `f16` for the `_F16`
    formats) and, for the asymmetric formats only, `zero_points` the packed
    zero points (`ui8`, each row ceil(blocks * bits / 8) bytes). The ONNX
    importer refers to an ONNX file's three initializers this way, so they
    are mapped, not copied:
    ```mlir
    %p = phiq.packed_weight #phi.param<"onnx"::"w.qweight"> : tensor<256x8x16xui8> -> !phiq.blocks<256x256, MNB4_G32_ASYM> {scales = #phi.param<"onnx"::"w.scales"> : tensor<2048xf32>, zero_points = #phi.param<"onnx"::"w.zero_points"> : tensor<1024xui8>}
    ```
    `QDQ8_CHANNEL` may be planar too, as a `DequantizeLinear(axis=0)`
    reads it: `bytes` the int8 codes (rows x cols 8-bit integers) and
    `scales` one `f32` per row; its zero point is 0, so it takes none.
  }];
  let arguments = (ins Phi_ParamAttr:$bytes,
                       OptionalAttr<Phi_ParamAttr>:$scales,
                       OptionalAttr<Phi_ParamAttr>:$zero_points);
  let results = (outs PhiQ_BlocksType:$result);
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
  let builders = [OpBuilder<(ins "::mlir::Type":$result,
                                 "::mlir::phi::ParamAttr":$bytes), [{
    build($_builder, $_state, result, bytes, ::mlir::phi::ParamAttr(),
          ::mlir::phi::ParamAttr());
  }]>];
  let extraClassDeclaration = [{
    /// True when the codes, scales and zero points are separate parameters
    /// (MatMulNBits' own layout).
    bool isPlanar() { return static_cast<bool>(getScalesAttr()); }
  }];
}

def PhiQ_DequantizeOp : PhiQ_Op<"dequantize", [Pure]> {
  let summary = "unpacks a packed weight to the float tensor it stands for";
  let description = [{
    `%w = phiq.dequantize %p : !phiq.blocks<256x768, Q4_K> -> tensor<256x768xf32>`
    decodes every block exactly as llama.cpp's dequantizer does.
  }];
  let arguments = (ins PhiQ_BlocksType:$input);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = "$input attr-dict `:` qualified(type($input)) `->` type($result)";
  let hasVerifier = 1;
}

def PhiQ_QuantizeOp : PhiQ_Op<"quantize", [Pure]> {
  let summary = "packs a float weight into blocks, deferred to whoever reads it";
  let description = [{
    `%p = phiq.quantize %w : tensor<256x768xbf16> -> !phiq.blocks<256x768, Q4_K>`
    states that `%w` is stored in the blocks of the result type without
    packing a byte yet. A consumer packs it when it needs the bytes: the
    GGUF writer quantizes each tensor straight into the output file, the
    executor when it loads the model. `--phiq-quantize-weights` with
    `output=FILE` materializes every such op into a `phiq.packed_weight`.

    `importance = "KEY"` makes the packer minimize the error weighted by
    the per-column importance of the entry KEY of the statistics file the
    enclosing `phi.model` names in its `phiq.importance_file` attribute
    (PhiQ's calibration store or a llama.cpp imatrix): the statistics stay
    in that file, only their name is in the IR.
  }];
  let arguments = (ins RankedTensorOf<[F32, F16, BF16]>:$input,
                       OptionalAttr<StrAttr>:$importance);
  let results = (outs PhiQ_BlocksType:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` qualified(type($result))";
  let hasVerifier = 1;
}

def PhiQ_LinearOp : PhiQ_Op<"linear", [Pure]> {
  let summary = "x W^T (+ b) with a packed W";
  let description = [{
    `phi.linear` whose weight stays packed: backends multiply the blocks
    directly instead of materializing the float weight.
  }];
  let arguments = (ins TensorRankOf<[F32], [3]>:$input, PhiQ_BlocksType:$weight,
                       Optional<RankedTensorOf<[F32, F16, BF16]>>:$bias);
  let results = (outs TensorRankOf<[F32], [3]>:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` `(` type($input) `,` qualified(type($weight)) (`,` type($bias)^)? `)` `->` type($result)
  }];
  let hasVerifier = 1;
}

def PhiQ_EmbeddingOp : PhiQ_Op<"embedding", [Pure]> {
  let summary = "token embedding lookup in a packed table";
  let arguments = (ins TensorRankOf<[I32], [2]>:$ids, PhiQ_BlocksType:$table);
  let results = (outs TensorRankOf<[F32], [3]>:$result);
  let assemblyFormat = [{
    $ids `,` $table attr-dict `:` `(` type($ids) `,` qualified(type($table)) `)` `->` type($result)
  }];
  let hasVerifier = 1;
}

def PhiQ_QuantizeActivationOp : PhiQ_Op<"quantize_activation",
                                         [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "a linear's input rounded to uint8 codes (W8A8)";
  let description = [{
    The result is the input quantized to uint8 with one scale and zero point
    for the whole tensor, x ~ (q - zero_point) * scale, and it may only feed
    the input of `phi.linear`, `phi.lm_head` or `phiq.linear`: with a
    `QDQ8_CHANNEL` weight the linear then multiplies the codes with integer
    sums, as ONNX Runtime's MatMulInteger does (see
    `phiq/Quant/ActivationQuant.h` for the exact arithmetic).

    `"dynamic"`: ONNX's DynamicQuantizeLinear, the scale and zero point
    computed at run time from the range of the values in the call (widened
    to include 0), so they depend on which tokens are in one forward pass:
    ```mlir
    %q = phiq.quantize_activation "dynamic" %x : tensor<?x?x256xf32>
    ```
    `"static"`: QuantizeLinear with a calibrated scale and zero point:
    ```mlir
    %q = phiq.quantize_activation "static" %x {scale = 0.0123 : f32, zero_point = 128 : i64} : tensor<?x?x256xf32>
    ```
  }];
  let arguments = (ins TensorRankOf<[F32], [3]>:$input, StrAttr:$mode,
                       OptionalAttr<F32Attr>:$scale,
                       OptionalAttr<I64Attr>:$zero_point);
  let results = (outs TensorRankOf<[F32], [3]>:$result);
  let assemblyFormat = "$mode $input attr-dict `:` type($input)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    bool isDynamic() { return getMode() == "dynamic"; }
  }];
}

#endif // PHIQ_OPS_TD
