"""The HTTP front (docs/http.md): the routes behind the front's Lambda Function URL, one module per route.

`http` reads a Function URL event (payload format 2.0) into a `Request` and a `Response` back; `signing` checks the
platforms' signatures (pure); `replay` claims each signature or delivery id once, across concurrent Lambdas;
`routes` dispatches a request to `ingest`, `github` or `gitlab`, which turn it into records written to the inbox,
or to `page`, which serves the run-history page behind an expiring token.
"""
