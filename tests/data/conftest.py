import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Decoded-image caches go under the test's tmp_path, never into the home folder."""
    monkeypatch.setenv("NETADAPT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NETADAPT_NO_CACHE", raising=False)
