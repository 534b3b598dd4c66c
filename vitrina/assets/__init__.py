"""Assets: one service that the API and the CLI call to read, list, download and
delete assets, over one repository that also answers image delivery, pipeline
workers and ingest. Nothing else queries the asset tables.

- :mod:`~vitrina.assets.states`: ``AssetStatus`` and ``StepState`` (the stored strings)
- :mod:`~vitrina.assets.records`: the frozen records callers read
- :mod:`~vitrina.assets.repository`: every statement on the asset tables
- :mod:`~vitrina.assets.service`: ``AssetService``
- :mod:`~vitrina.assets.views`: the public JSON shape of an asset

Import from the modules: importing the package itself loads nothing.
"""
