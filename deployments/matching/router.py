"""/api/v1/matching routes (being built)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/matching", tags=["matching"])
