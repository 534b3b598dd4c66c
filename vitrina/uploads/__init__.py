"""Resumable uploads (tus 1.0, decision 017): the protocol's headers in
:mod:`vitrina.uploads.protocol`, the uploads themselves in :mod:`vitrina.uploads.service`."""
