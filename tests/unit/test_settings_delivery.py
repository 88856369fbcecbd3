"""Settings reach their users one way: the environment, read by load_settings.

The servers take their ports and URLs from Settings, every ${VAR} in the Rasa
YAML files is filled from Settings, and the README's table names exactly the
variables that load_settings reads.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, Mapping, Set

import yaml

from clinic_assistant.servers import assistant_servers, local_settings
from clinic_assistant.settings import PROJECT_ROOT, load_settings

RASA_YAML = ("endpoints.yml", "credentials.yml")


class RecordingEnv(Mapping[str, str]):
    """An empty environment that remembers every variable asked for."""

    def __init__(self) -> None:
        self.asked: Set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("load_settings must ask for variables by name")

    def __len__(self) -> int:
        return 0


def variables_read() -> Set[str]:
    env = RecordingEnv()
    load_settings(env)
    return env.asked


def yaml_variables(name: str) -> Set[str]:
    """The ${VAR}s in the values of a YAML file (its comments may name ${VAR} freely)."""
    found: Set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(key)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, str):
            found.update(re.findall(r"\$\{(\w+)\}", node))

    walk(yaml.safe_load((PROJECT_ROOT / name).read_text("utf-8")))
    return found


def readme_variables() -> Set[str]:
    """Every `VAR` named in the first column of the README's settings table."""
    text = (PROJECT_ROOT / "README.md").read_text("utf-8")
    section = text.split("\n## Settings", 1)[1].split("\n## ", 1)[0]
    names: Set[str] = set()
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells and not set(cells[0]) <= set("-: "):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0]))
    return names


def test_every_yaml_variable_comes_from_the_settings() -> None:
    assert yaml_variables("endpoints.yml") >= {"ACTION_SERVER_URL", "ASSISTANT_DB_URL"}
    filled = load_settings({}).endpoint_env()
    for name in RASA_YAML:
        missing = yaml_variables(name) - set(filled)
        assert not missing, f"{name} uses ${{VAR}}s the settings do not fill: {missing}"


def test_the_endpoint_values_are_the_settings_values() -> None:
    settings = load_settings(
        {"ACTION_SERVER_URL": "http://actions.internal:9000/webhook", "ASSISTANT_DB_URL": "x://"}
    )
    assert settings.endpoint_env()["ACTION_SERVER_URL"] == "http://actions.internal:9000/webhook"
    assert settings.endpoint_env()["ASSISTANT_DB_URL"] == "x://"


def test_the_readme_table_lists_exactly_the_variables_the_settings_read() -> None:
    read, documented = variables_read(), readme_variables()
    assert read, "load_settings read no variable: the recording environment is broken"
    assert not read - documented, f"settings missing from the README table: {read - documented}"
    assert not documented - read, f"README table names unknown settings: {documented - read}"


def test_the_readme_parser_sees_the_table() -> None:
    # The table test above is only as good as this parser.
    assert {"CLINIC_NAME", "SMTP_HOST", "SMTP_PORT", "WEB_PORT"} <= readme_variables()


def test_ports_and_their_urls_have_the_guides_defaults() -> None:
    settings = load_settings({})
    assert (settings.rasa_port, settings.action_port, settings.web_port) == (5005, 5055, 8080)
    assert settings.action_server_url == "http://localhost:5055/webhook"
    assert settings.web_rasa_url == "http://localhost:5005"


def test_the_url_defaults_follow_the_ports_and_explicit_urls_win() -> None:
    moved = load_settings({"RASA_PORT": "6005", "ACTION_PORT": "6055"})
    assert moved.action_server_url == "http://localhost:6055/webhook"
    assert moved.web_rasa_url == "http://localhost:6005"
    pinned = load_settings(
        {
            "ACTION_PORT": "6055",
            "ACTION_SERVER_URL": "http://actions.internal:9000/webhook",
            "WEB_RASA_URL": "https://chat.example-clinic.org",
        }
    )
    assert pinned.action_server_url == "http://actions.internal:9000/webhook"
    assert pinned.web_rasa_url == "https://chat.example-clinic.org"


def test_make_run_takes_every_port_and_url_from_the_settings(tmp_path: Path) -> None:
    env = {
        "RASA_PORT": "6005",
        "ACTION_PORT": "6055",
        "WEB_PORT": "6080",
        "ACTION_SERVER_URL": "http://actions.internal:9000/webhook",
        "WEB_RASA_URL": "https://chat.example-clinic.org",
    }
    settings = load_settings(env)
    actions, rasa, web = assistant_servers(settings, tmp_path)
    assert actions.command[-2:] == ["--port", "6055"]
    assert rasa.command[rasa.command.index("--port") + 1] == "6005"
    assert ":6080/" in web.ready_url
    for server in (actions, rasa, web):
        # What the child process will read: the same settings, not a hard-coded copy.
        child = load_settings(server.env)
        assert child.endpoint_env() == settings.endpoint_env()
        assert (child.rasa_port, child.action_port, child.web_port) == (6005, 6055, 6080)
        assert child.web_rasa_url == "https://chat.example-clinic.org"
        assert child.web_allowed_origins == settings.web_allowed_origins


def test_local_settings_put_a_whole_stack_on_free_loopback_ports() -> None:
    settings = local_settings("sqlite:////tmp/stack.db", {})
    ports = {settings.rasa_port, settings.action_port, settings.web_port}
    assert len(ports) == 3 and not ports & {5005, 5055, 8080}
    assert settings.action_server_url == f"http://127.0.0.1:{settings.action_port}/webhook"
    assert settings.web_rasa_url == f"http://127.0.0.1:{settings.rasa_port}"
    assert settings.web_allowed_origins == (f"http://127.0.0.1:{settings.web_port}",)
    assert settings.db_url == "sqlite:////tmp/stack.db"
