"""/ws: the realtime socket (being built)."""

from fastapi import APIRouter

router = APIRouter(tags=["realtime"])
