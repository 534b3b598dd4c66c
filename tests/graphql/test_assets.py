"""Assets, search and collections over GraphQL answer what REST answers for the same
catalogue (real photos, the real pipeline), in the caller's project only; on SQLite
and PostgreSQL."""

from __future__ import annotations

from tests.graphql.conftest import codes, gql

ASSET = """id status kind mime width height sizeBytes sha256 originalUrl createdAt title altText tags
derivatives { width height format mime sizeBytes path url } renditions { path }
signals { blurhash colours { hex fraction } tags faces text all { name producer version value } }"""


def test_the_listing_holds_what_rest_lists(photos_served) -> None:
    client = photos_served.client
    answer = gql(client, f"{{ assets(limit: 10) {{ items {{ {ASSET} }} nextCursor }} }}")
    rest = client.get("/v1/assets", params={"limit": 10}).json()
    listed = answer["data"]["assets"]["items"]
    assert [a["id"] for a in listed] == [a["id"] for a in rest["items"]] and len(listed) == 5
    for mine, theirs in zip(listed, rest["items"], strict=True):
        assert mine["status"] == "READY" and mine["sha256"] == theirs["sha256"]
        assert (mine["width"], mine["height"], mine["sizeBytes"]) == (theirs["width"], theirs["height"],
                                                                     theirs["size_bytes"])
        assert mine["derivatives"] == [{**{k: d[k] for k in ("width", "height", "format", "mime", "path", "url")},
                                        "sizeBytes": d["size_bytes"]} for d in theirs["derivatives"]]
        assert mine["renditions"] == []  # images have none
        signals = mine["signals"]
        assert signals["blurhash"] == theirs["signals"]["blurhash"]["hash"]
        assert signals["colours"] == theirs["signals"]["colors"]["colors"]
        assert {s["name"]: {"producer": s["producer"], "version": s["version"], **s["value"]}
                for s in signals["all"]} == theirs["signals"]
    by_id = {a["id"]: a for a in listed}
    coffee = by_id[photos_served.ids["coffee.png"]]["signals"]
    assert [t["label"] for t in coffee["tags"]] == ["espresso", "cup", "coffee mug"]
    assert by_id[photos_served.ids["text.png"]]["signals"]["text"].startswith("(s) = 1 e-st")
    chelsea = by_id[photos_served.ids["chelsea.png"]]
    assert (chelsea["title"], chelsea["altText"], chelsea["tags"]) == ("Chelsea on the sofa", "A tabby cat", ["pets"])
    # an embedding is shown by its shape only, as in REST
    assert "data" not in next(s for s in coffee["all"] if s["name"] == "imagenet")["value"]["embedding"]


def test_filters_and_pages(photos_served) -> None:
    client, ids = photos_served.client, photos_served.ids
    first = gql(client, "{ assets(limit: 2, status: READY, kind: \"image\") { items { id } nextCursor } }")
    page = first["data"]["assets"]
    second = gql(client, "query($c: String) { assets(limit: 10, cursor: $c) { items { id } nextCursor } }",
                 {"c": page["nextCursor"]})["data"]["assets"]
    seen = [a["id"] for a in page["items"] + second["items"]]
    assert sorted(seen) == sorted(ids.values()) and second["nextCursor"] is None
    tagged = gql(client, '{ assets(tag: "Pets") { items { id } } }')["data"]["assets"]["items"]
    assert tagged == [{"id": ids["chelsea.png"]}]
    assert gql(client, '{ assets(kind: "video") { items { id } } }')["data"]["assets"]["items"] == []


def test_one_asset_and_another_projects(photos_served) -> None:
    client, ids = photos_served.client, photos_served.ids
    answer = gql(client, """query($a: ID!, $b: ID!, $c: ID!) { mine: asset(id: $a) { id kind }
                            theirs: asset(id: $b) { id } junk: asset(id: $c) { id } }""",
                 {"a": ids["rocket.jpg"], "b": photos_served.other, "c": "../etc/passwd"})
    assert answer == {"data": {"mine": {"id": ids["rocket.jpg"], "kind": "image"}, "theirs": None, "junk": None}}
    assert client.get(f"/v1/assets/{photos_served.other}").status_code == 404  # as REST


