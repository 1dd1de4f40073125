//===- PhiOps.cpp - phi dialect operations ----------------------*- C++ -*-===//
//
// Verifiers of the phi operations. Each one states the shape or attribute
// relation that config.json and the checkpoint must satisfy, in the words a
// user can act on, so that a bad import fails here and not in a kernel.
//
//===----------------------------------------------------------------------===//
#include "dialects/Phi/PhiOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

#include <cmath>

using namespace mlir;
using namespace mlir::phi;

/// The feature (last) dimension of a ranked tensor value.
static int64_t features(Value value) {
  return llvm::cast<RankedTensorType>(value.getType()).getShape().back();
}

/// Fails unless `dim` is static; activations must have static features.
static LogicalResult checkStaticFeatures(Operation *op, Value value,
                                         StringRef what) {
  if (ShapedType::isDynamic(features(value)))
    return op->emitOpError() << what << " must have a static feature dimension";
  return success();
}

/// Batch and sequence dimensions of two activations must agree where both
/// are static.
static LogicalResult checkSameTokens(Operation *op, Value a, Value b,
                                     StringRef what) {
  ArrayRef<int64_t> sa = llvm::cast<RankedTensorType>(a.getType()).getShape();
  ArrayRef<int64_t> sb = llvm::cast<RankedTensorType>(b.getType()).getShape();
  for (int i = 0; i < 2; ++i)
    if (!ShapedType::isDynamic(sa[i]) && !ShapedType::isDynamic(sb[i]) &&
        sa[i] != sb[i])
      return op->emitOpError() << what << " has " << sb[i] << " "
                               << (i == 0 ? "sequences" : "tokens")
                               << " where the input has " << sa[i];
  return success();
}

/// `weight` must be [rows, cols].
static LogicalResult checkMatrix(Operation *op, Value weight, int64_t rows,
                                 int64_t cols, StringRef what) {
  auto type = llvm::cast<RankedTensorType>(weight.getType());
  if (type.getRank() != 2 || type.getDimSize(0) != rows ||
      type.getDimSize(1) != cols)
    return op->emitOpError() << what << " must be " << rows << "x" << cols
                             << ", got " << type;
  return success();
}

/// `weight` must be a vector of `size` elements.
static LogicalResult checkVector(Operation *op, Value weight, int64_t size,
                                 StringRef what) {
  auto type = llvm::cast<RankedTensorType>(weight.getType());
  if (type.getRank() != 1 || type.getDimSize(0) != size)
    return op->emitOpError() << what << " must have " << size
                             << " elements, got " << type;
  return success();
}

//===----------------------------------------------------------------------===//
// ModelOp
//===----------------------------------------------------------------------===//

std::optional<StringRef> ModelOp::getStorePath(StringRef scope) {
  if (auto path = getStores().getAs<StringAttr>(scope))
    return path.getValue();
  return std::nullopt;
}

