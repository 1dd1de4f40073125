//===- PhiAttrs.cpp - phi dialect attributes --------------------*- C++ -*-===//
//
// Verifiers and helpers of #phi.param, #phi.rope and #phi.config. The rope
// helpers compute inv_freq the way transformers does, in fp32, so that every
// consumer (the reference executor, emitters) agrees on the numbers.
//
//===----------------------------------------------------------------------===//
#include "dialects/Phi/PhiAttrs.h"
#include "dialects/Phi/PhiDialect.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::phi;

#include "dialects/Phi/PhiEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Phi/PhiAttrs.cpp.inc"

void PhiDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/Phi/PhiAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// ParamAttr
//===----------------------------------------------------------------------===//

Attribute ParamAttr::parse(AsmParser &parser, Type type) {
  std::string scope, key;
  if (parser.parseLess() || parser.parseString(&scope) ||
      parser.parseColon() || parser.parseColon() ||
      parser.parseString(&key) || parser.parseGreater())
    return {};
  if (!type) {
    parser.emitError(parser.getCurrentLocation(),
                     "#phi.param needs a type: #phi.param<...> : tensor<...>");
    return {};
  }
  return parser.getChecked<ParamAttr>(
      parser.getContext(), StringAttr::get(parser.getContext(), scope),
      StringAttr::get(parser.getContext(), key), type);
}

void ParamAttr::print(AsmPrinter &printer) const {
  printer << '<';
  printer.printString(getScope().getValue());
  printer << "::";
  printer.printString(getKey().getValue());
  printer << '>';
}

LogicalResult ParamAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                StringAttr scope, StringAttr key, Type type) {
  if (!scope || scope.getValue().empty())
    return emitError() << "parameter store name must not be empty";
  if (!key || key.getValue().empty())
    return emitError() << "parameter name must not be empty";
  auto shaped = llvm::dyn_cast<RankedTensorType>(type);
  if (!shaped || !shaped.hasStaticShape())
    return emitError() << "parameter '" << key.getValue()
                       << "' must have a statically shaped tensor type, got "
                       << type;
  return success();
}

//===----------------------------------------------------------------------===//
// RopeAttr
//===----------------------------------------------------------------------===//

LogicalResult RopeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               RopeKind kind, FloatAttr theta,
                               int64_t rotaryDim, int64_t originalMax,
                               int64_t max, FloatAttr attentionFactor,
                               DenseF64ArrayAttr shortFactor,
                               DenseF64ArrayAttr longFactor,
                               FloatAttr longAttentionFactor) {
  if (!theta || theta.getValueAsDouble() <= 0.0)
    return emitError() << "rope theta must be positive";
  if (rotaryDim <= 0 || rotaryDim % 2 != 0)
    return emitError() << "rope rotary_dim must be positive and even, got "
                       << rotaryDim;
  if (originalMax <= 0 || max <= 0)
    return emitError() << "rope context lengths must be positive";
  if (!attentionFactor || attentionFactor.getValueAsDouble() <= 0.0)
    return emitError() << "rope attention_factor must be positive";
  if (longAttentionFactor && !(longAttentionFactor.getValueAsDouble() > 0.0))
    return emitError() << "rope long_attention_factor must be positive";
  if (kind == RopeKind::Default) {
    if (longAttentionFactor)
      return emitError() << "default rope has no long_attention_factor";
    if (shortFactor || longFactor)
      return emitError() << "default rope takes no short/long factors";
    return success();
  }
  if (!shortFactor || !longFactor)
    return emitError() << "longrope needs both short_factor and long_factor";
  int64_t expected = rotaryDim / 2;
  if (shortFactor.size() != expected)
    return emitError() << "longrope short_factor has " << shortFactor.size()
                       << " entries, expected rotary_dim / 2 = " << expected;
  if (longFactor.size() != expected)
    return emitError() << "longrope long_factor has " << longFactor.size()
                       << " entries, expected rotary_dim / 2 = " << expected;
  for (double f : llvm::concat<const double>(shortFactor.asArrayRef(),
                                             longFactor.asArrayRef()))
    if (!(f > 0.0))
      return emitError() << "longrope factors must be positive, got " << f;
  return success();
}

double RopeAttr::impliedAttentionFactor(RopeKind kind, int64_t originalMax,
                                        int64_t max) {
  if (kind != RopeKind::LongRope)
    return 1.0;
  double scale = double(max) / double(originalMax);
  if (scale <= 1.0)
    return 1.0;
  return std::sqrt(1.0 + std::log(scale) / std::log(double(originalMax)));
}

void RopeAttr::computeInvFreq(int64_t maxPosition,
                              SmallVectorImpl<float> &out) const {
  // transformers: inv_freq = 1 / (ext * base ** (arange(0, dim, 2) / dim)),
  // evaluated in float32 with ext = long_factor once the pass reaches past
  // the original context, short_factor before.
  int64_t half = getRotaryDim() / 2;
  out.resize(half);
  float base = float(getTheta().getValueAsDouble());
  ArrayRef<double> ext;
  if (getKind() == RopeKind::LongRope)
    ext = usesLongFactors(maxPosition) ? getLongFactor().asArrayRef()
                                       : getShortFactor().asArrayRef();
  for (int64_t i = 0; i < half; ++i) {
    float exponent = float(2 * i) / float(getRotaryDim());
    float freq = std::pow(base, exponent);
    float factor = ext.empty() ? 1.0f : float(ext[i]);
    out[i] = 1.0f / (factor * freq);
  }
}

bool RopeAttr::usesLongFactors(int64_t maxPosition) const {
  return getKind() == RopeKind::LongRope &&
         maxPosition + 1 > getOriginalMaxPositions();
}

double RopeAttr::getCosSinScale(int64_t maxPosition) const {
  if (usesLongFactors(maxPosition) && getLongAttentionFactor())
    return getLongAttentionFactor().getValueAsDouble();
  return getAttentionFactor().getValueAsDouble();
}

//===----------------------------------------------------------------------===//
// ConfigAttr
//===----------------------------------------------------------------------===//

LogicalResult ConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 StringAttr architecture, int64_t vocabSize,
                                 int64_t hiddenSize, int64_t numLayers,
                                 int64_t maxPositions, int64_t bosTokenId,
                                 DenseI64ArrayAttr eosTokenIds,
                                 int64_t padTokenId, BoolAttr tied) {
  if (vocabSize <= 0 || hiddenSize <= 0 || numLayers <= 0 || maxPositions <= 0)
    return emitError() << "config sizes (vocab_size, hidden_size, num_layers, "
                          "max_positions) must be positive";
  auto checkToken = [&](int64_t id, StringRef what) -> LogicalResult {
    if (id < 0 || id >= vocabSize)
      return emitError() << "config " << what << " " << id
                         << " is outside the vocabulary [0, " << vocabSize
                         << ")";
    return success();
  };
  if (failed(checkToken(bosTokenId, "bos_token_id")) ||
      failed(checkToken(padTokenId, "pad_token_id")))
    return failure();
  if (!eosTokenIds || eosTokenIds.empty())
    return emitError() << "config needs at least one eos token id";
  for (int64_t id : eosTokenIds.asArrayRef())
    if (failed(checkToken(id, "eos token id")))
      return failure();
  return success();
}
