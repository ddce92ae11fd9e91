"""/api/v1/messages routes (being built)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/messages", tags=["messages"])
