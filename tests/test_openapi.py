"""/openapi.json fit for client generators (Swift, Kotlin): readable unique operation ids, an
example on every request body, every error response described by the one ErrorEnvelope model
with the codes the route can answer, and a 405 with `Allow` for a known path's wrong method."""

from __future__ import annotations

import re

import pytest

from kit.errors import ANY_ROUTE_ERRORS, AUTH_ERRORS
from tests.factories import login
from tests.kit.test_errors import assert_envelope

ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture(scope="module")
def spec() -> dict:
    from deployments.app import create_app
    from kit.settings import Settings

    return create_app(Settings(app_env="test")).openapi()


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield f"{method.upper()} {path}", operation


def _resolve(spec: dict, schema: dict) -> dict:
    ref = schema.get("$ref", "")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def test_operation_ids_are_unique_readable_snake_case(spec):
    ids = [operation["operationId"] for _, operation in _operations(spec)]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z]+(_[a-z0-9]+)*", operation_id) and len(operation_id) <= 40, operation_id
    assert {"auth_send_otp", "profile_get_me", "photos_upload_photo", "matching_swipe"} <= set(ids)


def test_every_request_body_has_an_example(spec):
    for name, operation in _operations(spec):
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            schema = _resolve(spec, content["schema"])
            assert content.get("examples") or content.get("example") or schema.get("examples"), (
                f"{name} ({media_type}): add an example to the body model"
            )


def test_every_error_response_is_the_envelope_with_its_codes(spec):
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for name, operation in _operations(spec):
        responses = operation["responses"]
        assert {"4XX", "405", "429", "500"} <= set(responses), name
        for status, response in responses.items():
            if status[0] not in "45" or name == "GET /health":  # /health's 503 is its own shape
                continue
            content = response["content"]["application/json"]
            assert content["schema"] == ENVELOPE, f"{name} {status}"
            if status != "4XX":
                assert content["examples"] and all(
                    f"`{code}`" in response["description"] for code in content["examples"]
                ), f"{name} {status}"


def test_authenticated_operations_document_the_token_errors(spec):
    for name, operation in _operations(spec):
        if operation.get("security"):
            codes = set(operation["responses"]["401"]["content"]["application/json"]["examples"])
            assert {code for status, code, _ in AUTH_ERRORS if status == 401} <= codes, name


def test_errors_any_route_answers_are_documented_everywhere(spec):
    for name, operation in _operations(spec):
        for status, code, _ in ANY_ROUTE_ERRORS:
            assert code in operation["responses"][str(status)]["content"]["application/json"]["examples"], name


def test_phone_numbers_are_e164_in_the_schema(spec):
    for model in ("SendOtpRequest", "VerifyOtpRequest"):
        assert spec["components"]["schemas"][model]["properties"]["phone_number"]["pattern"] == r"^\+[1-9]\d{6,14}$"


async def test_a_literal_sibling_of_an_id_path_answers_405_with_allow(client, settings):
    user = await login(client, settings.sms_outbox)
    r = await client.delete("/api/v1/profile/photos/order", headers=user.headers)
    assert_envelope(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "PUT"
