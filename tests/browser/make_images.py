#!/usr/bin/env python3
"""Writes the tiny test images under site/img (committed; rerun to regenerate)."""
import os
import struct
import zlib


def png(width, height, rgb):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "site", "img")
os.makedirs(here, exist_ok=True)
for name, size, rgb in (("red.png", (16, 16), (220, 30, 30)), ("green.png", (24, 12), (30, 180, 60)),
                        ("blue.png", (8, 32), (30, 60, 220))):
    with open(os.path.join(here, name), "wb") as f:
        f.write(png(size[0], size[1], rgb))
