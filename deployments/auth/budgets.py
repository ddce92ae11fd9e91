"""How many login codes may be texted: the per-number cooldown, then hourly budgets per number,
per client address, per number block and for the whole service.

The budgets are taken all at once or not at all, so a request one budget refuses does not use up
another (a user refused by the global budget still has their own codes left). All of them fail
closed: with Redis down no code is sent (503), because every text costs money.
"""

from __future__ import annotations

from deployments.auth.phones import Phone
from kit.addresses import address_key
from kit.redis import Budget, RateLimiter
from kit.settings import Settings

HOUR = 3600


class SmsBudget:
    def __init__(self, limiter: RateLimiter, settings: Settings) -> None:
        self.limiter, self.settings = limiter, settings

    async def take(self, phone: Phone, client_ip: str) -> None:
        """Count one code for `phone` sent at the request of `client_ip`, or raise 429."""
        await self.limiter.cooldown(
            "otp", phone.e164, self.settings.otp_resend_cooldown_s, message="Wait before asking for another code"
        )
        await self.limiter.hit_all(self.budgets(phone, address_key(client_ip)), HOUR)

    def budgets(self, phone: Phone, address: str) -> list[Budget]:
        """Narrowest first: the first spent one is the one the answer names."""
        s = self.settings
        return [
            Budget(
                "otp_send", phone.e164, s.rate_otp_per_hour, "Too many codes requested for this number; try again later"
            ),
            Budget(
                "otp_ip",
                address,
                s.rate_otp_per_ip_per_hour,
                "Too many codes requested from this network; try again later",
                "otp_network_limit",
            ),
            Budget(
                "otp_prefix",
                phone.prefix,
                s.rate_otp_per_prefix_per_hour,
                "Too many codes requested for numbers like this one; try again later",
                "otp_prefix_limit",
            ),
            Budget(
                "otp_global",
                "all",
                s.rate_otp_global_per_hour,
                "Login codes cannot be sent right now; try again later",
                "otp_global_limit",
            ),
        ]
