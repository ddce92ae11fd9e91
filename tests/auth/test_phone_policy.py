"""SMS pumping: codes are texted only to mobile numbers of the allowed countries, and a refused
number is answered from the number alone (never from whether it has an account)."""

from __future__ import annotations

import pytest

from tests.factories import new_phone

SEND, VERIFY = "/api/v1/auth/send-otp", "/api/v1/auth/verify-otp"
GB_MOBILE = "+447400123456"


@pytest.mark.parametrize(
    "number, region",
    [
        ("+19002345678", "US"),  # premium rate
        ("+18002345678", "US"),  # toll-free
        ("+33884012345", "FR"),  # shared cost
        ("+447012345678", "GB"),  # personal ("follow-me") number
        ("+445612345678", "GB"),  # VoIP
        ("+441212345678", "GB"),  # landline only
    ],
)
async def test_numbers_that_cannot_or_should_not_get_a_text_are_refused_with_a_422(client_with, number, region):
    async with client_with(sms_allowed_countries=f"US,{region}") as http:
        response = await http.post(SEND, json={"phone_number": number})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "phone_number_not_supported"


async def test_a_mobile_number_outside_the_allowed_countries_is_refused_with_a_422(client, settings):
    response = await client.post(SEND, json={"phone_number": GB_MOBILE})
    assert response.status_code == 422 and response.json()["error"]["code"] == "phone_country_not_supported"
    assert not settings.sms_outbox.exists()


async def test_other_regions_of_the_plus_one_plan_are_not_let_in_with_the_us(client):
    response = await client.post(SEND, json={"phone_number": "+18762101234"})  # a Jamaican mobile
    assert response.status_code == 422 and response.json()["error"]["code"] == "phone_country_not_supported"


async def test_an_added_country_is_texted(client_with, settings):
    async with client_with(sms_allowed_countries="US,GB") as http:
        assert (await http.post(SEND, json={"phone_number": GB_MOBILE})).status_code == 200
    assert GB_MOBILE in settings.sms_outbox.read_text()


async def test_the_default_allow_list_texts_the_numbers_tests_and_examples_use(client):
    for number in (new_phone(), "+14155550101", "+12025550177", "+16135550100"):
        assert (await client.post(SEND, json={"phone_number": number})).status_code == 200, number


@pytest.mark.parametrize("path, extra", [(SEND, {}), (VERIFY, {"otp": "123456"})])
@pytest.mark.parametrize("number", ["+19002345678", GB_MOBILE])
async def test_a_refused_number_is_answered_alike_with_or_without_an_account(client, db, path, extra, number):
    unknown = await client.post(path, json={"phone_number": number, **extra})
    await db.execute("INSERT INTO users (phone_number, is_verified) VALUES ($1, true)", number)
    known = await client.post(path, json={"phone_number": number, **extra})
    assert known.status_code == unknown.status_code == 422
    assert known.json() == unknown.json() and known.headers.keys() == unknown.headers.keys()


async def test_a_refused_number_touches_no_budget_or_counter(app, client):
    for path, extra in ((SEND, {}), (VERIFY, {"otp": "123456"})):
        for number in ("+19002345678", GB_MOBILE, "12345"):
            assert (await client.post(path, json={"phone_number": number, **extra})).status_code == 422
    assert await app.state.resources.redis.keys("rl:*") == []


async def test_a_refused_number_is_a_422_even_while_redis_is_down(client_with):
    async with client_with(redis_url="redis://127.0.0.1:1/0") as http:
        response = await http.post(SEND, json={"phone_number": "+19002345678"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "phone_number_not_supported"
