"""Make the hostile video fixtures in this folder (re-run to rebuild).

    .venv/bin/python tests/data/hostile/make_hostile_video.py

Each file is a kind of bad video upload that must be refused with a stable error code
before it is stored; tests/media/test_video_probe.py holds one test per file. The
clips come from ffmpeg's test sources (the imageio-ffmpeg static binary).
"""

from __future__ import annotations

import random
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def ffmpeg(*args: str) -> None:
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-y", *args],
                   check=True, timeout=60)


def clip(path: Path, *extra: str, size: str = "64x48", seconds: float = 1.0) -> Path:
    """A small H.264/AAC clip (one thread: the same bytes each run)."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}:rate=24:duration={seconds}",
           "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
           "-c:v", "libx264", "-threads", "1", "-pix_fmt", "yuv420p", "-c:a", "aac",
           "-fflags", "+bitexact", "-map_metadata", "-1", *extra, str(path))
    return path


def truncated_mp4(tmp: Path) -> bytes:
    """The index (moov) first, the media data cut at 60%: opens, but frames are missing."""
    data = clip(tmp / "fs.mp4", "-movflags", "+faststart").read_bytes()
    return data[: len(data) * 6 // 10]


def noise_after_ftyp_mp4(tmp: Path) -> bytes:
    """A real MP4 signature followed by random bytes: claims MP4, is not one."""
    head = clip(tmp / "n.mp4").read_bytes()[:32]
    return head + random.Random(16).randbytes(4096)


def random_mp4(tmp: Path) -> bytes:
    """Random bytes named .mp4: no known signature."""
    return random.Random(7).randbytes(4096)


def playlist_mp4(tmp: Path) -> bytes:
    """An HLS playlist named .mp4 whose one segment is a local file: must never be opened."""
    return (b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n"
            b"file:///etc/passwd\n#EXT-X-ENDLIST\n")


# --- an MP4 whose data reference points at another file -------------------------------

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"dinf"}


def _boxes(data: bytes) -> list[tuple[bytes, bytes | list]]:
    out: list[tuple[bytes, bytes | list]] = []
    pos = 0
    while pos + 8 <= len(data):
        size, kind = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + size]
        out.append((kind, _boxes(body) if kind in _CONTAINERS else body))
        pos += size
    return out


def _pack(boxes: list[tuple[bytes, bytes | list]]) -> bytes:
    out = b""
    for kind, body in boxes:
        raw = _pack(body) if isinstance(body, list) else body
        out += (8 + len(raw)).to_bytes(4, "big") + kind + raw
    return out


def _point_drefs_at(boxes: list, location: bytes) -> None:
    for i, (kind, body) in enumerate(boxes):
        if isinstance(body, list):
            _point_drefs_at(body, location)
        elif kind == b"dref":
            entry_body = b"\x00\x00\x00\x00" + location + b"\x00"  # version 0, flags 0: not self
            entry = (8 + len(entry_body)).to_bytes(4, "big") + b"url " + entry_body
            boxes[i] = (kind, b"\x00\x00\x00\x00" + (1).to_bytes(4, "big") + entry)


def external_dref_mp4(tmp: Path, name: str = "d.mp4") -> bytes:
    """Each track's media data said to live at file:///etc/passwd (the index is the last
    box, so rewriting it moves no sample offsets)."""
    boxes = _boxes(clip(tmp / name).read_bytes())
    assert boxes[-1][0] == b"moov", [k for k, _ in boxes]
    _point_drefs_at(boxes, b"file:///etc/passwd")
    return _pack(boxes)


def external_dref_mov(tmp: Path) -> bytes:
    """The same in a QuickTime file."""
    return external_dref_mp4(tmp, "d.mov")


# --- a Matroska file that links to another segment --------------------------------------

def _ebml_size(n: int) -> bytes:
    """``n`` as an 8-byte EBML size (any size may use the longest form)."""
    return bytes([0x01]) + n.to_bytes(7, "big")


def _ebml_header(data: bytes, pos: int) -> tuple[int, int, int]:
    """(id length, size length, size) of the element at ``pos``."""
    id_len = 1 + next(i for i in range(4) if data[pos] & (0x80 >> i))
    b = data[pos + id_len]
    size_len = 1 + next(i for i in range(8) if b & (0x80 >> i))
    size = b & (0xFF >> size_len)
    for byte in data[pos + id_len + 1:pos + id_len + size_len]:
        size = size << 8 | byte
    return id_len, size_len, size


def linked_segment_mkv(tmp: Path) -> bytes:
    """A real MKV whose segment info names a next segment in another file
    (``NextFilename``), as split recordings do: the file is not self-contained."""
    data = clip(tmp / "l.mkv").read_bytes()
    seg = data.index(bytes.fromhex("18538067"))
    seg_id, seg_size_len, _ = _ebml_header(data, seg)
    info = seg + seg_id + seg_size_len
    while data[info:info + 4] != bytes.fromhex("1549a966"):  # the segment's children, in order
        info_id, info_size_len, info_size = _ebml_header(data, info)
        info += info_id + info_size_len + info_size
    info_id, info_size_len, info_size = _ebml_header(data, info)
    name = b"file:///etc/passwd"
    link = bytes.fromhex("3e83bb") + bytes([0x80 | len(name)]) + name
    info_body = data[info + info_id + info_size_len:info + info_id + info_size_len + info_size] + link
    new_info = data[info:info + info_id] + _ebml_size(len(info_body)) + info_body
    rest = data[info + info_id + info_size_len + info_size:]
    body = data[seg + seg_id + seg_size_len:info] + new_info + rest
    return data[:seg + seg_id] + _ebml_size(len(body)) + body


FILES = {
    "truncated.mp4": truncated_mp4,
    "noise_after_ftyp.mp4": noise_after_ftyp_mp4,
    "random.mp4": random_mp4,
    "playlist_passwd.mp4": playlist_mp4,
    "external_dref.mp4": external_dref_mp4,
    "external_dref.mov": external_dref_mov,
    "linked_segment.mkv": linked_segment_mkv,
}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in FILES.items():
            (HERE / name).write_bytes(make(Path(tmp)))
            print(name, (HERE / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
