"""Billing's part of a replica: one payment provider (its SDK client keeps its HTTP connections)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from deployments.billing.provider import BillingProvider, make_billing_provider
from kit.deps import part
from kit.resources import Resources


@dataclass
class BillingParts:
    resources: Resources
    _provider: BillingProvider | None = None

    def provider(self) -> BillingProvider:
        """Made on first use, from the settings in force then."""
        if self._provider is None:
            self._provider = make_billing_provider(self.resources.settings)
        return self._provider


async def on_startup(resources: Resources) -> None:
    resources.add(BillingParts(resources))


async def _provider(parts: Annotated[BillingParts, Depends(part(BillingParts))]) -> BillingProvider:
    return parts.provider()


Provider = Annotated[BillingProvider, Depends(_provider)]
