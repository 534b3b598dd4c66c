"""Make the hostile fixture files in this folder (deterministic; re-run to rebuild).

    .venv/bin/python tests/data/hostile/make_hostile.py

Each file is a kind of bad upload that must be refused with a stable error code;
tests/media/test_hostile.py holds one test per file. Sources are the real photos in
data/photos (rocket.jpg: public domain, SpaceX; chelsea.png: CC0, Stefan van der Walt).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
PHOTOS = HERE.parents[2] / "data" / "photos"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def empty() -> bytes:
    return b""


def text_named_jpg() -> bytes:
    return b"This is a plain text file that somebody renamed to .jpg\n"


def svg_with_script() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>\n'


def truncated_jpeg() -> bytes:
    """rocket.jpg cut in half: the header reads, the entropy-coded data stops early."""
    data = (PHOTOS / "rocket.jpg").read_bytes()
    return data[: len(data) // 2]


def corrupt_idat_png() -> bytes:
    """A small real PNG with one bit flipped inside IDAT, so its CRC no longer matches."""
    from PIL import Image

    with Image.open(PHOTOS / "chelsea.png") as im:
        small = im.convert("RGB").resize((90, 60), Image.Resampling.BOX)
    import io

    buf = io.BytesIO()
    small.save(buf, format="PNG", optimize=False, compress_level=9)
    data = bytearray(buf.getvalue())
    at = data.index(b"IDAT")
    length = struct.unpack(">I", data[at - 4 : at])[0]
    data[at + 4 + length // 2] ^= 0x10
    return bytes(data)


def png_50000_square() -> bytes:
    """A valid 50,000 x 50,000 RGB PNG header (2.5 gigapixels) with a tiny IDAT: a bomb."""
    ihdr = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def jpeg_65000_square() -> bytes:
    """truncated rocket.jpg whose SOF header claims 65,000 x 65,000 pixels."""
    data = bytearray((PHOTOS / "rocket.jpg").read_bytes()[:4096])
    i = 2
    while i < len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):  # SOF: length, precision, height, width
            data[i + 5 : i + 9] = struct.pack(">HH", 65_000, 65_000)
            return bytes(data)
        i += 2 + length
    raise RuntimeError("no SOF marker in the first 4 KiB")


def gif_1001_frames() -> bytes:
    """A 1x1 animated GIF with 1,001 frames: over the default frame limit (1,000)."""
    from PIL import Image

    frames = [Image.new("P", (1, 1), i % 2) for i in range(1001)]
    for f in frames:
        f.putpalette([0, 0, 0, 255, 255, 255])
    import io

    buf = io.BytesIO()
    frames[0].save(
        buf,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=10,
        optimize=False,
        disposal=1,
    )
    return buf.getvalue()


FIXTURES = {
    "empty.jpg": empty,
    "text.jpg": text_named_jpg,
    "script.svg": svg_with_script,
    "truncated.jpg": truncated_jpeg,
    "corrupt_idat.png": corrupt_idat_png,
    "bomb_50000x50000.png": png_50000_square,
    "bomb_65000x65000.jpg": jpeg_65000_square,
    "frames_1001.gif": gif_1001_frames,
}


def main() -> None:
    for name, make in FIXTURES.items():
        data = make()
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
