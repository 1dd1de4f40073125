//===- PhiQOps.cpp - phiq dialect operations --------------------*- C++ -*-===//
//
// Verifiers: the packed bytes must be exactly what the format needs, and the
// ops that use packed weights obey the same shape rules as their phi twins.
//
//===----------------------------------------------------------------------===//
#include "dialects/PhiQ/PhiQOps.h"
#include "dialects/Phi/PhiOps.h"

#include "phiq/Quant/BlockFormat.h"

#include "mlir/IR/Builders.h"

#include <cmath>

using namespace mlir;
using namespace mlir::phiq_ir;

// `phiq.packed_weight #phi.param<"s"::"k"> : tensor<Nxui8> -> !phiq.blocks<...>`:
// the parameter is printed whole (with its type) so it reads like phi.weight.
ParseResult PackedWeightOp::parse(OpAsmParser &parser, OperationState &result) {
  Attribute bytes;
  Type type;
  if (parser.parseAttribute(bytes) || parser.parseArrow() ||
      parser.parseType(type) ||
      parser.parseOptionalAttrDict(result.attributes))
    return failure();
  auto param = llvm::dyn_cast<phi::ParamAttr>(bytes);
  if (!param)
    return parser.emitError(parser.getCurrentLocation(),
                            "expected a #phi.param for the packed bytes");
  result.addAttribute("bytes", param);
  result.addTypes(type);
  return success();
}

void PackedWeightOp::print(OpAsmPrinter &p) {
  p << ' ';
  p.printAttribute(getBytes());
  p << " -> ";
  p.printType(getType());
  p.printOptionalAttrDict((*this)->getAttrs(), /*elidedAttrs=*/{"bytes"});
}

/// QDQ8_CHANNEL planar, as a DequantizeLinear(axis=0) reads it: int8
/// [rows, cols] codes and one f32 scale per row (the zero point is 0).
static LogicalResult verifyPlanarQDQ(PackedWeightOp op) {
  BlocksType type = op.getType();
  const int64_t rows = type.getNumRows(), cols = type.getRowLength();
  auto codes = llvm::cast<RankedTensorType>(op.getBytes().getType());
  if (!codes.getElementType().isInteger(8) ||
      codes.getNumElements() != rows * cols)
    return op.emitOpError() << rows << "x" << cols
                            << " QDQ8_CHANNEL codes take " << rows * cols
                            << " 8-bit integers, but the parameter is "
                            << codes;
  auto scales = llvm::cast<RankedTensorType>(op.getScalesAttr().getType());
  if (!scales.getElementType().isF32() || scales.getNumElements() != rows)
    return op.emitOpError() << "expected " << rows
                            << " f32 scales, one per row, but the parameter "
                               "is "
                            << scales;
  if (op.getZeroPointsAttr())
    return op.emitOpError("QDQ8_CHANNEL is symmetric and takes no zero "
                          "points");
  return success();
}

/// The planar (MatMulNBits) form: codes, scales and zero points apart.
static LogicalResult verifyPlanar(PackedWeightOp op) {
  BlocksType type = op.getType();
  if (type.getScheme().getBlockFormat() ==
      ::phiq::quant::BlockFormat::QDQ8_CHANNEL)
    return verifyPlanarQDQ(op);
  auto layout =
      ::phiq::quant::matMulNBitsLayout(type.getScheme().getBlockFormat());
  if (!layout)
    return op.emitOpError() << "separate scales are only allowed for the "
                               "MatMulNBits formats (MNB*) and QDQ8_CHANNEL, "
                               "not "
                            << type.getScheme().getFormat();
  const int64_t rows = type.getNumRows(), cols = type.getRowLength();
  const int64_t blocks = rows * (cols / layout->blockSize);
  auto count = [](phi::ParamAttr p) {
    return llvm::cast<RankedTensorType>(p.getType());
  };
  RankedTensorType codes = count(op.getBytes());
  if (!codes.getElementType().isUnsignedInteger(8) ||
      codes.getNumElements() != blocks * layout->codeBytes())
    return op.emitOpError() << rows << "x" << cols << " "
                            << type.getScheme().getFormat() << " codes take "
                            << blocks * layout->codeBytes()
                            << " ui8, but the parameter is " << codes;
  RankedTensorType scales = count(op.getScalesAttr());
  Type scaleType = layout->fp16Scales ? Type(Float16Type::get(op.getContext()))
                                      : Type(Float32Type::get(op.getContext()));
  if (scales.getElementType() != scaleType ||
      scales.getNumElements() != blocks)
    return op.emitOpError() << "expected " << blocks << " " << scaleType
                            << " scales, one per block, but the parameter is "
                            << scales;
  if (layout->symmetric) {
    if (op.getZeroPointsAttr())
      return op.emitOpError() << type.getScheme().getFormat()
                              << " is symmetric and takes no zero points";
    return success();
  }
  if (!op.getZeroPointsAttr())
    return op.emitOpError() << type.getScheme().getFormat()
                            << " is asymmetric and needs zero points";
  RankedTensorType zps = count(op.getZeroPointsAttr());
  const int64_t rowBytes =
      ((cols / layout->blockSize) * layout->bits + 7) / 8;
  if (!zps.getElementType().isUnsignedInteger(8) ||
      zps.getNumElements() != rows * rowBytes)
    return op.emitOpError() << "expected " << rows * rowBytes
                            << " ui8 of packed zero points, but the "
                               "parameter is "
                            << zps;
  return success();
}

