"""A schemathesis check for tests/test_openapi_fuzz.py (loaded as its SCHEMATHESIS_HOOKS module).

Schemathesis's own `positive_data_acceptance` treats every 400/422 to a schema-valid request as a
failure, though a route may refuse valid-looking input for a reason it documents (a number the
SMS provider cannot text, yourself as the user to block). This check is the API's rule instead:
a schema-valid request may be refused only with a code documented for that route and status, and
never with a code that means "the input breaks a rule the schema could have said".
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from schemathesis.specs.openapi.checks import is_unexpected_http_status_case

# Codes that say the request broke a rule of its shape: the schema must state that rule instead.
SHAPE_CODES = {"validation_error", "malformed_json", "invalid_value", "not_found", "method_not_allowed"}


def documented_codes(operation: dict[str, Any], status: int) -> set[str]:
    responses = operation.get("responses", {})
    response = responses.get(str(status)) or {}
    examples = response.get("content", {}).get("application/json", {}).get("examples", {})
    return {example["value"]["error"]["code"] for example in examples.values()}


@schemathesis.check
def refused_only_for_documented_reasons(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or is_unexpected_http_status_case(case):
        return None
    if not 400 <= response.status_code < 500:
        return None
    try:
        error = json.loads(response.content)["error"]
    except (ValueError, KeyError, TypeError):
        raise AssertionError(f"{response.status_code} without the error envelope") from None
    code, message = error.get("code"), error.get("message")
    if code in SHAPE_CODES:
        raise AssertionError(
            f"A schema-valid request was refused with {response.status_code} `{code}` "
            f"({message}): the schema should state this rule"
        )
    documented = documented_codes(case.operation.definition.raw, response.status_code)
    if code not in documented:
        raise AssertionError(
            f"A schema-valid request was refused with {response.status_code} `{code}` ({message}), "
            f"which this operation does not document (documented: {sorted(documented) or 'none'})"
        )
    return None
