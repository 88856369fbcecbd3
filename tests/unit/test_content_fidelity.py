"""Every treatment answer is the patient sheet's own words, and nothing else
hard-codes the clinic's facts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from clinic_assistant.nlg import button_titles
from tests.conftest import ROOT, SHEET

SHARED_SHEET = ROOT.parent / "shared" / "source" / "botox-for-cervical-dystonia.txt"


def _responses() -> Dict[str, List[Dict[str, Any]]]:
    responses: Dict[str, List[Dict[str, Any]]] = {}
    for path in sorted((ROOT / "domain").glob("*.yml")):
        responses.update(yaml.safe_load(path.read_text("utf-8")).get("responses") or {})
    return responses


FAQ = {k: v for k, v in _responses().items() if k.startswith("utter_faq/")}


def _sheet_text() -> str:
    return SHEET.read_text("utf-8")


def test_the_sheet_in_data_source_is_the_clinics_sheet() -> None:
    if not SHARED_SHEET.exists():
        pytest.skip("the shared copy of the sheet is not beside this checkout")
    assert SHEET.read_bytes() == SHARED_SHEET.read_bytes()


def test_there_are_fine_grained_answers() -> None:
    assert len(FAQ) >= 24


@pytest.mark.parametrize("name", sorted(FAQ))
def test_every_line_of_every_answer_is_a_verbatim_span_of_the_sheet(name: str) -> None:
    sheet = _sheet_text()
    for variation in FAQ[name]:
        lines = [line for line in variation["text"].splitlines() if line.strip()]
        assert lines, f"{name} has no text"
        for line in lines:
            body = re.sub(r"^- ", "", line.strip())
            assert body in sheet, f"{name}: not word for word from the sheet: {body!r}"


def test_follow_up_buttons_point_at_answers_that_exist() -> None:
    topics = {name.split("/", 1)[1] for name in FAQ}
    for name, variations in _responses().items():
        for variation in variations:
            for button in variation.get("buttons") or []:
                payload = button["payload"]
                if payload.startswith("/faq/"):
                    assert payload[len("/faq/") :] in topics, f"{name}: {payload}"


@pytest.mark.parametrize("name", sorted(FAQ))
def test_every_answer_offers_two_or_three_follow_ups(name: str) -> None:
    for variation in FAQ[name]:
        buttons = variation.get("buttons") or []
        assert 2 <= len(buttons) <= 3
        assert f"/{name.split('_', 1)[1]}" not in {b["payload"] for b in buttons}


def test_every_answer_has_a_title_for_the_did_you_mean_buttons() -> None:
    titles = button_titles(_responses())
    for name in FAQ:
        assert f"/{name[len('utter_') :]}" in titles, name


def test_clinic_facts_are_not_hard_coded_outside_the_settings() -> None:
    """The phone number, clinic name and 911 live only in clinic_assistant/settings.py."""
    from clinic_assistant.settings import ClinicSettings

    facts = [ClinicSettings().phone, ClinicSettings().name, "911"]
    checked: List[Path] = []
    for folder in ("domain", "actions", "clinic_assistant", "web"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in {".yml", ".py", ".js", ".html", ".css"}:
                continue
            if path.name == "settings.py" or "vendor" in path.parts or "node_modules" in path.parts:
                continue
            checked.append(path)
            text = path.read_text("utf-8", "replace")
            for fact in facts:
                assert fact not in text, f"{path.relative_to(ROOT)} hard-codes {fact!r}"
    assert len(checked) > 5
