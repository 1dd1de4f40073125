//===- KQuantLayout.cpp - K-quant super-block fields and bytes --*- C++ -*-===//
//
// ggml's byte layouts of the K-quant super-blocks (ggml-common.h), written
// out field by field. Codes of 2 bits fill a byte four at a time and 4-bit
// codes two at a time, always taking values 32 apart in the block (so a
// SIMD decoder shifts one 32-byte vector), and the 6-bit scales of Q4_K and
// Q5_K are split into low bits in one place and high bits in another:
//
//   Q2_K  scales[16] (sc | m << 4), qs[64], d, dmin            84 bytes
//   Q3_K  hmask[32], qs[64], scales[12], d                   110 bytes
//   Q4_K  d, dmin, scales[12], qs[128]                        144 bytes
//   Q5_K  d, dmin, scales[12], qh[32], qs[128]                176 bytes
//   Q6_K  ql[128], qh[64], scales[16] (int8), d               210 bytes
//
// 2-bit planes (Q2_K, Q3_K): value 128h + 32k + l is bits 2k..2k+1 of byte
//   32h + l. Q3_K keeps the third bit of (q + 4) in hmask: byte e % 32,
//   bit e / 32.
// Q4_K/Q5_K nibbles: value 64c + l is the low nibble of byte 32c + l, value
//   64c + 32 + l its high nibble; Q5_K's fifth bits are bits 2c and 2c + 1
//   of qh[l].
// Q6_K: (q + 32) splits into a nibble in ql and two bits in qh; for each
//   half h and l < 32, values 128h + {0, 32, 64, 96} + l use ql[64h + l]
//   low, ql[64h + 32 + l] low, ql[64h + l] high, ql[64h + 32 + l] high and
//   bits {0, 2, 4, 6} of qh[32h + l].
// 6-bit scales (Q4_K/Q5_K, j < 4): byte j = sc[j] | (sc[j+4] >> 4) << 6,
//   byte j+4 = m[j] | (m[j+4] >> 4) << 6, byte j+8 = (sc[j+4] & 15) |
//   (m[j+4] & 15) << 4.
// 6-bit scales (Q3_K, s = sc + 32): low nibble of s[j] in byte j % 8
//   (high nibble when j >= 8), its top two bits at bit 2 * (j / 4) of byte
//   8 + j % 4.
//
//===----------------------------------------------------------------------===//

#include "KQuantLayout.h"

#include "phiq/Quant/Fp16.h"

#include <cstring>

namespace phiq::quant::detail {
namespace {

uint16_t loadU16(const uint8_t *p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

void storeU16(uint8_t *p, uint16_t v) { std::memcpy(p, &v, 2); }

/// 2-bit planes of Q2_K and Q3_K.
void pack2BitPlanes(const uint8_t *codes, uint8_t *qs) {
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l) {
      const uint8_t *c = codes + 128 * h + l;
      qs[32 * h + l] = static_cast<uint8_t>(
          (c[0] & 3) | (c[32] & 3) << 2 | (c[64] & 3) << 4 | (c[96] & 3) << 6);
    }
}

void unpack2BitPlanes(const uint8_t *qs, uint8_t *codes) {
  for (int h = 0; h < 2; ++h)
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < 32; ++l)
        codes[128 * h + 32 * k + l] = (qs[32 * h + l] >> (2 * k)) & 3;
}

/// Nibbles of Q4_K and Q5_K (the low 4 bits of each code).
void packNibblePlanes(const uint8_t *codes, uint8_t *qs) {
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l)
      qs[32 * c + l] = static_cast<uint8_t>((codes[64 * c + l] & 15) |
                                            (codes[64 * c + 32 + l] & 15) << 4);
}

void unpackNibblePlanes(const uint8_t *qs, uint8_t *codes) {
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) {
      codes[64 * c + l] = qs[32 * c + l] & 15;
      codes[64 * c + 32 + l] = qs[32 * c + l] >> 4;
    }
}

void pack6BitScalesMins(const int16_t *sc, const int16_t *m, uint8_t *out) {
  for (int j = 0; j < 4; ++j) {
    out[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) & 3) << 6);
    out[j + 4] = static_cast<uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) & 3) << 6);
    out[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
  }
}

