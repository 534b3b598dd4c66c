"""The GraphQL schema over the services the REST API calls (decision 039), free of HTTP
so that the CLI can export it (``vitrina graphql schema``) and ``vitrina.api.graphql``
can serve it.

``types``/``queries``/``mutations``: the fields; ``context``: what one request's
resolvers share (the caller, its loaders); ``arguments``: checks of text arguments;
``limits``: size, depth and cost; ``errors``: stable codes in ``extensions.code``.
"""
