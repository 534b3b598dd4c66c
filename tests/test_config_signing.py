"""Production refuses to start with a signing key that only looks like one."""

from __future__ import annotations

import pytest

from vitrina.config import load_settings
from vitrina.errors import ConfigError


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in [n for n in __import__("os").environ if n.startswith("VITRINA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("VITRINA_DATA_DIR", str(tmp_path))
    return monkeypatch


@pytest.mark.parametrize("secret", [" " * 16, "\t" * 16, " " * 40, "\n \t" * 8])
def test_production_refuses_a_blank_signing_key(env, secret):
    env.setenv("VITRINA_SIGNING__KEYS", '{{"k1": "{}"}}'.format(secret.encode("unicode_escape").decode()))
    with pytest.raises(ConfigError, match="signing.keys"):
        load_settings()


def test_a_real_key_beside_a_blank_one_is_still_refused(env):
    env.setenv("VITRINA_SIGNING__KEYS", '{"k1": "a-long-random-signing-secret", "k2": "%s"}'
               % (" " * 16))
    with pytest.raises(ConfigError, match="signing.keys"):
        load_settings()
