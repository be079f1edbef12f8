import pytest


@pytest.fixture(autouse=True)
def _context(ctx):
    """Unit tests call services directly, inside an application context."""
    yield
