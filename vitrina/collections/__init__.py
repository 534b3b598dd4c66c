"""Collections: named sets of a project's assets (decision 022).

- :mod:`~vitrina.collections.repository`: every statement on the collection tables
- :mod:`~vitrina.collections.service`: ``CollectionService``, what the API and the CLI call

Import from the modules: importing the package itself loads nothing.
"""
