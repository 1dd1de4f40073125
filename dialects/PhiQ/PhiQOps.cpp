//===- PhiQOps.cpp - phiq dialect operations --------------------*- C++ -*-===//
//
// Verifiers: the packed bytes must be exactly what the format needs, and the
// ops that use packed weights obey the same shape rules as their phi twins.
//
//===----------------------------------------------------------------------===//
#include "dialects/PhiQ/PhiQOps.h"
#include "dialects/Phi/PhiOps.h"

#include "mlir/IR/Builders.h"

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

LogicalResult PackedWeightOp::verify() {
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
