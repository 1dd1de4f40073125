//===- PhiQTypes.cpp - phiq dialect types -----------------------*- C++ -*-===//
//
// !phiq.blocks: printing as `!phiq.blocks<256x768, Q4_K>` (the scheme is
// implied by its format name) and the shape rules a block format imposes.
//
//===----------------------------------------------------------------------===//
#include "dialects/PhiQ/PhiQTypes.h"
#include "dialects/PhiQ/PhiQDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::phiq_ir;

#define GET_TYPEDEF_CLASSES
#include "dialects/PhiQ/PhiQTypes.cpp.inc"

void PhiQDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialects/PhiQ/PhiQTypes.cpp.inc"
      >();
}

Type BlocksType::parse(AsmParser &parser) {
  SmallVector<int64_t> shape;
  std::string name;
  if (parser.parseLess() ||
      parser.parseDimensionList(shape, /*allowDynamic=*/false,
                                /*withTrailingX=*/false) ||
      parser.parseComma() || parser.parseKeywordOrString(&name) ||
      parser.parseGreater())
    return {};
  std::optional<::phiq::quant::BlockFormat> format =
      ::phiq::quant::parseBlockFormat(name);
  if (!format) {
    parser.emitError(parser.getCurrentLocation(), "unknown block format '")
        << name << "'";
    return {};
  }
  return parser.getChecked<BlocksType>(
      parser.getContext(), shape,
      SchemeAttr::get(parser.getContext(), *format));
}

void BlocksType::print(AsmPrinter &printer) const {
  printer << '<';
  llvm::interleave(getShape(), printer, "x");
  printer << ", " << getScheme().getFormat() << '>';
}

LogicalResult BlocksType::verify(function_ref<InFlightDiagnostic()> emitError,
                                 ArrayRef<int64_t> shape, SchemeAttr scheme) {
  if (shape.size() < 2 || shape.size() > 3)
    return emitError() << "packed weights are 2-D matrices or 3-D stacks of "
                          "them, got rank "
                       << shape.size();
  for (int64_t d : shape)
    if (d <= 0)
      return emitError() << "packed weight dimensions must be positive";
  int64_t block = scheme.getStorageBlockElements();
  if (shape.back() % block != 0)
    return emitError() << scheme.getFormat() << " packs rows in blocks of "
                       << block << " elements, but rows here have "
                       << shape.back()
                       << "; use a format with a smaller block (the "
                          "quantizer's fallback does this) or keep this "
                          "tensor in F16";
  return success();
}

int64_t BlocksType::getNumRows() const {
  int64_t rows = 1;
  for (int64_t d : getShape().drop_back())
    rows *= d;
  return rows;
}

int64_t BlocksType::getRowBytes() const {
  // verify() guarantees the row length is a whole number of blocks.
  return llvm::cantFail(::phiq::quant::rowBytes(getScheme().getBlockFormat(),
                                                getRowLength()));
}

RankedTensorType BlocksType::getLogicalType() const {
  return RankedTensorType::get(getShape(), Float32Type::get(getContext()));
}
