import pytest

from tests.websearch.sites import Site


@pytest.fixture
def site():
    """Local pages on 127.0.0.1 (a fresh server per test)."""
    server = Site()
    yield server
    server.close()


@pytest.fixture
def engine():
    """A local search engine (SearxNG- or Brave-shaped, as the test scripts it)."""
    server = Site()
    yield server
    server.close()
