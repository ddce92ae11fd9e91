"""What the plans sell, seen through the matching domain's own routes."""

from tests.billing.helpers import subscribe
from tests.factories import make_member


async def test_subscribing_unlocks_see_who_liked_you(client, settings):
    member = await make_member(client, settings.sms_outbox)
    likes_you = "/api/v1/matching/likes-you"
    before = await client.get(likes_you, headers=member.headers)
    assert before.status_code == 200, before.text
    assert before.json()["is_premium"] is False

    assert (await subscribe(client, member)).status_code == 200
    after = await client.get(likes_you, headers=member.headers)

    assert after.json()["is_premium"] is True
