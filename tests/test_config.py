"""Settings: validated once; a wrong setting stops start-up and is named."""

from __future__ import annotations

import pytest

from vitrina.config import load_settings
from vitrina.errors import ConfigError

GOOD_KEYS = '{"k1": "a-long-random-signing-secret"}'


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in [n for n in __import__("os").environ if n.startswith("VITRINA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("VITRINA_DATA_DIR", str(tmp_path))
    return monkeypatch


def test_dev_mode_needs_no_keys(env):
    env.setenv("VITRINA_DEV", "1")
    s = load_settings()
    assert s.dev and s.sqlalchemy_url.endswith("catalog.db") and s.derivative_widths == [320, 640, 1280]


@pytest.mark.parametrize("keys", [None, '{"k1": "changeme"}', '{"k1": "short"}'])
def test_production_refuses_missing_or_placeholder_keys(env, keys):
    if keys:
        env.setenv("VITRINA_SIGNING_KEYS", keys)
    with pytest.raises(ConfigError, match="signing_keys"):
        load_settings()


def test_wrong_setting_is_named(env):
    env.setenv("VITRINA_DEV", "1")
    env.setenv("VITRINA_MAX_PIXELS", "lots")
    with pytest.raises(ConfigError, match="VITRINA_MAX_PIXELS"):
        load_settings()
    env.setenv("VITRINA_MAX_PIXELS", "1000")
    env.setenv("VITRINA_DERIVATIVE_FORMATS", '["bmp"]')
    with pytest.raises(ConfigError, match="VITRINA_DERIVATIVE_FORMATS"):
        load_settings()


def test_unknown_setting_in_file_is_refused_and_good_file_loads(env, tmp_path):
    cfg = tmp_path / "vitrina.toml"
    cfg.write_text('dev = true\nmax_upload_bytes = 1234\nderivative_widths = [100, 50]\n')
    env.setenv("VITRINA_CONFIG_FILE", str(cfg))
    s = load_settings()
    assert s.max_upload_bytes == 1234 and s.derivative_widths == [50, 100]
    env.setenv("VITRINA_MAX_UPLOAD_BYTES", "99")  # the environment wins over the file
    assert load_settings().max_upload_bytes == 99
    cfg.write_text("dev = true\nmax_upload_byts = 1\n")
    with pytest.raises(ConfigError, match="MAX_UPLOAD_BYTS"):
        load_settings()
    env.setenv("VITRINA_CONFIG_FILE", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="config_file"):
        load_settings()


def test_production_with_real_key(env):
    env.setenv("VITRINA_SIGNING_KEYS", GOOD_KEYS)
    s = load_settings()
    assert not s.dev and s.current_key_id == "k1"


def test_plugins_that_do_not_import_refuse_to_boot(env):
    from vitrina.runtime import Runtime

    env.setenv("VITRINA_DEV", "1")
    env.setenv("VITRINA_PLUGINS", '["vitrina_no_such_plugin"]')
    with pytest.raises(ConfigError, match="vitrina_no_such_plugin"):
        Runtime(load_settings())
