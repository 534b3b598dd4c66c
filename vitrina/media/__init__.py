"""Pure media operations and the one media engine: no I/O policy, no database, no settings.

- :mod:`vitrina.media.sniff`: what a file is, from its magic bytes
- :mod:`vitrina.media.probe`: header facts and limits (:func:`probe`), strict decode check
  (:func:`verify_decodes`)
- :mod:`vitrina.media.source`: the one ``Source`` type (path or bytes), opening it with
  libvips, the one client-safe decode error
- :mod:`vitrina.media.encode`: every encoder and its options, as two presets (renditions
  made at ingest, transformations made on request), the render time budget
- :mod:`vitrina.media.colour` and :mod:`vitrina.media.icc`: any decoded image to sRGB
- :mod:`vitrina.media.image`: derivatives and analysis previews
- :mod:`vitrina.media.transform`: renders a URL transformation
  (:class:`vitrina.delivery.ops.Ops`), with :mod:`~vitrina.media.geometry` (the plan, pure
  arithmetic) and :mod:`~vitrina.media.overlay`
- :mod:`vitrina.media.focus`: faces and the salient point that smart crops keep

Formats are named ``jpeg``, ``png``, ``webp``, ``avif`` everywhere. Submodules are
imported explicitly so that sniffing does not load libvips.
"""
