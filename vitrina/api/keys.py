"""API keys live in :mod:`vitrina.access.keys` (the CLI manages them without the API).
These names remain importable from here for the modules that still do so."""

from vitrina.access.keys import Principal, create_key

__all__ = ["Principal", "create_key"]
