"""Choose the output format: explicit ``f_``, the browser's best (``f_auto``), or the
source's own family (no ``f_``)."""

from __future__ import annotations

from vitrina.delivery.ops import Ops

MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif"}
#: best first: what f_auto serves when the browser says it accepts it
_PREFERENCE = ("avif", "webp")
#: source format (as the catalog names it) -> output format when no f_ is given
_FAMILY = {"jpeg": "jpeg", "png": "png", "webp": "webp", "avif": "avif", "gif": "png"}


def choose_format(
    ops: Ops, accept: str | None, source_has_alpha: bool, source_format: str | None = None
) -> tuple[str, bool]:
    """``(format, negotiated)``; ``negotiated`` means the answer depends on ``Accept``
    and the response needs ``Vary: Accept``.

    ``f_auto`` picks AVIF, then WebP, when the Accept header names them (``*/*`` and
    ``image/*`` do not count: browsers send them for everything), else PNG for
    images with alpha and JPEG for the rest. Without ``f_`` the output keeps the
    source's family (JPEG, PNG, WebP, AVIF; GIF -> PNG; others by alpha).
    """
    if ops.f == "auto":
        accepted = accepted_types(accept)
        for fmt in _PREFERENCE:
            if MIME[fmt] in accepted:
                return fmt, True
        return ("png" if source_has_alpha else "jpeg"), True
    if ops.f is not None:
        return ops.f, False
    family = _FAMILY.get((source_format or "").lower())
    return family or ("png" if source_has_alpha else "jpeg"), False


def accepted_types(accept: str | None) -> set[str]:
    """Media types the header accepts with q > 0 (wildcards kept as written)."""
    found: set[str] = set()
    for item in (accept or "").split(","):
        mime, *params = (p.strip() for p in item.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if mime and q > 0:
            found.add(mime.lower())
    return found
