"""HTTP API: thin routers over the runtime (parse, authorise, call, serialise)."""
