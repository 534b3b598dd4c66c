"""Video playback: ``/video/{token}/{asset_id}/{path}`` serves an asset's renditions,
HLS tree and storyboard under one signed token (decision 021).

- :mod:`~vitrina.delivery.playback.tokens`: the URL contract (tokens, paths, content
  types); plain Python, what the SDK and the CLI sign with
- :mod:`~vitrina.delivery.playback.files`: an asset's files from the catalog, with a TTL
- :mod:`~vitrina.delivery.playback.service`: from a request to an answer (validators,
  byte ranges, cache lifetimes, usage)
"""

from vitrina.delivery.playback.tokens import DEFAULT_FILE, playback_path, playback_token

__all__ = ["DEFAULT_FILE", "playback_path", "playback_token"]
