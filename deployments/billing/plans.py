"""The plans we sell. Code, not user input: a plan id in a request is looked up here.

Each plan maps to a recurring Stripe Price found by its lookup key (= the plan id), so the
Stripe account needs one active Price per plan with lookup_key `premium_monthly` /
`premium_yearly`; `StripeBilling` checks that its amount, currency and interval match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PREMIUM_FEATURES = ("Unlimited likes", "See who liked you", "Rewind feature")


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    amount_cents: int
    currency: str
    interval: Literal["month", "year"]
    features: tuple[str, ...] = PREMIUM_FEATURES

    @property
    def price(self) -> float:
        return self.amount_cents / 100


PLANS: dict[str, Plan] = {
    plan.id: plan
    for plan in (
        Plan("premium_monthly", "Premium Monthly", 1999, "usd", "month"),
        Plan("premium_yearly", "Premium Yearly", 11999, "usd", "year"),
    )
}
