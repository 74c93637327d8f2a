"""X's error bodies, built as ``ApiError`` objects the emulator renders unchanged.

Shapes (API_FACTS.md and the OpenAPI document's ``Problem`` schemas):

- HTTP-level errors: ``{"title": "Unauthorized", "type": "about:blank", "status": 401,
  "detail": "Unauthorized"}``; a 429 adds ``"errors": [{"code": 88, "message": "Rate limit
  exceeded"}]``; a duplicate post is a 403 ``about:blank`` problem in X's words.
- request problems: ``{"errors": [{"parameters": {...}, "message": ...}], "title": "Invalid
  Request", "detail": "One or more parameters to your request was invalid.", "type":
  "https://api.x.com/2/problems/invalid-request"}``.
- a resource that does not exist: ``resource-not-found`` problems, alone (404) or in ``errors``
  next to partial ``data`` (lookups).
- an unknown path: ``{"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from cm_toolkit.sandbox.core import ApiError
from cm_toolkit.sandbox.x.schema import Violation

PROBLEMS = "https://api.x.com/2/problems/"
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."


def http_problem(status: int, detail: str | None = None, **extra: Any) -> ApiError:
    """An ``about:blank`` problem: title is the HTTP reason phrase."""
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "title": phrase,
        "type": "about:blank",
        "status": status,
        "detail": detail or phrase,
        **extra,
    }
    return ApiError(status, body["detail"], extra={"body": body})


def rate_limited(limit: int, reset_epoch: int) -> ApiError:
    error = http_problem(429, errors=[{"code": 88, "message": "Rate limit exceeded"}])
    error.headers = {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(reset_epoch),
    }
    return error


def invalid_request(violations: list[Violation]) -> ApiError:
    body = {
        "errors": [v.as_dict() for v in violations],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": PROBLEMS + "invalid-request",
    }
    return ApiError(400, violations[0].message, code="invalid-request", extra={"body": body})


def invalid(message: str, **parameters: list[str]) -> ApiError:
    return invalid_request([Violation(message, dict(parameters))])


def not_found_problem(resource_type: str, parameter: str, value: str) -> dict[str, Any]:
    return {
        "value": value,
        "detail": f"Could not find {resource_type} with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": resource_type,
        "parameter": parameter,
        "resource_id": value,
        "type": PROBLEMS + "resource-not-found",
    }


def not_found(resource_type: str, parameter: str, value: str) -> ApiError:
    problem = not_found_problem(resource_type, parameter, value)
    body: dict[str, Any] = {
        "errors": [problem],
        **{k: problem[k] for k in ("title", "detail", "type")},
    }
    return ApiError(404, problem["detail"], code="resource-not-found", extra={"body": body})


def unknown_path() -> ApiError:
    body = {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}
    return ApiError(404, "Sorry, that page does not exist", code=34, extra={"body": body})


def oauth_error(status: int, error: str, description: str) -> ApiError:
    """The token endpoint's OAuth 2.0 error body (RFC 6749 section 5.2)."""
    body = {"error": error, "error_description": description}
    return ApiError(status, description, code=error, extra={"body": body})


def body_of(error: ApiError) -> dict[str, Any]:
    """The JSON body of an error; errors raised elsewhere (bad JSON) become X problems."""
    body = error.extra.get("body")
    if isinstance(body, dict):
        if body.get("type") == "about:blank" and body.get("status") != error.status:
            # the server turns a 500 into 502/503 after the fact: keep title and status true
            phrase = HTTPStatus(error.status).phrase
            body = {**body, "title": phrase, "status": error.status, "detail": phrase}
        return body
    if error.status == 400:
        return invalid_request([Violation(error.message, {})]).extra["body"]
    return http_problem(error.status, error.message).extra["body"]
