import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    """Every domain test runs on a real SQLite file and on the real PostgreSQL."""
    return request.param