void unpack6BitScalesMins(const uint8_t *in, int16_t *sc, int16_t *m) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = in[j] & 63;
    m[j] = in[j + 4] & 63;
    sc[j + 4] = static_cast<int16_t>((in[j + 8] & 15) | (in[j] >> 6) << 4);
    m[j + 4] = static_cast<int16_t>((in[j + 8] >> 4) | (in[j + 4] >> 6) << 4);
  }
}

void packQ3Scales(const int16_t *sc, uint8_t *out) {
  std::memset(out, 0, 12);
  for (int j = 0; j < 16; ++j) {
    int s = sc[j] + 32;
    out[j % 8] |= static_cast<uint8_t>((s & 15) << (j < 8 ? 0 : 4));
    out[8 + j % 4] |= static_cast<uint8_t>(((s >> 4) & 3) << (2 * (j / 4)));
  }
}

void unpackQ3Scales(const uint8_t *in, int16_t *sc) {
  for (int j = 0; j < 16; ++j) {
    int low = (in[j % 8] >> (j < 8 ? 0 : 4)) & 15;
    int high = (in[8 + j % 4] >> (2 * (j / 4))) & 3;
    sc[j] = static_cast<int16_t>((low | high << 4) - 32);
  }
}

} // namespace

const KFormatShape &kShape(KFormat format) {
  static const KFormatShape shapes[] = {
      /*Q2_K*/ {16, 16, 0, 3, 0, 15, 15, 84},
      /*Q3_K*/ {16, 16, -4, 3, -32, 31, 0, 110},
      /*Q4_K*/ {8, 32, 0, 15, 0, 63, 63, 144},
      /*Q5_K*/ {8, 32, 0, 31, 0, 63, 63, 176},
      /*Q6_K*/ {16, 16, -32, 31, -128, 127, 0, 210},
  };
  return shapes[static_cast<int>(format)];
}

void packKBlock(KFormat format, const KBlock &b, uint8_t *out) {
  uint8_t codes[kSuperBlock];
  switch (format) {
  case KFormat::Q2_K:
    for (int j = 0; j < 16; ++j)
      out[j] = static_cast<uint8_t>((b.sc[j] & 15) | (b.m[j] & 15) << 4);
    for (int i = 0; i < kSuperBlock; ++i)
      codes[i] = static_cast<uint8_t>(b.q[i]);
    pack2BitPlanes(codes, out + 16);
    storeU16(out + 80, b.d);
    storeU16(out + 82, b.dmin);
    return;
  case KFormat::Q3_K: {
    uint8_t *hmask = out;
    std::memset(hmask, 0, 32);
    for (int i = 0; i < kSuperBlock; ++i) {
      int u = b.q[i] + 4;
      codes[i] = static_cast<uint8_t>(u & 3);
      hmask[i % 32] |= static_cast<uint8_t>((u >> 2) << (i / 32));
    }
    pack2BitPlanes(codes, out + 32);
    packQ3Scales(b.sc, out + 96);
    storeU16(out + 108, b.d);
    return;
  }
  case KFormat::Q4_K:
  case KFormat::Q5_K: {
    storeU16(out, b.d);
    storeU16(out + 2, b.dmin);
    pack6BitScalesMins(b.sc, b.m, out + 4);
    for (int i = 0; i < kSuperBlock; ++i)
      codes[i] = static_cast<uint8_t>(b.q[i]);
    if (format == KFormat::Q4_K) {
      packNibblePlanes(codes, out + 16);
      return;
    }
    uint8_t *qh = out + 16;
    std::memset(qh, 0, 32);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) {
        qh[l] |=
            static_cast<uint8_t>(((codes[64 * c + l] >> 4) & 1) << (2 * c));
        qh[l] |= static_cast<uint8_t>(((codes[64 * c + 32 + l] >> 4) & 1)
                                      << (2 * c + 1));
      }
    packNibblePlanes(codes, out + 48);
    return;
  }
  case KFormat::Q6_K: {
    uint8_t *ql = out, *qh = out + 128;
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 32; ++l) {
        int u[4];
        for (int k = 0; k < 4; ++k)
          u[k] = b.q[128 * h + 32 * k + l] + 32;
        ql[64 * h + l] = static_cast<uint8_t>((u[0] & 15) | (u[2] & 15) << 4);
        ql[64 * h + 32 + l] =
            static_cast<uint8_t>((u[1] & 15) | (u[3] & 15) << 4);
        qh[32 * h + l] =
            static_cast<uint8_t>((u[0] >> 4) | (u[1] >> 4) << 2 |
                                 (u[2] >> 4) << 4 | (u[3] >> 4) << 6);
      }
    for (int j = 0; j < 16; ++j)
      out[192 + j] = static_cast<uint8_t>(static_cast<int8_t>(b.sc[j]));
    storeU16(out + 208, b.d);
    return;
  }
  }
}

