"""Brand kits and templates as versioned documents: a new version only on a change,
every version readable, the parser's refusal writing nothing, projects apart."""

from __future__ import annotations

import pytest

from vitrina.creative.documents import DocumentService
from vitrina.errors import InvalidInput, NotFound
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.projects import DEFAULT_PROJECT as P
from vitrina.storage.catalog.projects import ProjectRow


def strict(document):
    if "name" not in document:
        raise InvalidInput("a brand kit needs a name", code="invalid_brand_kit", details={"field": "name"})
    return document


def test_versions_change_only_with_the_content(runtime) -> None:
    docs = DocumentService(runtime.sessions)
    first, new = docs.put(P, "brand_kit", "acme", {"name": "Acme", "palette": {"text": "#111111"}}, strict)
    assert (first.version, new) == (1, True)
    # the same content, keys in another order: the same version
    again, new = docs.put(P, "brand_kit", "acme", {"palette": {"text": "#111111"}, "name": "Acme"}, strict)
    assert (again.version, again.sha256, new) == (1, first.sha256, False)
    second, new = docs.put(P, "brand_kit", "acme", {"name": "Acme", "palette": {"text": "#000000"}}, strict)
    assert (second.version, new) == (2, True)
    assert docs.get(P, "brand_kit", "acme").version == 2
    assert docs.get(P, "brand_kit", "acme", 1).document["palette"]["text"] == "#111111"
    docs.put(P, "brand_kit", "beta", {"name": "Beta"}, strict)
    docs.put(P, "template", "acme", {"slots": []}, lambda d: d)  # another kind, same id
    assert [(r.id, r.version) for r in docs.list(P, "brand_kit")] == [("acme", 2), ("beta", 1)]
    assert [r.id for r in docs.list(P, "template")] == ["acme"]


def test_refusals_write_nothing(runtime) -> None:
    docs = DocumentService(runtime.sessions)
    with pytest.raises(InvalidInput) as bad:
        docs.put(P, "brand_kit", "acme", {"palette": {}}, strict)
    assert (bad.value.code, bad.value.details) == ("invalid_brand_kit", {"field": "name"})
    for doc_id in ("", "-x", "a/b", "x" * 129, None):
        with pytest.raises(InvalidInput) as bad_id:
            docs.put(P, "brand_kit", doc_id, {"name": "x"}, strict)
        assert bad_id.value.code == "invalid_document_id"
    with pytest.raises(InvalidInput):
        docs.put(P, "logo", "acme", {"name": "x"}, strict)
    with pytest.raises(InvalidInput) as nan:
        docs.put(P, "brand_kit", "acme", {"name": "x", "min_contrast": float("nan")}, strict)
    assert nan.value.code == "invalid_brand_kit"
    with pytest.raises(InvalidInput) as big:
        docs.put(P, "brand_kit", "acme", {"name": "x" * 3_200_000}, strict)
    assert (big.value.status, big.value.code) == (413, "payload_too_large")
    with pytest.raises(NotFound):
        docs.get(P, "brand_kit", "acme")
    assert docs.list(P, "brand_kit") == []


def test_another_project_sees_nothing(runtime) -> None:
    with transaction(runtime.sessions) as s:
        s.add(ProjectRow(id="team-b", name="Team B", quotas={}))
    docs = DocumentService(runtime.sessions)
    docs.put(P, "brand_kit", "acme", {"name": "Acme"}, strict)
    with pytest.raises(NotFound):
        docs.get("team-b", "brand_kit", "acme")
    assert docs.list("team-b", "brand_kit") == []
    mine, new = docs.put("team-b", "brand_kit", "acme", {"name": "B's Acme"}, strict)
    assert (mine.version, new) == (1, True)
