"""Creative automation: brand kits, templates that adapt to every placement, text
variants, hard brand and legibility gates, deterministic rendering, and selection of
the variant to serve (decisions 034-036)."""
