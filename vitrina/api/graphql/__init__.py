"""GraphQL over HTTP at /graphql (decision 039): the routes in ``view``; the schema
they run is :mod:`vitrina.graphql`, which the CLI exports too."""
