"""The URLs a page shows for a project's pictures and videos, signed on the server with
the project's key as ``vitrina url`` and the SDK sign them (the settings' keys for the
default project, else the project's newest signing key)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from vitrina.delivery.configured import signer_for_project
from vitrina.delivery.playback.tokens import DEFAULT_LIFETIME, playback_path
from vitrina.delivery.signing import Signer
from vitrina.errors import Unavailable
from vitrina.runtime import Runtime

#: the square thumbnails of the library grid, at twice their CSS size for sharp screens
THUMB = "w_320,h_320,c_fill,g_auto,q_70"
#: the picture on an asset's page
PREVIEW = "w_1200,c_limit"
SRCSET_WIDTHS = (320, 640, 960, 1280, 1920)


@dataclass(frozen=True)
class Urls:
    """One project's URLs, from its signer."""

    signer: Signer

    @classmethod
    def of(cls, rt: Runtime, project: str) -> Urls:
        signer = signer_for_project(rt.settings, rt.projects, project)
        if signer is None:
            raise Unavailable("this project has no URL signing key yet: create one with "
                              "`vitrina projects signing-key create`", code="no_signing_key")
        return cls(signer)

    def image(self, asset_id: str, ops: str = PREVIEW) -> str:
        return self.signer.url(asset_id, ops)

    def srcset(self, asset_id: str, ops: str) -> str:
        return self.signer.srcset(asset_id, ops, SRCSET_WIDTHS)

    def video(self, asset_id: str, file: str) -> str:
        """A playback URL of one of the video's files, valid for the default lifetime."""
        return playback_path(self.signer, asset_id, file, expires=int(time.time()) + DEFAULT_LIFETIME)
