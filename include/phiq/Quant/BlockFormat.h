//===- BlockFormat.h - ggml block formats: quantize, dequantize -*- C++ -*-===//
//
// The weight formats llama.cpp loads from GGUF, described once and coded
// once: the float formats (F32, F16, BF16), the legacy 32-element blocks
// (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1), the K-quants with 256-element
// super-blocks (Q2_K ... Q6_K) and IQ4_NL. Every byte layout is ggml's, so
// llama.cpp decodes what we write. Where ggml's quantizer is plain
// round-to-nearest (the legacy formats without an importance vector, and
// the float formats) our bytes are identical to ggml's; for the K-quants and
// IQ4_NL (and the legacy formats under an importance vector) we search
// scales against the decoded values themselves, which beats ggml's own
// search in weighted squared error on every weight of the tiny models
// (test/Quant/ggml-blocks.test).
//
// Matrices are row-major, `cols` elements per row; every row is quantized on
// its own (ggml's convention), so a row is a whole number of blocks.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_QUANT_BLOCKFORMAT_H
#define PHIQ_QUANT_BLOCKFORMAT_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>

namespace phiq::quant {

enum class BlockFormat {
  F32,
  F16,
  BF16,
  Q8_0,
  Q4_0,
  Q4_1,
  Q5_0,
  Q5_1,
  Q2_K,
  Q3_K,
  Q4_K,
  Q5_K,
  Q6_K,
  IQ4_NL,
  // ONNX Runtime's com.microsoft.MatMulNBits blocks (MatMulNBits.cpp):
  // MNB<bits>_G<block size>_<SYM|ASYM>[_F16 for fp16 scales].
  MNB4_G16_SYM, MNB4_G16_ASYM, MNB4_G16_SYM_F16, MNB4_G16_ASYM_F16,
  MNB4_G32_SYM, MNB4_G32_ASYM, MNB4_G32_SYM_F16, MNB4_G32_ASYM_F16,
  MNB4_G64_SYM, MNB4_G64_ASYM, MNB4_G64_SYM_F16, MNB4_G64_ASYM_F16,
  MNB4_G128_SYM, MNB4_G128_ASYM, MNB4_G128_SYM_F16, MNB4_G128_ASYM_F16,
  MNB8_G32_SYM, MNB8_G32_ASYM, MNB8_G32_SYM_F16, MNB8_G32_ASYM_F16,
  MNB8_G64_SYM, MNB8_G64_ASYM, MNB8_G64_SYM_F16, MNB8_G64_ASYM_F16,
  MNB8_G128_SYM, MNB8_G128_ASYM, MNB8_G128_SYM_F16, MNB8_G128_ASYM_F16,
  // NNCF's compress_weights groups for OpenVINO IR (NNCF.cpp): the bytes of
  // MNB4_G<group>_<ASYM|SYM>_F16, rounded as NNCF rounds. U4 is INT4_ASYM
  // (u4 codes and zero point), I4 is INT4_SYM (i4 codes).
  NNCF_U4_G64, NNCF_U4_G128, NNCF_I4_G64, NNCF_I4_G128,
  // NNCF's INT8_ASYM, per channel: each row is {f16 scale, u8 zero point,
  // one u8 code per element}.
  NNCF_U8_CHANNEL,
  // Apple MLX's affine groups (MLXAffine.cpp): MLX<bits>_G<group size>_<scale
  // and bias type>, bits 2..8 (not 7), groups of 32, 64 or 128.
#define PHIQ_MLX_GROUPS(BITS)                                                  \
  MLX##BITS##_G32_F32, MLX##BITS##_G32_F16, MLX##BITS##_G32_BF16,              \
      MLX##BITS##_G64_F32, MLX##BITS##_G64_F16, MLX##BITS##_G64_BF16,          \
      MLX##BITS##_G128_F32, MLX##BITS##_G128_F16, MLX##BITS##_G128_BF16
  PHIQ_MLX_GROUPS(2), PHIQ_MLX_GROUPS(3), PHIQ_MLX_GROUPS(4),
  PHIQ_MLX_GROUPS(5), PHIQ_MLX_GROUPS(6), PHIQ_MLX_GROUPS(8),
#undef PHIQ_MLX_GROUPS
  // ONNX QDQ per channel (QDQ.cpp): each row is {f32 scale, one int8 code
  // per element}, zero point 0, as onnxruntime.quantization computes
  // per-channel symmetric int8 weights; the ONNX writer emits it as
  // DequantizeLinear(axis=0).
  QDQ8_CHANNEL,
};

/// Every GGUF (ggml) format, in the order of the enum.
llvm::ArrayRef<BlockFormat> allBlockFormats();

/// Every NNCF format, in the order of the enum.
llvm::ArrayRef<BlockFormat> nncfFormats();

/// The NNCF format with these parameters (bits 4 with groups of 64 or 128;
/// bits 8 with groupSize -1, per channel).
std::optional<BlockFormat> nncfFormat(int bits, int64_t groupSize,
                                      bool symmetric);

/// Every MatMulNBits format, in the order of the enum.
llvm::ArrayRef<BlockFormat> matMulNBitsFormats();

/// Every MLX affine format, in the order of the enum.
llvm::ArrayRef<BlockFormat> mlxAffineFormats();

struct FormatInfo {
  /// The name GGUF tools print ("Q4_K").
  llvm::StringRef name;
  /// ggml's `enum ggml_type` value, the tensor type id stored in GGUF; -1
  /// for the formats GGUF cannot store (MatMulNBits, MLX).
  int ggmlType;
  /// Elements per block and bytes per block (1 and the element size for
  /// the float formats).
  int64_t blockElements;
  int64_t blockBytes;
  /// A K-quant: 256-element super-blocks with quantized sub-block scales.
  bool kQuant;
  /// Bytes every row starts with before its blocks: the scale and zero
  /// point of a per-channel format (one group per row), 0 otherwise.
  int64_t rowHeaderBytes = 0;
};

const FormatInfo &formatInfo(BlockFormat format);

/// ONNX Runtime's MatMulNBits block (com.microsoft contrib op), stored by
/// PhiQ one block at a time as {scale: f32 or f16; zero point: u8, only
/// when asymmetric; codes: blockSize * bits / 8 bytes, element order, low
/// nibble first for 4 bits}. w = scale * (q - zp), zp = 2^(bits-1) when
/// symmetric. The ONNX writer splits the blocks into MatMulNBits' B,
/// scales and zero_points inputs without touching a code.
struct MatMulNBitsLayout {
  int bits;
  int64_t blockSize;
  bool symmetric;
  bool fp16Scales;
  int64_t scaleBytes() const { return fp16Scales ? 2 : 4; }
  int64_t zeroPointBytes() const { return symmetric ? 0 : 1; }
  int64_t codeBytes() const { return blockSize * bits / 8; }
  int64_t blockBytes() const {
    return scaleBytes() + zeroPointBytes() + codeBytes();
  }
  /// The implicit zero point of the symmetric blocks (8 or 128).
  int midCode() const { return 1 << (bits - 1); }
};

/// The layout of a MatMulNBits or NNCF format (an NNCF group is stored
/// exactly as the MatMulNBits block of the same shape with fp16 scales);
/// nullopt for the GGUF formats.
std::optional<MatMulNBitsLayout> matMulNBitsLayout(BlockFormat format);

/// The MatMulNBits format with these parameters, if PhiQ has one (bits 4
/// with blocks of 16..128, bits 8 with 32..128).
std::optional<BlockFormat> matMulNBitsFormat(int bits, int64_t blockSize,
                                             bool symmetric, bool fp16Scales);

/// The float type of an MLX group's scale and bias: the model's dtype.
enum class MLXScaleType { F32, F16, BF16 };

/// Apple MLX's affine quantization (mx.quantize, mode "affine"), stored by
/// PhiQ one group at a time as {scale; bias: both in `scaleType`; codes:
/// groupSize * bits / 8 bytes, an LSB-first bit stream in element order}.
/// w = scale * q + bias. MLX keeps the same codes as a uint32 tensor
/// [rows, cols * bits / 32] (little-endian words, element i of a word at
/// bit i * bits for 2, 4 and 8 bits; 3, 5 and 6 bits run across bytes the
/// same way) and the scales and biases as [rows, cols / groupSize]; the
/// MLX writer splits our groups into those three tensors.
struct MLXAffineLayout {
  int bits;
  int64_t groupSize;
  MLXScaleType scaleType;
  int64_t scaleBytes() const { return scaleType == MLXScaleType::F32 ? 4 : 2; }
  int64_t codeBytes() const { return groupSize * bits / 8; }
  int64_t blockBytes() const { return 2 * scaleBytes() + codeBytes(); }
};

/// The layout of an MLX format; nullopt for the others.
std::optional<MLXAffineLayout> mlxAffineLayout(BlockFormat format);

/// The MLX format with these parameters, if there is one (bits 2, 3, 4,
/// 5, 6 or 8; groups of 32, 64 or 128).
std::optional<BlockFormat> mlxAffineFormat(int bits, int64_t groupSize,
                                           MLXScaleType scaleType);

/// "f32", "f16", "bf16" (the scheme's and MLX's names of the type).
llvm::StringRef mlxScaleTypeName(MLXScaleType type);

/// Case-insensitive: "q4_k", "Q4_K" and "iq4_nl" all parse.
std::optional<BlockFormat> parseBlockFormat(llvm::StringRef name);

/// Bytes of one row of `cols` elements; an error when `cols` is not a
/// positive multiple of the format's block size.
llvm::Expected<int64_t> rowBytes(BlockFormat format, int64_t cols);

/// Quantizes `rows` x `cols` row-major floats into `dst`, which must hold
/// exactly rows * rowBytes(format, cols) bytes. `importance`, when given,
/// holds `cols` non-negative weights (llama.cpp's imatrix: the mean squared
/// activation seen by each input column); the formats whose ggml quantizer
/// uses it (Q4_0, Q4_1, Q5_0, Q5_1, the K-quants, IQ4_NL), Q8_0 and the
/// MatMulNBits formats (MatMulNBitsSearch.cpp) then minimize
/// sum(importance[c] * (x - dequantized)^2) instead of the plain squared
/// error. The block formats reject non-finite inputs. Rows are spread over
/// the worker threads.
llvm::Error quantize(BlockFormat format, llvm::ArrayRef<float> src,
                     int64_t rows, int64_t cols,
                     llvm::MutableArrayRef<uint8_t> dst,
                     const float *importance = nullptr);

/// Squared error of a quantization and squared norm of its input, each
/// summed in double in row order (so independent of the thread count):
/// sqrt(error / norm) is the relative RMS error.
struct QuantizationError {
  double squaredError = 0.0;
  double squaredNorm = 0.0;
};

/// Fills `count` rows starting at `firstRow` into `dst` (count x cols).
using RowLoader =
    llvm::function_ref<void(int64_t firstRow, int64_t count, float *dst)>;

/// quantize() for sources that are not a float array in memory (bf16/f16
/// checkpoints, mapped files): each worker loads only the rows it packs
/// into a buffer of its own, so memory stays at a few rows per thread
/// however large the tensor. With `error`, every packed row is also decoded
/// and compared with its input.
llvm::Error quantizeRows(BlockFormat format, int64_t rows, int64_t cols,
                         RowLoader load, llvm::MutableArrayRef<uint8_t> dst,
                         const float *importance = nullptr,
                         QuantizationError *error = nullptr);

/// Decodes rows * rowBytes(format, cols) bytes into rows x cols floats,
/// bit-identical to ggml's `to_float` for the format. Sizes are
/// preconditions (asserted), as for any decoder of bytes we wrote.
void dequantize(BlockFormat format, llvm::ArrayRef<uint8_t> src, int64_t rows,
                int64_t cols, llvm::MutableArrayRef<float> dst);

/// Decodes a MatMulNBits weight stored planar, as ONNX Runtime keeps it:
///   codes  [rows, K / blockSize, blockSize * bits / 8] (low nibble first),
///   scales [rows * K / blockSize] (f32, or f16 when layout.fp16Scales),
///   zeroPoints [rows, ceil(blocks * bits / 8)] (low nibble first, each row
///   padded), empty for the symmetric formats (zp = 2^(bits-1)),
/// into w[r, c] = scale * (q - zp), exactly as the interleaved blocks of the
/// same format decode. Sizes are preconditions (asserted).
void dequantizeMatMulNBitsPlanar(const MatMulNBitsLayout &layout,
                                 llvm::ArrayRef<uint8_t> codes,
                                 llvm::ArrayRef<uint8_t> scales,
                                 llvm::ArrayRef<uint8_t> zeroPoints,
                                 int64_t rows, int64_t cols,
                                 llvm::MutableArrayRef<float> dst);

/// sum over elements of importance[c] * (x[r, c] - dequantize(q)[r, c])^2,
/// importance[c] = 1 when null: the weighted error the quantizers minimize.
/// Accumulated in double.
double weightedSquaredError(BlockFormat format, llvm::ArrayRef<float> src,
                            int64_t rows, int64_t cols,
                            llvm::ArrayRef<uint8_t> quantized,
                            const float *importance = nullptr);

} // namespace phiq::quant

#endif // PHIQ_QUANT_BLOCKFORMAT_H
