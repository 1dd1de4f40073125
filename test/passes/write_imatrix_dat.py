#!/usr/bin/env python3
"""Writes a llama.cpp legacy imatrix (.dat) by hand, from the layout alone.

usage: write_imatrix_dat.py OUT NAME=NVAL[,NAME=NVAL...] [--ncall N]

Each entry NAME gets NVAL values 1..NVAL times ncall (llama-imatrix stores
mean * ncall), then the chunk count and a dataset name, as
tools/imatrix/imatrix.cpp's save_imatrix_legacy lays them out: i32 entry
count; per entry i32 name length, name bytes, i32 ncall, i32 nval, nval f32;
i32 chunk count; i32 length + dataset name.
"""
import struct
import sys


def main():
    out, spec = sys.argv[1], sys.argv[2]
    ncall = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--ncall" else 10
    entries = [(n, int(v)) for n, v in (item.split("=") for item in spec.split(","))]
    with open(out, "wb") as f:
        f.write(struct.pack("<i", len(entries)))
        for name, nval in entries:
            f.write(struct.pack("<i", len(name)) + name.encode())
            f.write(struct.pack("<ii", ncall, nval))
            f.write(struct.pack(f"<{nval}f", *[float(i + 1) * ncall for i in range(nval)]))
        dataset = b"hand-made.txt"
        f.write(struct.pack("<i", ncall) + struct.pack("<i", len(dataset)) + dataset)


if __name__ == "__main__":
    main()
