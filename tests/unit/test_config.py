"""Settings from the environment: the web session timeouts are checked at start-up."""

from __future__ import annotations

import pytest

from chartkeeper.config import load_settings


def test_session_timeouts_default_and_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CHARTKEEPER_SESSION_IDLE_TIMEOUT", "CHARTKEEPER_SESSION_LIFETIME"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings("sqlite:///x.db")
    assert (settings.session_idle_timeout, settings.session_lifetime) == (900, 43_200)
    monkeypatch.setenv("CHARTKEEPER_SESSION_IDLE_TIMEOUT", "600")
    monkeypatch.setenv("CHARTKEEPER_SESSION_LIFETIME", "28800")
    settings = load_settings("sqlite:///x.db")
    assert (settings.session_idle_timeout, settings.session_lifetime) == (600, 28_800)


@pytest.mark.parametrize(
    ("idle", "lifetime", "named"),
    [
        ("ten", "3600", "CHARTKEEPER_SESSION_IDLE_TIMEOUT"),
        ("30", "3600", "CHARTKEEPER_SESSION_IDLE_TIMEOUT"),
        ("600", "-1", "CHARTKEEPER_SESSION_LIFETIME"),
        ("600", "9999999", "CHARTKEEPER_SESSION_LIFETIME"),
        ("3600", "1800", "CHARTKEEPER_SESSION_LIFETIME"),  # shorter than the idle timeout
    ],
)
def test_bad_session_timeouts_are_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, idle: str, lifetime: str, named: str
) -> None:
    monkeypatch.setenv("CHARTKEEPER_SESSION_IDLE_TIMEOUT", idle)
    monkeypatch.setenv("CHARTKEEPER_SESSION_LIFETIME", lifetime)
    with pytest.raises(ValueError, match=named):
        load_settings("sqlite:///x.db")
