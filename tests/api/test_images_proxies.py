"""The route hands the asset's JPEG derivatives to the renderer as stand-ins."""

from __future__ import annotations

from tests.api.test_images_setup import ALPHA, build_library, decode, serve


def test_records_carry_jpeg_renditions_and_alpha_images_get_none(tmp_path):
    library = build_library(tmp_path, ["hubble_deep_field.jpg", ALPHA])
    with serve(library) as client:
        sources = client.service.sources
        photo = sources.read(library.ids["hubble_deep_field.jpg"])
        assert photo.renditions and {(w, h) for w, h, _ in photo.renditions} == {(320, 279)}
        (proxy,) = sources.proxies(photo)
        assert (proxy.width, proxy.height) == (320, 279)
        assert decode(sources.store.read_bytes(photo.renditions[0][2])).width == 320
        transparent = sources.read(library.ids[ALPHA])
        assert transparent.has_alpha and sources.proxies(transparent) == ()
        # a render small enough for the stand-in still has the promised geometry
        answer = client.get(client.url("hubble_deep_field.jpg", "w_150,h_100,c_fill"))
        assert answer.status_code == 200
        assert (decode(answer.content).width, decode(answer.content).height) == (150, 100)
