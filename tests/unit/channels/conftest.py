"""Channel tests read unhandled messages with the rules-only safety net (no encoder)."""

from __future__ import annotations

from typing import Any, List

import pytest

from clinic_assistant.channels import unhandled
from clinic_assistant.red_flags.net import SafetyNet, build_net


@pytest.fixture(scope="session")
def rules_net() -> SafetyNet:
    """The project's rules and context tables, without the sentence encoder."""
    return build_net(encoder=None)


@pytest.fixture(autouse=True)
def net(monkeypatch: pytest.MonkeyPatch, rules_net: SafetyNet) -> None:
    """What the channels' failure path reads danger signs with, in these tests."""
    monkeypatch.setattr(unhandled, "_assess", rules_net.assess)


@pytest.fixture(autouse=True)
def reported(monkeypatch: pytest.MonkeyPatch) -> List[Any]:
    """What the failure path hands to the escalation service (kept, not recorded)."""
    calls: List[Any] = []

    class Service:
        def sighting(self, **kwargs: Any) -> Any:
            return kwargs

        def report(self, sighting: Any) -> str:
            calls.append(sighting)
            return "ref"

    import clinic_assistant.escalations.service as service

    monkeypatch.setattr(service, "get_service", Service)
    return calls
