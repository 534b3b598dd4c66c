"""Find what makes a Matroska/WebM file depend on other files: linked segments.

A segment may name the segments before and after it (``PrevUID``/``NextUID``, with
``PrevFilename``/``NextFilename``), and ordered chapters may play parts of another
segment (``ChapterSegmentUID``). Such a file is not self-contained: a player would go
looking for the others. The walk reads element headers only, skips clusters by their
size, and has an element budget, so a hostile file costs little to check.
"""

from __future__ import annotations

from typing import BinaryIO

from vitrina.errors import CorruptMedia

SEGMENT, INFO, CHAPTERS, EDITION, ATOM, CLUSTER = (0x18538067, 0x1549A966, 0x1043A770, 0x45B9, 0xB6,
                                                   0x1F43B675)
#: elements whose children are walked; every other element is skipped by its size
_MASTERS = {SEGMENT, INFO, CHAPTERS, EDITION, ATOM}
#: elements that point outside the file, by the name a refusal gives
LINKS = {0x3CB923: "PrevUID", 0x3EB923: "NextUID", 0x3C83AB: "PrevFilename", 0x3E83BB: "NextFilename",
         0x6E67: "ChapterSegmentUID"}
_MAX_ELEMENTS = 100_000


def linked_segments(f: BinaryIO, size: int) -> list[str]:
    """The names of the elements in ``f`` that refer to other segments (empty when the
    file stands alone)."""
    found: list[str] = []
    _walk(f, 0, size, found, [_MAX_ELEMENTS])
    return found


def _vint(f: BinaryIO, keep_marker: bool) -> tuple[int, int] | None:
    """(value, length) of the EBML variable-length integer at the current position;
    None at the end of the file. The all-ones size ("unknown") is -1."""
    first = f.read(1)
    if not first:
        return None
    b = first[0]
    length = 1
    while length <= 8 and not b & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        return None  # not an element: the demuxer judges what follows
    rest = f.read(length - 1)
    if len(rest) < length - 1:
        return None
    value = b if keep_marker else b & (0xFF >> length)
    for byte in rest:
        value = value << 8 | byte
    if not keep_marker and value == (1 << (7 * length)) - 1:
        value = -1
    return value, length


def _walk(f: BinaryIO, start: int, end: int, found: list[str], budget: list[int]) -> None:
    pos = start
    while pos < end:
        budget[0] -= 1
        if budget[0] < 0:
            raise CorruptMedia("The file has too many Matroska elements.", details={})
        f.seek(pos)
        element = _vint(f, keep_marker=True)
        length = _vint(f, keep_marker=False) if element else None
        if element is None or length is None:
            return
        (eid, id_len), (body, size_len) = element, length
        body_start = pos + id_len + size_len
        if eid in LINKS:
            found.append(LINKS[eid])
        if body == -1:  # unknown size: only a segment or a cluster can be; walk on inside it
            if eid == CLUSTER:
                return  # a live stream's clusters: the headers came before them
            body = end - body_start
        if eid in _MASTERS:
            _walk(f, body_start, min(body_start + body, end), found, budget)
        pos = body_start + body