LogicalResult PackedWeightOp::verify() {
  if (getScalesAttr())
    return verifyPlanar(*this);
  if (getZeroPointsAttr())
    return emitOpError("zero points need separate scales (the planar "
                       "MatMulNBits form)");
  auto bytes = llvm::cast<RankedTensorType>(getBytes().getType());
  if (bytes.getRank() != 1 || !bytes.getElementType().isUnsignedInteger(8))
    return emitOpError() << "packed bytes must be a 1-D ui8 tensor, got "
                         << bytes;
  BlocksType type = getType();
  if (bytes.getDimSize(0) != type.getTotalBytes())
    return emitOpError() << type.getNumRows() << " rows of "
                         << type.getRowLength() << " "
                         << type.getScheme().getFormat() << " elements take "
                         << type.getTotalBytes() << " bytes, but the parameter "
                         << "holds " << bytes.getDimSize(0);
  return success();
}

LogicalResult DequantizeOp::verify() {
  if (getType() != getInput().getType().getLogicalType())
    return emitOpError() << "result must be "
                         << getInput().getType().getLogicalType()
                         << ", the weight the blocks stand for";
  return success();
}

LogicalResult QuantizeOp::verify() {
  ArrayRef<int64_t> input = getInput().getType().getShape();
  ArrayRef<int64_t> blocks = getType().getShape();
  if (input != blocks)
    return emitOpError() << "input of shape " << getInput().getType()
                         << " cannot fill " << getType()
                         << "; the blocks must have the input's shape";
  if (getImportance()) {
    auto model = (*this)->getParentOfType<phi::ModelOp>();
    if (!model || !model->getAttrOfType<StringAttr>("phiq.importance_file"))
      return emitOpError()
             << "names importance '" << *getImportance()
             << "' but its phi.model has no phiq.importance_file attribute "
                "naming the statistics file";
  }
  return success();
}

LogicalResult LinearOp::verify() {
  BlocksType w = getWeight().getType();
  if (w.getShape().size() != 2)
    return emitOpError("weight must be a packed matrix");
  auto in = getInput().getType(), out = getType();
  if (in.getShape().back() != w.getShape()[1] ||
      out.getShape().back() != w.getShape()[0])
    return emitOpError() << "weight " << w.getShape()[0] << "x"
                         << w.getShape()[1] << " maps "
                         << w.getShape()[1] << " features to "
                         << w.getShape()[0] << ", not "
                         << in.getShape().back() << " to "
                         << out.getShape().back();
  if (getBias()) {
    auto bias = llvm::cast<RankedTensorType>(getBias().getType());
    if (bias.getRank() != 1 || bias.getDimSize(0) != w.getShape()[0])
      return emitOpError() << "bias must have " << w.getShape()[0]
                           << " elements";
  }
  return success();
}

LogicalResult EmbeddingOp::verify() {
  BlocksType t = getTable().getType();
  if (t.getShape().size() != 2)
    return emitOpError("table must be a packed matrix");
  if (getType().getShape().back() != t.getShape()[1])
    return emitOpError() << "result must have the table's "
                         << t.getShape()[1] << " features";
  return success();
}

#define GET_OP_CLASSES
#include "dialects/PhiQ/PhiQOps.cpp.inc"

LogicalResult QuantizeActivationOp::verify() {
  if (getMode() != "dynamic" && getMode() != "static")
    return emitOpError() << "mode must be \"dynamic\" or \"static\", got \""
                         << getMode() << "\"";
  if (isDynamic()) {
    if (getScaleAttr() || getZeroPointAttr())
      return emitOpError("a dynamic quantization computes its scale and zero "
                         "point at run time; remove scale and zero_point");
  } else {
    if (!getScaleAttr() || !getZeroPointAttr())
      return emitOpError("a static quantization needs a scale and a "
                         "zero_point");
    const float scale = getScaleAttr().getValue().convertToFloat();
    if (!(scale > 0.0f) || !std::isfinite(scale))
      return emitOpError() << "scale must be positive and finite, got "
                           << scale;
    const int64_t zp = getZeroPointAttr().getInt();
    if (zp < 0 || zp > 255)
      return emitOpError() << "zero_point " << zp
                           << " is outside uint8's [0, 255]";
  }
  for (OpOperand &use : getResult().getUses()) {
    Operation *user = use.getOwner();
    if (!isa<phi::LinearOp, phi::LmHeadOp, LinearOp>(user) ||
        use.getOperandNumber() != 0)
      return emitOpError() << "quantized activations can only be the input "
                              "of a linear or lm_head, not operand "
                           << use.getOperandNumber() << " of "
                           << user->getName();
  }
  return success();
}
