"""A small client for the Dagster webserver's GraphQL API: the public way to read the instance's state.

``dagster_graphql.DagsterGraphQLClient`` has public methods only to submit, watch and stop runs;
reading runs, checks, sensors and pools takes arbitrary queries, which it keeps private. The API
itself is the webserver's, documented and stable, so this posts the query as any client would.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

REQUEST_TIMEOUT_SECONDS = 30


class DagsterUnavailableError(RuntimeError):
    """The webserver did not answer, or answered with an error: the message says which and where."""


class DagsterGraphQL:
    def __init__(self, url: str, timeout: float = REQUEST_TIMEOUT_SECONDS):
        self.url, self.timeout = url, timeout

    def query(self, text: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``data`` of the answer; an error (transport, GraphQL or a PythonError union) raises."""
        body = json.dumps({"query": text, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
        except (OSError, ValueError) as error:  # refused, timed out, an HTTP error, not JSON
            raise DagsterUnavailableError(f"Dagster GraphQL at {self.url}: {error}") from error
        if answer.get("errors"):
            messages = "; ".join(error.get("message", str(error)) for error in answer["errors"])
            raise DagsterUnavailableError(f"Dagster GraphQL at {self.url} answered with errors: {messages}")
        return answer["data"]


def unwrap(result: dict[str, Any], expected: str) -> dict[str, Any]:
    """A ``...OrError`` union's value of type ``expected``; anything else (PythonError, not found) raises."""
    if result.get("__typename") != expected:
        raise DagsterUnavailableError(
            f"Dagster answered {result.get('__typename')} instead of {expected}: {result.get('message', '')}"
        )
    return result
