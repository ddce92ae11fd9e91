"""/api/v1/profile routes (being built)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/profile", tags=["photos"])
