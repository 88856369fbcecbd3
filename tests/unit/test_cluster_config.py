"""The cluster's generated configuration: HAProxy's and the replicas' endpoints."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from clinic_assistant.cluster import LOCK_STORE, cluster_endpoints, render_haproxy
from clinic_assistant.settings import SettingsError, load_settings


def test_every_replica_is_in_both_backends_and_socketio_is_sticky() -> None:
    config = render_haproxy(8000, [7001, 7002, 7003], 7100)
    assert config.count("server rasa") == 6
    assert "server rasa3 127.0.0.1:7003 check cookie r3" in config
    assert "cookie CLINIC_REPLICA insert" in config
    assert "bind 127.0.0.1:8000" in config
    assert "${" not in config


def test_without_a_token_outside_callers_of_the_rest_webhook_are_refused() -> None:
    config = render_haproxy(8000, [7001], 7100)
    assert "http-request deny deny_status 401 if rest_webhook !from_loopback\n" in config
    assert "Bearer" not in config  # an empty token must never match "Bearer "


def test_a_token_is_required_from_outside_loopback() -> None:
    config = render_haproxy(8000, [7001], 7100, rest_token="s3cret-Token_1")
    assert '"Bearer s3cret-Token_1"' in config
    assert "!from_loopback !rest_token_ok" in config


@pytest.mark.parametrize("token", ['a"b', "a b", "a\\b"])
def test_a_token_that_would_break_the_config_is_refused(token: str) -> None:
    with pytest.raises(ValueError, match="REST_TOKEN"):
        render_haproxy(8000, [7001], 7100, rest_token=token)


def test_haproxy_accepts_the_rendered_config(tmp_path: Path) -> None:
    if shutil.which("haproxy") is None:
        pytest.fail("haproxy is missing: `make haproxy` (make test installs it)")
    path = tmp_path / "haproxy.cfg"
    path.write_text(render_haproxy(8000, [7001, 7002], 7100, rest_token="t0ken"))
    checked = subprocess.run(
        ["haproxy", "-c", "-f", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_replicas_get_endpoints_yml_plus_the_atomic_lock_store() -> None:
    endpoints = cluster_endpoints()
    assert endpoints["lock_store"] == {"type": LOCK_STORE, "url": "${REDIS_URL}"}
    assert endpoints["tracker_store"]["type"] == "SQL"  # type: ignore[index]


def test_cluster_settings_defaults_and_bad_values() -> None:
    settings = load_settings({})
    assert (settings.replicas, settings.cluster_port, settings.socketio_redis_url) == (2, 8000, "")
    assert load_settings({"REPLICAS": "3", "SOCKETIO_REDIS_URL": "redis://r:1/2"}).replicas == 3
    for env in ({"REPLICAS": "0"}, {"REPLICAS": "two"}, {"REDIS_URL": "http://x"}):
        with pytest.raises(SettingsError):
            load_settings(env)
