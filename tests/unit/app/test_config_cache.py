"""CachedConfig: the front's config, read again at most once per TTL (docs/http.md, "Configuration")."""

from __future__ import annotations

from pathlib import Path

import pytest

from failstreak.app.config import CONFIG_ENV
from failstreak.app.config_cache import CachedConfig
from failstreak.errors import ConfigError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _config_file(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / name
    path.write_text(f"state: {tmp_path / 'state.json'}\ninbox: {tmp_path / 'inbox'}/\nthresholds: {{window: 10}}\n")
    monkeypatch.setenv(CONFIG_ENV, str(path))
    return path


def test_a_config_changed_within_the_ttl_is_not_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a config read once
    path = _config_file(tmp_path, "config.yaml", monkeypatch)
    clock = Clock()
    cache = CachedConfig(ttl_s=60, clock=clock)
    assert cache.get().thresholds.window == 10
    # When the file changes and 59 seconds pass
    path.write_text(path.read_text().replace("window: 10}", "window: 20}"))
    clock.now += 59
    # Then the config held is served; at 60 seconds the file is read again
    assert cache.get().thresholds.window == 10
    clock.now += 1
    assert cache.get().thresholds.window == 20


def test_a_config_that_cannot_be_read_is_not_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a config file that is broken
    path = _config_file(tmp_path, "config.yaml", monkeypatch)
    path.write_text("window: [")
    cache = CachedConfig(ttl_s=60, clock=Clock())
    with pytest.raises(ConfigError):
        cache.get()
    # When it is fixed, with no time passing; Then the next call reads it
    path.write_text(f"state: {tmp_path / 'state.json'}\nthresholds: {{window: 12}}\n")
    assert cache.get().thresholds.window == 12


def test_a_new_config_location_is_read_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a config read from one location
    _config_file(tmp_path, "a.yaml", monkeypatch)
    cache = CachedConfig(ttl_s=60, clock=Clock())
    assert cache.get().thresholds.window == 10
    # When FAILSTREAK_CONFIG names another file
    other = _config_file(tmp_path, "b.yaml", monkeypatch)
    other.write_text(other.read_text().replace("window: 10}", "window: 30}"))
    # Then that file is read, whatever the TTL
    assert cache.get().thresholds.window == 30
