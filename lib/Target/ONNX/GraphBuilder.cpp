//===- GraphBuilder.cpp - Small helper to build an ONNX graph ----*- C++ -*-===//
//
// See GraphBuilder.h.
//
//===----------------------------------------------------------------------===//
#include "GraphBuilder.h"

#include "phiq/Quant/Fp16.h"

#include <cstring>

using namespace phiq::onnx;
using llvm::ArrayRef;
using llvm::StringRef;

Node &Node::attr(StringRef name, int64_t value) {
  auto *a = proto->add_attribute();
  a->set_name(name.str());
  a->set_type(::onnx::AttributeProto_AttributeType_INT);
  a->set_i(value);
  return *this;
}

Node &Node::attr(StringRef name, float value) {
  auto *a = proto->add_attribute();
  a->set_name(name.str());
  a->set_type(::onnx::AttributeProto_AttributeType_FLOAT);
  a->set_f(value);
  return *this;
}

Node &Node::attr(StringRef name, ArrayRef<int64_t> values) {
  auto *a = proto->add_attribute();
  a->set_name(name.str());
  a->set_type(::onnx::AttributeProto_AttributeType_INTS);
  for (int64_t v : values)
    a->add_ints(v);
  return *this;
}

Node &Node::attr(StringRef name, StringRef value) {
  auto *a = proto->add_attribute();
  a->set_name(name.str());
  a->set_type(::onnx::AttributeProto_AttributeType_STRING);
  a->set_s(value.str());
  return *this;
}

std::string GraphBuilder::freshNodeName(StringRef opType) {
  std::string base = scope + "/" + opType.str();
  unsigned &n = counters[base];
  std::string name = n == 0 ? base : base + "_" + std::to_string(n);
  ++n;
  return name;
}

Node GraphBuilder::add(StringRef opType, ArrayRef<std::string> inputs,
                       int numOutputs, StringRef domain) {
  std::string name = freshNodeName(opType);
  std::vector<std::string> outputs;
  for (int i = 0; i < numOutputs; ++i)
    outputs.push_back(name + "/output_" + std::to_string(i));
  return addWithName(name, opType, inputs, outputs, domain);
}

Node GraphBuilder::addNamed(StringRef opType, ArrayRef<std::string> inputs,
                            ArrayRef<std::string> outputs, StringRef domain) {
  return addWithName(freshNodeName(opType), opType, inputs, outputs, domain);
}

Node GraphBuilder::addWithName(const std::string &name, StringRef opType,
                               ArrayRef<std::string> inputs,
                               ArrayRef<std::string> outputs,
                               StringRef domain) {
  ::onnx::NodeProto *node = graph.add_node();
  node->set_name(name);
  node->set_op_type(opType.str());
  if (!domain.empty())
    node->set_domain(domain.str());
  for (const std::string &in : inputs)
    node->add_input(in);
  for (const std::string &out : outputs)
    node->add_output(out);
  return Node(node);
}

std::string GraphBuilder::constI64(ArrayRef<int64_t> values, bool scalar) {
  std::string key = scalar ? "s" : "v";
  for (int64_t v : values)
    key += "_" + std::to_string(v);
  auto it = constants.find(key);
  if (it != constants.end())
    return it->second;
  std::string name = "/model/constants/INT64/" + key;
  ::onnx::TensorProto *t = graph.add_initializer();
  t->set_name(name);
  t->set_data_type(::onnx::TensorProto_DataType_INT64);
  if (!scalar)
    t->add_dims(int64_t(values.size()));
  for (int64_t v : values)
    t->add_int64_data(v);
  constants[key] = name;
  return name;
}

std::string GraphBuilder::constScalar(float value, int32_t elemType) {
  std::string key = (elemType == ::onnx::TensorProto_DataType_FLOAT16
                         ? "FLOAT16/"
                         : "FLOAT/") +
                    std::to_string(value);
  auto it = constants.find(key);
  if (it != constants.end())
    return it->second;
  std::string name = "/model/constants/" + key;
  ::onnx::TensorProto *t = graph.add_initializer();
  t->set_name(name);
  t->set_data_type(elemType);
  std::vector<uint8_t> bytes = encodeFloats({value}, elemType);
  t->set_raw_data(bytes.data(), bytes.size());
  constants[key] = name;
  return name;
}

llvm::Error GraphBuilder::addWeight(StringRef name, int32_t elemType,
                                    ArrayRef<int64_t> dims,
                                    ArrayRef<uint8_t> bytes) {
  ::onnx::TensorProto *t = graph.add_initializer();
  t->set_name(name.str());
  t->set_data_type(elemType);
  for (int64_t d : dims)
    t->add_dims(d);
  return data.append(*t, bytes);
}

static void setShape(::onnx::ValueInfoProto *info, int32_t elemType,
                     ArrayRef<Dim> dims) {
  auto *tensor = info->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(elemType);
  auto *shape = tensor->mutable_shape();
  for (const Dim &d : dims) {
    auto *dim = shape->add_dim();
    if (const int64_t *v = std::get_if<int64_t>(&d))
      dim->set_dim_value(*v);
    else
      dim->set_dim_param(std::get<std::string>(d));
  }
}

void GraphBuilder::addInput(StringRef name, int32_t elemType,
                            ArrayRef<Dim> dims) {
  auto *info = graph.add_input();
  info->set_name(name.str());
  setShape(info, elemType, dims);
}

void GraphBuilder::addOutput(StringRef name, int32_t elemType,
                             ArrayRef<Dim> dims) {
  auto *info = graph.add_output();
  info->set_name(name.str());
  setShape(info, elemType, dims);
}

std::vector<uint8_t> phiq::onnx::encodeFloats(ArrayRef<float> values,
                                              int32_t elemType) {
  std::vector<uint8_t> bytes;
  if (elemType == ::onnx::TensorProto_DataType_FLOAT16) {
    bytes.resize(values.size() * 2);
    for (size_t i = 0; i < values.size(); ++i) {
      uint16_t h = ::phiq::quant::fp32ToFp16Bits(values[i]);
      std::memcpy(bytes.data() + 2 * i, &h, 2);
    }
  } else if (elemType == ::onnx::TensorProto_DataType_BFLOAT16) {
    bytes.resize(values.size() * 2);
    for (size_t i = 0; i < values.size(); ++i) {
      uint16_t h = ::phiq::quant::fp32ToBf16Bits(values[i]);
      std::memcpy(bytes.data() + 2 * i, &h, 2);
    }
  } else {
    bytes.resize(values.size() * 4);
    std::memcpy(bytes.data(), values.data(), bytes.size());
  }
  return bytes;
}
