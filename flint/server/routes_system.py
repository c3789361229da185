"""``/health``: the one route open without a token."""

from fastapi import APIRouter

from flint.server.models import Health
from flint_core import __version__

router = APIRouter(tags=["system"])


@router.get("/health")
def health() -> Health:
    """Whether the server is up (no token needed)."""
    return Health(status="ok", service="flint", version=__version__)