def test_search_by_words_colour_and_example(photos_served) -> None:
    client, ids = photos_served.client, photos_served.ids
    hits = gql(client, '{ search(q: "tabby cat") { items { asset { id } score explain } components total } }')
    found = hits["data"]["search"]
    assert [h["asset"]["id"] for h in found["items"]] == [ids["chelsea.png"]]
    assert found["components"] == ["keyword"] and found["total"] == 1
    assert found["items"][0]["explain"]["keyword"]["rank"] == 1
    rest = client.get("/v1/search", params={"color": "#aa582d"}).json()
    mine = gql(client, '{ search(color: "#aa582d") { items { asset { id } score } } }')["data"]["search"]["items"]
    assert [(h["asset"]["id"], h["score"]) for h in mine] == [(h["asset"]["id"], h["score"]) for h in rest["items"]]
    assert mine[0]["asset"]["id"] == ids["coffee.png"]
    similar = gql(client, f'{{ similar(assetId: "{ids["coffee.png"]}", limit: 2) {{ embedded similar {{ asset {{ id }} }} }} }}')
    assert similar["data"]["similar"]["embedded"] is True and len(similar["data"]["similar"]["similar"]) == 2
    # another project's asset is not found, with REST's code
    refused = gql(client, f'{{ similar(assetId: "{photos_served.other}") {{ embedded }} }}')
    assert codes(refused) == ["not_found"] and refused["data"] is None
    assert codes(gql(client, '{ search(color: "teal-ish") { total } }')) == ["invalid_color"]


def test_collections_with_their_assets_and_membership(photos_served) -> None:
    client, ids = photos_served.client, photos_served.ids
    made = client.post("/v1/collections", json={"name": f"picks-{ids['coffee.png'][:6]}"}).json()
    add = """mutation($c: ID!, $a: ID!) { addToCollection(collectionId: $c, assetId: $a) { id assetCount } }"""
    assert gql(client, add, {"c": made["id"], "a": ids["coffee.png"]})["data"]["addToCollection"] == {
        "id": made["id"], "assetCount": 1}
    refused = gql(client, add, {"c": made["id"], "a": photos_served.other})
    assert codes(refused) == ["not_found"]
    listed = gql(client, f'{{ collection(id: "{made["id"]}") {{ name assets {{ items {{ id signals {{ blurhash }} }} }} }} '
                         '  collections { items { id } } }')["data"]
    assert listed["collection"]["name"] == made["name"]
    assert [a["id"] for a in listed["collection"]["assets"]["items"]] == [ids["coffee.png"]]
    assert made["id"] in [c["id"] for c in listed["collections"]["items"]]
    removed = gql(client, """mutation($c: ID!, $a: ID!) { removeFromCollection(collectionId: $c, assetId: $a)
                             { assetCount } }""", {"c": made["id"], "a": ids["coffee.png"]})
    assert removed["data"]["removeFromCollection"] == {"assetCount": 0}
    assert gql(client, '{ collection(id: "0123456789abcdef0123456789abcdef") { id } }') == {"data": {"collection": None}}


def test_bad_arguments_are_refused_with_rest_codes_and_change_nothing(photos_served) -> None:
    client = photos_served.client
    cases = {
        '{ assets(kind: "im\\u0000age") { nextCursor } }': "invalid_text",
        '{ assets(limit: 0) { nextCursor } }': "invalid_input",
        '{ assets(cursor: "not-a-cursor") { nextCursor } }': "invalid_cursor",
        '{ assets(collection: "nope") { nextCursor } }': "invalid_input",
        '{ search(q: "x", limit: 1000) { total } }': "invalid_limit",
        '{ search(q: "%s") { total } }' % ("word " * 120): "query_too_long",
        '{ assets(tag: "") { nextCursor } }': "invalid_input",
        '{ recommendations(user: "") { model } }': "invalid_input",
        '{ recommendations(user: "u", surface: "") { model } }': "invalid_input",
        '{ recommendations(user: "u\\u0000") { model } }': "invalid_text",
        '{ experiments(status: "lost") { nextCursor } }': "invalid_input",
        '{ creatives(campaign: "nope") { nextCursor } }': "not_found",
    }
    for query, code in cases.items():
        answer = gql(client, query)
        assert codes(answer) == [code], (query, answer)
        assert answer["errors"][0]["path"] and answer["data"] is None
