"""/api/v1/billing routes (being built)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/billing", tags=["billing"])
