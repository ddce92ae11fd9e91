"""One error envelope for every failure, and never a 500 for bad input."""

from __future__ import annotations

from tests.factories import login


def assert_envelope(response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and set(body["error"]) >= {"code", "message"}
    if code:
        assert body["error"]["code"] == code


async def test_unknown_route_is_a_404_envelope(client):
    assert_envelope(await client.get("/api/v1/nope"), 404, "not_found")


async def test_wrong_method_is_a_405_envelope(client):
    assert_envelope(await client.delete("/api/v1/auth/send-otp"), 405, "method_not_allowed")


async def test_malformed_json_is_a_400_envelope(client):
    r = await client.post("/api/v1/auth/send-otp", content=b"{not json", headers={"content-type": "application/json"})
    assert_envelope(r, 400, "malformed_json")


async def test_missing_fields_and_wrong_types_are_422(client):
    assert_envelope(await client.post("/api/v1/auth/send-otp", json={}), 422, "validation_error")
    assert_envelope(await client.post("/api/v1/auth/send-otp", json={"phone_number": 12}), 422)
    assert_envelope(
        await client.post("/api/v1/auth/verify-otp", json={"phone_number": "+12025550100", "otp": "12ab56"}), 422
    )
    assert_envelope(await client.post("/api/v1/auth/send-otp", json=["+12025550100"]), 422)


async def test_an_oversized_json_body_is_a_413_envelope(client, settings):
    user = await login(client, settings.sms_outbox)
    big = b'{"bio": "' + b"x" * (settings.max_body_bytes + 10) + b'"}'
    r = await client.put(
        "/api/v1/profile/me", content=big, headers={**user.headers, "content-type": "application/json"}
    )
    assert_envelope(r, 413, "payload_too_large")


async def test_an_oversized_streamed_body_without_length_is_a_413(client, settings):
    async def chunks():
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536

    r = await client.post("/api/v1/auth/send-otp", content=chunks(), headers={"content-type": "application/json"})
    assert_envelope(r, 413, "payload_too_large")


async def test_a_path_id_that_is_no_uuid_is_a_404_not_a_500(client, settings):
    user = await login(client, settings.sms_outbox)
    r = await client.delete("/api/v1/profile/photos/not-a-uuid", headers=user.headers)
    assert_envelope(r, 404, "not_found")


async def test_path_ids_match_uppercase_uuids(client, settings):
    user = await login(client, settings.sms_outbox)
    r = await client.delete("/api/v1/profile/photos/6F1C2F0E-2B7A-4D0E-9D8E-2F8A0C7B9A11", headers=user.headers)
    assert_envelope(r, 404, "photo_not_found")


async def test_openapi_and_docs_are_served_with_bearer_auth(client):
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/auth/send-otp" in spec["paths"] and "/api/v1/matching/feed" in spec["paths"]
    assert any(
        s.get("type") == "http" and s.get("scheme") == "bearer" for s in spec["components"]["securitySchemes"].values()
    )
    assert (await client.get("/docs")).status_code == 200


async def test_health_is_healthy_with_every_dependency_up(client):
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "healthy"
    assert r.json()["services"]["database"] == "up" and r.json()["services"]["redis"] == "up"


async def test_only_the_upload_route_gets_the_large_body_limit(client, settings):
    user = await login(client, settings.sms_outbox)
    big = b'{"photo_ids": ["' + b"x" * (settings.max_body_bytes + 10) + b'"]}'
    r = await client.put(
        "/api/v1/profile/photos/order", content=big, headers={**user.headers, "content-type": "application/json"}
    )
    assert_envelope(r, 413, "payload_too_large")


async def test_text_the_database_cannot_store_is_a_422_not_a_500(client, settings, db):
    user = await login(client, settings.sms_outbox)
    r = await client.put("/api/v1/profile/me", json={"bio": "hello\u0000world"}, headers=user.headers)
    assert_envelope(r, 422, "invalid_value")
    assert await db.fetchval("SELECT count(*) FROM user_profiles WHERE user_id = $1", user.id) == 0


async def test_a_constraint_violation_maps_to_a_409_and_bad_data_to_a_422(app):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from kit.errors import as_input_error

    async def refusal(sql: str) -> DBAPIError:
        async with app.state.resources.sessionmaker() as session:
            try:
                await session.execute(text(sql))
            except DBAPIError as exc:
                return exc
        raise AssertionError("PostgreSQL accepted " + sql)

    duplicate = await refusal("INSERT INTO users (phone_number) VALUES ('+12025550100'), ('+12025550100')")
    out_of_range = await refusal("SELECT 2147483647::int + 1")
    assert (as_input_error(duplicate).status, as_input_error(duplicate).code) == (409, "conflict")
    assert (as_input_error(out_of_range).status, as_input_error(out_of_range).code) == (422, "invalid_value")
    assert as_input_error(ValueError("not a database error")) is None


async def test_health_reports_unhealthy_when_the_database_is_down(client_with):
    async with client_with(database_url="postgresql://postgres@127.0.0.1:1/nothing") as http:
        r = await http.get("/health")
    assert r.status_code == 503
    assert r.json()["status"] == "unhealthy" and r.json()["services"]["database"] == "down"


async def test_a_405_names_every_method_the_path_takes_in_allow(client):
    r = await client.delete("/api/v1/profile/photos")
    assert_envelope(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "GET, POST"
    assert r.json()["error"]["allowed"] == ["GET", "POST"]


async def test_options_is_a_405_with_allow(client):
    r = await client.options("/api/v1/profile/me")
    assert_envelope(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "GET, PUT"
