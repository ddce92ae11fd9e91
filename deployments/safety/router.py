"""/api/v1/safety routes (being built)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/safety", tags=["safety"])
