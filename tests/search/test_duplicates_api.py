"""GET /v1/assets/{id}/duplicates and `vitrina assets duplicates` on real ingested photos
and their edits, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pyvips
from click.testing import CliRunner
from fastapi.testclient import TestClient

from tests.conftest import PHOTOS, process_all
from tests.search.labelled import with_comment
from vitrina.api.app import create_app
from vitrina.cli.duplicates import duplicates as duplicates_command

OTHER_PROJECT = "elsewhere"


@pytest.fixture
def client(runtime):  # the runtime fixture brings the catalog to the current schema
    app = create_app(runtime.settings, start_workers=False)
    with TestClient(app) as c:
        c.runtime = app.state.runtime
        yield c


def _files(tmp_path: Path) -> dict[str, Path]:
    """The coffee photo, four edits of it, and another photo."""
    coffee = pyvips.Image.new_from_file(str(PHOTOS / "coffee.png"))
    w, h = round(coffee.width * 0.85), round(coffee.height * 0.85)
    made = {
        "coffee.png": (PHOTOS / "coffee.png").read_bytes(),
        "coffee-tagged.png": with_comment((PHOTOS / "coffee.png").read_bytes()),
        "coffee-q60.jpg": coffee.jpegsave_buffer(Q=60),
        "coffee-half.webp": coffee.resize(0.5).webpsave_buffer(Q=80),
        "coffee-crop.png": coffee.crop((coffee.width - w) // 2, (coffee.height - h) // 2, w, h).pngsave_buffer(),
        "chelsea.png": (PHOTOS / "chelsea.png").read_bytes(),
    }
    for name, data in made.items():
        (tmp_path / name).write_bytes(data)
    return {name: tmp_path / name for name in made}


@pytest.fixture
def catalogue(client, tmp_path: Path) -> dict[str, str]:
    """Every file ingested in the default project, and the tagged copy in another project
    too; all processed. Asset ids by file name (the other project's with a prefix)."""
    rt = client.runtime
    files = _files(tmp_path)
    ids = {name: rt.ingestor.ingest_file(path).asset_id for name, path in files.items()}
    rt.projects.create(OTHER_PROJECT)
    ids["elsewhere/coffee.png"] = rt.ingestor.ingest_file(files["coffee.png"], project=OTHER_PROJECT).asset_id
    process_all(rt)
    return ids


def test_duplicates_by_tier_within_the_project(client, catalogue, tmp_path: Path) -> None:
    """One catalogue, processed once, asked every question (ingest and processing are
    what take the time)."""
    _lists_copies_and_edits_by_tier(client, catalogue)
    _never_lists_another_projects_assets(client, catalogue)
    _a_different_photo_has_none(client, catalogue)
    _the_cli_reports_groups_per_tier(client, catalogue)
    _an_asset_still_processing_says_it_was_not_compared(client, catalogue, tmp_path)


def _lists_copies_and_edits_by_tier(client, catalogue) -> None:
    r = client.get(f"/v1/assets/{catalogue['coffee.png']}/duplicates")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["asset_id"] == catalogue["coffee.png"] and body["hashed"] is True
    found = {d["asset_id"]: (d["tier"], d["distance"]) for d in body["duplicates"]}
    names = {v: k for k, v in catalogue.items()}
    assert {names[i]: t for i, (t, _) in found.items()} == {
        "coffee-tagged.png": "exact", "coffee-q60.jpg": "near", "coffee-half.webp": "near",
        "coffee-crop.png": "near"}
    assert found[catalogue["coffee-tagged.png"]] == ("exact", 0)
    assert body["duplicates"][0]["tier"] == "exact"  # exact first, then near by distance
    near = [d["distance"] for d in body["duplicates"] if d["tier"] == "near"]
    assert near == sorted(near) and all(0 <= d <= 12 for d in near)


def _never_lists_another_projects_assets(client, catalogue) -> None:
    listed = {d["asset_id"] for d in client.get(f"/v1/assets/{catalogue['coffee-q60.jpg']}/duplicates")
              .json()["duplicates"]}
    assert catalogue["coffee.png"] in listed and catalogue["elsewhere/coffee.png"] not in listed
    # and the other project's asset is not one of ours to ask about
    r = client.get(f"/v1/assets/{catalogue['elsewhere/coffee.png']}/duplicates")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def _a_different_photo_has_none(client, catalogue) -> None:
    body = client.get(f"/v1/assets/{catalogue['chelsea.png']}/duplicates").json()
    assert body == {"asset_id": catalogue["chelsea.png"], "hashed": True, "duplicates": []}


def _the_cli_reports_groups_per_tier(client, catalogue) -> None:
    runner = CliRunner()
    settings = client.runtime.settings
    out = runner.invoke(duplicates_command, ["--json"], obj=settings)
    assert out.exit_code == 0, out.output
    groups = {g["tier"]: set(g["asset_ids"]) for g in json.loads(out.output)["groups"]}
    coffee = {catalogue[n] for n in ("coffee.png", "coffee-tagged.png", "coffee-q60.jpg",
                                     "coffee-half.webp", "coffee-crop.png")}
    # no image embeddings here (the model analysers are off): the similar group is the near one
    assert groups == {"exact": {catalogue["coffee.png"], catalogue["coffee-tagged.png"]}, "near": coffee,
                      "similar": coffee}

    text = runner.invoke(duplicates_command, ["--tier", "exact"], obj=settings)
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert lines[0] == "exact: 1 group" and len(lines) == 3
    assert {line.split()[-1] for line in lines[1:]} == {"coffee.png", "coffee-tagged.png"}
    other = runner.invoke(duplicates_command, ["--json", "--project", OTHER_PROJECT], obj=settings)
    assert json.loads(other.output)["groups"] == []


def _an_asset_still_processing_says_it_was_not_compared(client, catalogue, tmp_path: Path) -> None:
    path = tmp_path / "rocket.jpg"
    path.write_bytes((PHOTOS / "rocket.jpg").read_bytes())
    fresh = client.runtime.ingestor.ingest_file(path).asset_id  # not processed: no phash yet
    body = client.get(f"/v1/assets/{fresh}/duplicates").json()
    assert body == {"asset_id": fresh, "hashed": False, "duplicates": []}
    # nor is it anyone's duplicate meanwhile
    assert fresh not in {d["asset_id"] for d in client.get(
        f"/v1/assets/{catalogue['coffee.png']}/duplicates").json()["duplicates"]}


@pytest.mark.parametrize("asset_id", ["0" * 26, "not-an-id"])
def test_unknown_ids_are_404(client, asset_id: str) -> None:
    r = client.get(f"/v1/assets/{asset_id}/duplicates")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_a_lossless_copy_of_a_large_jpeg_is_exact_and_a_re_encode_is_not(client, tmp_path: Path) -> None:
    """The PNG copy's preview differs from the JPEG's (the JPEG decoder shrinks on load),
    so the full-size pixels decide; a q95 re-encode has the same pHash but other pixels."""
    retina = pyvips.Image.new_from_file(str(PHOTOS / "retina.jpg"))
    files = {"retina.jpg": (PHOTOS / "retina.jpg").read_bytes(),
             "retina-copy.png": retina.pngsave_buffer(),
             "retina-q95.jpg": retina.jpegsave_buffer(Q=95)}
    ids = {}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        ids[name] = client.runtime.ingestor.ingest_file(tmp_path / name).asset_id
    process_all(client.runtime)
    body = client.get(f"/v1/assets/{ids['retina.jpg']}/duplicates").json()
    found = {d["asset_id"]: (d["tier"], d["distance"]) for d in body["duplicates"]}
    assert found[ids["retina-copy.png"]] == ("exact", 0)
    assert found[ids["retina-q95.jpg"]][0] == "near"
