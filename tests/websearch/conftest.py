import subprocess

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


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A self-signed certificate for the name `localhost` only: (certificate, key) PEM paths."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_site(certificate):
    """Local HTTPS pages on 127.0.0.1 whose certificate names `localhost`."""
    server = Site(tls=certificate)
    yield server
    server.close()