void unpackKBlock(KFormat format, const uint8_t *in, KBlock &b) {
  b = KBlock();
  uint8_t codes[kSuperBlock];
  switch (format) {
  case KFormat::Q2_K:
    for (int j = 0; j < 16; ++j) {
      b.sc[j] = in[j] & 15;
      b.m[j] = in[j] >> 4;
    }
    unpack2BitPlanes(in + 16, codes);
    for (int i = 0; i < kSuperBlock; ++i)
      b.q[i] = static_cast<int8_t>(codes[i]);
    b.d = loadU16(in + 80);
    b.dmin = loadU16(in + 82);
    return;
  case KFormat::Q3_K:
    unpack2BitPlanes(in + 32, codes);
    for (int i = 0; i < kSuperBlock; ++i) {
      int high = (in[i % 32] >> (i / 32)) & 1;
      b.q[i] = static_cast<int8_t>(codes[i] + 4 * high - 4);
    }
    unpackQ3Scales(in + 96, b.sc);
    b.d = loadU16(in + 108);
    return;
  case KFormat::Q4_K:
  case KFormat::Q5_K: {
    b.d = loadU16(in);
    b.dmin = loadU16(in + 2);
    unpack6BitScalesMins(in + 4, b.sc, b.m);
    if (format == KFormat::Q4_K) {
      unpackNibblePlanes(in + 16, codes);
      for (int i = 0; i < kSuperBlock; ++i)
        b.q[i] = static_cast<int8_t>(codes[i]);
      return;
    }
    const uint8_t *qh = in + 16;
    unpackNibblePlanes(in + 48, codes);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) {
        codes[64 * c + l] |=
            static_cast<uint8_t>(((qh[l] >> (2 * c)) & 1) << 4);
        codes[64 * c + 32 + l] |=
            static_cast<uint8_t>(((qh[l] >> (2 * c + 1)) & 1) << 4);
      }
    for (int i = 0; i < kSuperBlock; ++i)
      b.q[i] = static_cast<int8_t>(codes[i]);
    return;
  }
  case KFormat::Q6_K: {
    const uint8_t *ql = in, *qh = in + 128;
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 32; ++l) {
        uint8_t lo0 = ql[64 * h + l], lo1 = ql[64 * h + 32 + l];
        uint8_t hi = qh[32 * h + l];
        int u[4] = {(lo0 & 15) | (hi & 3) << 4,
                    (lo1 & 15) | ((hi >> 2) & 3) << 4,
                    (lo0 >> 4) | ((hi >> 4) & 3) << 4,
                    (lo1 >> 4) | ((hi >> 6) & 3) << 4};
        for (int k = 0; k < 4; ++k)
          b.q[128 * h + 32 * k + l] = static_cast<int8_t>(u[k] - 32);
      }
    for (int j = 0; j < 16; ++j)
      b.sc[j] = static_cast<int8_t>(in[192 + j]);
    b.d = loadU16(in + 208);
    return;
  }
  }
}

void decodeKBlock(KFormat format, const KBlock &b, float *y) {
  const KFormatShape &shape = kShape(format);
  float d = fp16BitsToFp32(b.d);
  float dmin = fp16BitsToFp32(b.dmin);
  int n = shape.subLength;
  for (int j = 0; j < shape.subBlocks; ++j) {
    // ggml: dl = d * sc (float times int); the mins likewise.
    float dl = d * static_cast<float>(b.sc[j]);
    const int8_t *q = b.q + j * n;
    float *yj = y + j * n;
    if (shape.mMax) {
      float ml = dmin * static_cast<float>(b.m[j]);
      for (int i = 0; i < n; ++i)
        yj[i] = dl * static_cast<float>(q[i]) - ml;
    } else {
      for (int i = 0; i < n; ++i)
        yj[i] = dl * static_cast<float>(q[i]);
    }
  }
}

} // namespace phiq::quant::detail
