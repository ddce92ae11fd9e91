"""Hourly budgets on texting codes (per address, per number block, for the whole service) and on
wrong guesses: each refuses with 429 + Retry-After past its limit, and none of them lets one
client lock out users who share nothing with it."""

from __future__ import annotations

from kit.settings import Settings
from tests.auth.conftest import client_at
from tests.factories import last_code, new_phone

SEND, VERIFY = "/api/v1/auth/send-otp", "/api/v1/auth/verify-otp"
DEFAULT_PER_IP = Settings.model_fields["rate_otp_per_ip_per_hour"].default


async def _send(app, address: str, number: str):
    async with client_at(app, address) as http:
        return await http.post(SEND, json={"phone_number": number})


def _refused(response, code: str) -> bool:
    return (
        response.status_code == 429
        and response.json()["error"]["code"] == code
        and 0 < int(response.headers["Retry-After"]) <= 3600
    )


async def test_one_address_gets_ten_codes_an_hour_and_another_address_still_gets_its_own(app_with):
    async with app_with(rate_otp_per_ip_per_hour=DEFAULT_PER_IP) as app:
        statuses = [(await _send(app, "198.51.100.1", new_phone())).status_code for _ in range(DEFAULT_PER_IP)]
        refused = await _send(app, "198.51.100.1", new_phone())
        other = await _send(app, "198.51.100.2", new_phone())
    assert statuses == [200] * 10 and _refused(refused, "otp_network_limit") and other.status_code == 200


async def test_ipv6_clients_share_a_budget_per_64_block(app_with):
    async with app_with(rate_otp_per_ip_per_hour=1) as app:
        first = await _send(app, "2001:db8:1:1::a", new_phone())
        same_64 = await _send(app, "2001:db8:1:1::b", new_phone())
        other_64 = await _send(app, "2001:db8:1:2::a", new_phone())
    assert first.status_code == 200 and _refused(same_64, "otp_network_limit") and other_64.status_code == 200


async def test_a_block_of_numbers_has_its_own_budget_whatever_the_address(app_with):
    async with app_with(rate_otp_per_prefix_per_hour=2) as app:
        sent = [(await _send(app, f"198.51.100.{i}", f"+12025550{i}01")).status_code for i in (1, 2)]
        same_block = await _send(app, "198.51.100.3", "+12025550301")
        other_block = await _send(app, "198.51.100.4", "+14155550101")
    assert sent == [200, 200] and _refused(same_block, "otp_prefix_limit") and other_block.status_code == 200


async def test_the_service_texts_at_most_the_global_budget_an_hour(app_with):
    async with app_with(rate_otp_global_per_hour=2) as app:
        sent = [
            (await _send(app, f"198.51.100.{i}", n)).status_code for i, n in ((1, "+12025550101"), (2, "+14155550101"))
        ]
        refused = await _send(app, "198.51.100.3", "+16135550100")
    assert sent == [200, 200] and _refused(refused, "otp_global_limit")


async def test_a_request_one_budget_refuses_uses_up_no_other_budget(app_with):
    async with app_with(rate_otp_global_per_hour=1) as app:
        await _send(app, "198.51.100.1", "+12025550101")
        assert _refused(await _send(app, "198.51.100.2", "+14155550101"), "otp_global_limit")
        counters = await app.state.resources.redis.keys("rl:otp_*")
    assert [key for key in counters if "198.51.100.1" in key]  # the first request's counters are there
    assert not [key for key in counters if "198.51.100.2" in key or "+14155550101" in key or "+1415555" in key]


async def test_refused_numbers_do_not_eat_the_global_budget(app_with):
    async with app_with(rate_otp_global_per_hour=1) as app:
        for number in ("12345", "+19002345678", "+447400123456"):
            assert (await _send(app, "198.51.100.1", number)).status_code == 422
        assert (await _send(app, "198.51.100.1", new_phone())).status_code == 200


async def test_failed_verifications_from_one_address_do_not_block_a_login_from_another(app_with, settings):
    async with app_with() as app, client_at(app, "127.5.0.1") as attacker, client_at(app, "127.6.0.1") as user:
        for _ in range(settings.rate_login_failures_per_hour + 2):
            phone = new_phone()
            await attacker.post(SEND, json={"phone_number": phone})
            await attacker.post(VERIFY, json={"phone_number": phone, "otp": "999999"})
        phone = new_phone()
        await user.post(SEND, json={"phone_number": phone})
        login = await user.post(VERIFY, json={"phone_number": phone, "otp": last_code(settings.sms_outbox, phone)})
        phone = new_phone()
        await attacker.post(SEND, json={"phone_number": phone})
        blocked = await attacker.post(
            VERIFY, json={"phone_number": phone, "otp": last_code(settings.sms_outbox, phone)}
        )
    assert login.status_code == 200 and _refused(blocked, "too_many_attempts")
    assert "network" in blocked.json()["error"]["message"]


async def test_wrong_guesses_on_a_number_count_across_new_codes(app_with, settings):
    phone = new_phone()
    async with app_with(rate_login_failures_per_hour=100) as app, client_at(app, "198.51.100.1") as http:
        for wrong in (3, 2):  # five wrong guesses in all, split over two codes
            for key in await app.state.resources.redis.keys("rl:cd:*"):
                await app.state.resources.redis.delete(key)  # step past the resend cooldown
            assert (await http.post(SEND, json={"phone_number": phone})).status_code == 200
            for _ in range(wrong):
                await http.post(VERIFY, json={"phone_number": phone, "otp": "999999"})
        right = await http.post(VERIFY, json={"phone_number": phone, "otp": last_code(settings.sms_outbox, phone)})
    assert _refused(right, "too_many_attempts") and "this number" in right.json()["error"]["message"]
