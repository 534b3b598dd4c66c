"""Projects: the namespace every owned record belongs to (one product team each).

:mod:`vitrina.projects.service` creates, reads, updates and deletes projects and keeps
their URL signing keys; a single team lives in the ``default`` project and never
needs any of it.
"""