LogicalResult ModelOp::verify() {
  Block &body = getBody().front();
  if (body.getNumArguments() != 1 ||
      !isa<RankedTensorType>(body.getArgument(0).getType()) ||
      llvm::cast<RankedTensorType>(body.getArgument(0).getType()).getRank() !=
          2 ||
      !llvm::cast<RankedTensorType>(body.getArgument(0).getType())
           .getElementType()
           .isInteger(32))
    return emitOpError("body must take one argument, the token ids "
                       "tensor<?x?xi32>");
  auto output = dyn_cast<OutputOp>(body.getTerminator());
  if (!output)
    return emitOpError("body must end in phi.output");
  ConfigAttr config = getConfig();
  if (features(output.getLogits()) != config.getVocabSize())
    return emitOpError() << "returns " << features(output.getLogits())
                         << " logits per token but config vocab_size is "
                         << config.getVocabSize();
  for (NamedAttribute store : getStores())
    if (!isa<StringAttr>(store.getValue()))
      return emitOpError() << "store '" << store.getName().getValue()
                           << "' must map to a path string";
  int64_t layers = 0;
  WalkResult walk = body.walk([&](Operation *op) -> WalkResult {
    if (isa<AttentionOp>(op))
      ++layers;
    if (auto embed = dyn_cast<EmbeddingOp>(op)) {
      auto table = llvm::cast<RankedTensorType>(embed.getTable().getType());
      if (table.getDimSize(0) != config.getVocabSize() ||
          table.getDimSize(1) != config.getHiddenSize()) {
        embed.emitOpError() << "table must be vocab_size x hidden_size = "
                            << config.getVocabSize() << "x"
                            << config.getHiddenSize() << ", got " << table;
        return WalkResult::interrupt();
      }
    }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  if (layers != config.getNumLayers())
    return emitOpError() << "has " << layers
                         << " attention layers but config num_layers is "
                         << config.getNumLayers();
  return success();
}

//===----------------------------------------------------------------------===//
// WeightOp
//===----------------------------------------------------------------------===//

ParseResult WeightOp::parse(OpAsmParser &parser, OperationState &result) {
  TypedAttr value;
  if (parser.parseOptionalAttrDict(result.attributes) ||
      parser.parseAttribute(value, "value", result.attributes))
    return failure();
  result.addTypes(value.getType());
  return success();
}

void WeightOp::print(OpAsmPrinter &p) {
  p.printOptionalAttrDict((*this)->getAttrs(), /*elidedAttrs=*/{"value"});
  p << ' ';
  p.printAttribute(getValue());
}

LogicalResult WeightOp::verify() {
  TypedAttr value = getValue();
  if (value.getType() != getType())
    return emitOpError() << "result type " << getType()
                         << " differs from the value's type "
                         << value.getType();
  if (auto param = dyn_cast<ParamAttr>(value)) {
    auto model = (*this)->getParentOfType<ModelOp>();
    if (model && !model.getStorePath(param.getScope().getValue()))
      return emitOpError() << "refers to parameter store '"
                           << param.getScope().getValue()
                           << "' that the enclosing phi.model does not list "
                              "in its stores";
    return success();
  }
  if (!isa<ElementsAttr>(value))
    return emitOpError("value must be a #phi.param or an elements attribute");
  return success();
}

//===----------------------------------------------------------------------===//
// Layers
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  auto table = llvm::cast<RankedTensorType>(getTable().getType());
  if (table.getRank() != 2)
    return emitOpError() << "table must be vocab x hidden, got " << table;
  if (features(getResult()) != table.getDimSize(1))
    return emitOpError() << "result has " << features(getResult())
                         << " features but the table rows have "
                         << table.getDimSize(1);
  auto ids = llvm::cast<RankedTensorType>(getIds().getType()).getShape();
  auto res = llvm::cast<RankedTensorType>(getType()).getShape();
  for (int i = 0; i < 2; ++i)
    if (!ShapedType::isDynamic(ids[i]) && !ShapedType::isDynamic(res[i]) &&
        ids[i] != res[i])
      return emitOpError("result batch and sequence sizes differ from ids");
  return success();
}

/// Shared by rms_norm and layer_norm: a per-feature scale (and bias) over an
/// unchanged activation shape.
static LogicalResult verifyNorm(Operation *op, Value input, Value weight,
                                Value bias, Value result, double epsilon) {
  if (failed(checkStaticFeatures(op, input, "input")))
    return failure();
  if (input.getType() != result.getType())
    return op->emitOpError() << "result type " << result.getType()
                             << " must equal the input type "
                             << input.getType();
  int64_t dim = features(input);
  if (failed(checkVector(op, weight, dim, "weight")))
    return failure();
  if (bias && failed(checkVector(op, bias, dim, "bias")))
    return failure();
  if (!(epsilon > 0.0))
    return op->emitOpError() << "epsilon must be positive, got " << epsilon;
  return success();
}

LogicalResult RmsNormOp::verify() {
  return verifyNorm(*this, getInput(), getWeight(), getBias(), getResult(),
                    getEpsilon().convertToDouble());
}

LogicalResult LayerNormOp::verify() {
  return verifyNorm(*this, getInput(), getWeight(), getBias(), getResult(),
                    getEpsilon().convertToDouble());
}

/// Shared by linear and lm_head: result = input * weight^T + bias.
static LogicalResult verifyProjection(Operation *op, Value input, Value weight,
                                      Value bias, Value result) {
  if (failed(checkStaticFeatures(op, input, "input")) ||
      failed(checkStaticFeatures(op, result, "result")))
    return failure();
  int64_t in = features(input), out = features(result);
  if (failed(checkMatrix(op, weight, out, in, "weight (out x in)")))
    return failure();
  if (bias && failed(checkVector(op, bias, out, "bias")))
    return failure();
  return checkSameTokens(op, input, result, "result");
}

LogicalResult LinearOp::verify() {
  return verifyProjection(*this, getInput(), getWeight(), getBias(),
                          getResult());
}

LogicalResult LmHeadOp::verify() {
  return verifyProjection(*this, getInput(), getWeight(), getBias(),
                          getResult());
}

LogicalResult SplitOp::verify() {
  if (getResults().empty())
    return emitOpError("needs at least one result");
  int64_t total = 0;
  for (Value part : getResults()) {
    if (failed(checkStaticFeatures(*this, part, "each result")) ||
        failed(checkSameTokens(*this, getInput(), part, "a result")))
      return failure();
    total += features(part);
  }
  if (total != features(getInput()))
    return emitOpError() << "result features add up to " << total
                         << " but the input has " << features(getInput());
  return success();
}

double AttentionOp::getSoftmaxScale() {
  if (auto scale = getScale())
    return scale->convertToDouble();
  return 1.0 / std::sqrt(double(getHeadDim()));
}

LogicalResult AttentionOp::verify() {
  int64_t heads = getNumHeads(), kvHeads = getNumKvHeads(),
          headDim = getHeadDim();
  if (heads % kvHeads != 0)
    return emitOpError() << "num_heads (" << heads
                         << ") must be a multiple of num_kv_heads (" << kvHeads
                         << ")";
  if (features(getQuery()) != heads * headDim)
    return emitOpError() << "query has " << features(getQuery())
                         << " features, expected num_heads * head_dim = "
                         << heads * headDim;
  if (features(getKey()) != kvHeads * headDim ||
      features(getValue()) != kvHeads * headDim)
    return emitOpError() << "key and value must have num_kv_heads * head_dim = "
                         << kvHeads * headDim << " features, got "
                         << features(getKey()) << " and "
                         << features(getValue());
  if (features(getResult()) != heads * headDim)
    return emitOpError() << "result must have num_heads * head_dim = "
                         << heads * headDim << " features";
  if (getRope().getRotaryDim() > headDim)
    return emitOpError() << "rope rotary_dim " << getRope().getRotaryDim()
                         << " exceeds head_dim " << headDim;
  if (failed(checkSameTokens(*this, getQuery(), getKey(), "key")) ||
      failed(checkSameTokens(*this, getQuery(), getValue(), "value")) ||
      failed(checkSameTokens(*this, getQuery(), getResult(), "result")))
    return failure();
  if (auto scale = getScale(); scale && !(scale->convertToDouble() > 0.0))
    return emitOpError("scale must be positive");
  return success();
}

LogicalResult GluOp::verify() {
  if (failed(checkStaticFeatures(*this, getInput(), "input")))
    return failure();
  int64_t in = features(getInput());
  if (in % 2 != 0)
    return emitOpError() << "input must hold [gate | up] halves, got an odd "
                            "feature size "
                         << in;
  if (features(getResult()) != in / 2)
    return emitOpError() << "result must have half the input's features ("
                         << in / 2 << "), got " << features(getResult());
  return checkSameTokens(*this, getInput(), getResult(), "result");
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

LogicalResult MoeRouteOp::verify() {
  if (failed(checkStaticFeatures(*this, getLogits(), "logits")))
    return failure();
  int64_t experts = features(getLogits()), topK = getTopK();
  if (topK > experts)
    return emitOpError() << "top_k " << topK << " exceeds the " << experts
                         << " experts the router scores";
  if (features(getWeights()) != topK || features(getIndices()) != topK)
    return emitOpError() << "weights and indices must have top_k = " << topK
                         << " entries per token";
  if (failed(checkSameTokens(*this, getLogits(), getWeights(), "weights")) ||
      failed(checkSameTokens(*this, getLogits(), getIndices(), "indices")))
    return failure();
  if (getRouting() == Routing::SparseMixer) {
    if (topK != 2)
      return emitOpError() << "sparsemixer routing selects exactly 2 experts, "
                              "got top_k "
                           << topK;
    if (!getJitterEps())
      return emitOpError("sparsemixer routing needs jitter_eps");
    if (getNormalize())
      return emitOpError("normalize applies to softmax_topk routing only");
  } else if (getJitterEps()) {
    return emitOpError("jitter_eps applies to sparsemixer routing only");
  }
  if (auto eps = getJitterEps(); eps && !(eps->convertToDouble() >= 0.0))
    return emitOpError("jitter_eps must not be negative");
  return success();
}

int64_t MoeExpertsOp::getIntermediateSize() {
  auto type = llvm::cast<RankedTensorType>(getGate()[0].getType());
  return type.getShape()[type.getRank() - 2];
}

LogicalResult MoeExpertsOp::verify() {
  int64_t experts = getNumExperts();
  if (failed(checkStaticFeatures(*this, getInput(), "input")))
    return failure();
  int64_t hidden = features(getInput());
  if (features(getResult()) != hidden)
    return emitOpError() << "result must have the input's " << hidden
                         << " features";
  if (features(getWeights()) != features(getIndices()))
    return emitOpError("weights and indices must have the same top_k");
  if (features(getWeights()) > experts)
    return emitOpError() << "top_k " << features(getWeights())
                         << " exceeds num_experts " << experts;
  if (failed(checkSameTokens(*this, getInput(), getWeights(), "weights")) ||
      failed(checkSameTokens(*this, getInput(), getIndices(), "indices")) ||
      failed(checkSameTokens(*this, getInput(), getResult(), "result")))
    return failure();
  size_t n = getGate().size();
  if (getUp().size() != n || getDown().size() != n)
    return emitOpError() << "gate, up and down must use the same layout, got "
                         << n << ", " << getUp().size() << " and "
                         << getDown().size() << " tensors";
  bool stacked = isStacked();
  if (!stacked && int64_t(n) != experts)
    return emitOpError() << "needs one gate/up/down weight per expert ("
                         << experts << ") or one stacked tensor each, got "
                         << n;
  int64_t inter = getIntermediateSize();
  auto check = [&](ValueRange group, int64_t rows, int64_t cols,
                   StringRef what) -> LogicalResult {
    for (auto [i, w] : llvm::enumerate(group)) {
      auto type = llvm::cast<RankedTensorType>(w.getType());
      SmallVector<int64_t> expected;
      if (stacked)
        expected = {experts, rows, cols};
      else
        expected = {rows, cols};
      if (type.getShape() != ArrayRef<int64_t>(expected)) {
        auto diag = emitOpError() << what;
        if (!stacked)
          diag << " of expert " << i;
        diag << " must be ";
        llvm::interleave(expected, diag, "x");
        diag << ", got " << type;
        return diag;
      }
    }
    return success();
  };
  return failure(failed(check(getGate(), inter, hidden, "gate weight")) ||
                 failed(check(getUp(), inter, hidden, "up weight")) ||
                 failed(check(getDown(), hidden, inter, "down weight")));
}

#define GET_OP_CLASSES
#include "dialects/Phi/PhiOps.cpp.inc"
