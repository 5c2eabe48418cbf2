"""What the API answers, as the SDK hands it on: resources, failures, and resource paths."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx


class ClientError(Exception):
    """A failed call: the API's ``status``, ``code``, ``message`` and field errors.

    ``status`` is 0 when no answer came (connection refused, timeout); ``field_errors`` maps a
    dotted field path (``accessRights``, ``taskConfig.ToParquet.delimiter``) to its reasons.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str = "",
        field_errors: Mapping[str, list[str]] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.field_errors = dict(field_errors or {})
        super().__init__(self.describe())

    def describe(self) -> str:
        """One line: status, message and every field error the message does not already say."""
        head = f"{self.status} {self.message}" if self.status else self.message
        # The API's message often lists the problems itself (a pipeline's, a single field's).
        problems = "; ".join(
            f"{field}: {' '.join(reasons)}"
            for field, reasons in self.field_errors.items()
            if not all(reason in self.message for reason in reasons)
        )
        return f"{head} ({problems})" if problems else head

    @classmethod
    def from_response(cls, response: httpx.Response) -> ClientError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            text = response.text.strip()
            reason = response.reason_phrase or "no reason given"
            if "html" in response.headers.get("Content-Type", "") or text.startswith("<"):
                # A proxy's or load balancer's page: its markup says nothing a line can.
                return cls(
                    response.status_code,
                    f"{reason} (an HTML page from a proxy, not the API's answer)",
                )
            lines = text.splitlines()
            return cls(response.status_code, lines[0][:200] if lines else reason)
        return cls(
            response.status_code,
            # "Message": AWS's own refusals (API Gateway's IAM authorisation) spell it so.
            str(body.get("message") or body.get("Message") or response.reason_phrase),
            code=str(body.get("code") or ""),
            field_errors=flat_field_errors(body.get("errors")),
        )


def flat_field_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """``{"json": {"a": {"b": ["x"]}}}`` as ``{"a.b": ["x"]}`` (the location dropped)."""
    if not isinstance(errors, dict):
        return {}
    flat: dict[str, list[str]] = {}
    for name, value in errors.items():
        # The top level names where webargs read the field (json, query, headers).
        path = f"{prefix}.{name}" if prefix else ("" if name in LOCATIONS else str(name))
        if isinstance(value, dict):
            flat.update(flat_field_errors(value, path or "."))
        elif isinstance(value, list):
            flat[(path or "body").lstrip(".")] = [str(item) for item in value]
        else:
            flat[(path or "body").lstrip(".")] = [str(value)]
    return {key.lstrip("."): value for key, value in flat.items()}


LOCATIONS = frozenset({"json", "query", "headers", "form", "files", "path"})


class Resource(dict[str, Any]):
    """A resource as the API answered it, with the ``ETag`` to pass to ``update``."""

    etag: str | None = None


def path_of(*segments: str) -> str:
    return "/" + "/".join(quote(str(segment), safe="") for segment in segments)
