"""Settings: a section per subsystem, validated once; a wrong setting stops start-up
and is named; old names still work and warn with the new one."""

from __future__ import annotations

import pytest

from vitrina.config import RenamedSetting, Settings, load_settings
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
    assert s.dev and s.sqlalchemy_url.endswith("catalog.db") and s.derivatives.widths == [320, 640, 1280]


@pytest.mark.parametrize("keys", [None, '{"k1": "changeme"}', '{"k1": "short"}',
                                  '{"k1": "                "}'])
def test_production_refuses_missing_or_placeholder_keys(env, keys):
    if keys:
        env.setenv("VITRINA_SIGNING__KEYS", keys)
    with pytest.raises(ConfigError, match="signing.keys"):
        load_settings()


def test_wrong_setting_is_named(env):
    env.setenv("VITRINA_DEV", "1")
    env.setenv("VITRINA_INGEST__MAX_PIXELS", "lots")
    with pytest.raises(ConfigError, match="VITRINA_INGEST__MAX_PIXELS"):
        load_settings()
    env.setenv("VITRINA_INGEST__MAX_PIXELS", "1000")
    env.setenv("VITRINA_DERIVATIVES__FORMATS", '["bmp"]')
    with pytest.raises(ConfigError, match="VITRINA_DERIVATIVES__FORMATS"):
        load_settings()


def test_unknown_setting_in_file_is_refused_and_good_file_loads(env, tmp_path):
    cfg = tmp_path / "vitrina.toml"
    cfg.write_text('dev = true\n[ingest]\nmax_upload_bytes = 1234\n[derivatives]\nwidths = [100, 50]\n')
    env.setenv("VITRINA_CONFIG_FILE", str(cfg))
    s = load_settings()
    assert s.ingest.max_upload_bytes == 1234 and s.derivatives.widths == [50, 100]
    env.setenv("VITRINA_INGEST__MAX_UPLOAD_BYTES", "99")  # the environment wins over the file
    assert load_settings().ingest.max_upload_bytes == 99
    cfg.write_text("dev = true\n[ingest]\nmax_upload_byts = 1\n")
    with pytest.raises(ConfigError, match="MAX_UPLOAD_BYTS"):
        load_settings()
    env.setenv("VITRINA_CONFIG_FILE", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="config_file"):
        load_settings()


def test_production_with_real_key(env):
    env.setenv("VITRINA_SIGNING__KEYS", GOOD_KEYS)
    s = load_settings()
    assert not s.dev and s.current_key_id == "k1"


def test_old_names_still_work_and_warn_with_the_new_one(env, tmp_path):
    env.setenv("VITRINA_DEV", "1")
    env.setenv("VITRINA_LEASE_SECONDS", "7")
    env.setenv("VITRINA_DERIVATIVE_FORMATS", '["jpeg"]')
    with pytest.warns(RenamedSetting) as warned:
        s = load_settings()
    assert s.pipeline.lease_seconds == 7 and s.derivatives.formats == ["jpeg"]
    assert sorted(str(w.message).split(" is now ")[1].split()[0] for w in warned) == [
        "VITRINA_DERIVATIVES__FORMATS", "VITRINA_PIPELINE__LEASE_SECONDS"]
    env.setenv("VITRINA_PIPELINE__LEASE_SECONDS", "9")  # the new name wins
    with pytest.warns(RenamedSetting):
        assert load_settings().pipeline.lease_seconds == 9
    # the same in a config file and in code
    env.delenv("VITRINA_LEASE_SECONDS")
    env.delenv("VITRINA_DERIVATIVE_FORMATS")
    cfg = tmp_path / "old.toml"
    cfg.write_text("max_upload_bytes = 1234\n")
    env.setenv("VITRINA_CONFIG_FILE", str(cfg))
    with pytest.warns(RenamedSetting, match=r"\[ingest\] max_upload_bytes"):
        assert load_settings().ingest.max_upload_bytes == 1234
    with pytest.warns(RenamedSetting, match="VITRINA_DELIVERY__MAX_WIDTH"):
        assert Settings(dev=True, delivery_max_width=640).delivery.max_width == 640


def test_one_pixel_cap_for_uploads_and_transformations(env):
    env.setenv("VITRINA_DEV", "1")
    env.setenv("VITRINA_INGEST__MAX_PIXELS", "5000")
    from vitrina.delivery.configured import limits_from

    assert limits_from(load_settings()).max_source_pixels == 5000
    env.delenv("VITRINA_INGEST__MAX_PIXELS")
    with pytest.warns(RenamedSetting, match="VITRINA_INGEST__MAX_PIXELS"):
        assert Settings(dev=True, delivery_max_source_pixels=77).ingest.max_pixels == 77


def test_every_setting_is_documented_where_declared():
    sections = [f.annotation for f in Settings.model_fields.values() if hasattr(f.annotation, "model_fields")]
    assert len(sections) == 11
    for model in [Settings, *sections]:
        for name, field in model.model_fields.items():
            assert field.description or hasattr(field.annotation, "model_fields"), f"{model.__name__}.{name}"


def test_plugins_that_do_not_import_refuse_to_boot(env):
    from vitrina.runtime import Runtime

    env.setenv("VITRINA_DEV", "1")
    env.setenv("VITRINA_PLUGINS", '["vitrina_no_such_plugin"]')
    with pytest.raises(ConfigError, match="vitrina_no_such_plugin"):
        Runtime(load_settings())
