"""Pure media operations: no I/O policy, no database, no settings.

- :mod:`vitrina.media.sniff`: what a file is, from its magic bytes
- :mod:`vitrina.media.probe`: header facts and limits (:func:`probe`), strict decode check
  (:func:`verify_decodes`)
- :mod:`vitrina.media.image`: derivatives and analysis previews with libvips

Submodules are imported explicitly so that sniffing does not load libvips.
"""
