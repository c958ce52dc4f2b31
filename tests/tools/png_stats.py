#!/usr/bin/env python3
"""png_stats.py: is a screenshot blank? Decodes an 8-bit RGB/RGBA non-interlaced PNG (what
Chromium's --screenshot writes) with the standard library only and prints JSON:
{"width", "height", "non_white": fraction of pixels that are not near-white, "colors": distinct
colours among sampled pixels}.

  png_stats.py FILE.png
"""
import json
import struct
import sys
import zlib


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("unsupported PNG layout")
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                line[i] = (line[i] + paeth(a, b, c)) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def main():
    with open(sys.argv[1], "rb") as f:
        w, h, bpp, rows = decode(f.read())
    non_white = total = 0
    colors = set()
    for y in range(0, h, 4):
        row = rows[y]
        for x in range(0, w, 4):
            px = tuple(row[x * bpp:x * bpp + 3])
            total += 1
            colors.add(px)
            if min(px) < 235:
                non_white += 1
    print(json.dumps({"width": w, "height": h, "non_white": non_white / max(total, 1),
                      "colors": len(colors)}))


if __name__ == "__main__":
    main()
