"""One spaCy pipeline per process: SpacyNLP (through the runtime) and the detector share it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List

import pytest
from spacy.language import Language

from clinic_assistant.nlp import pipeline
from clinic_assistant.nlp.pipeline import project_pipeline, save_pipeline, shared_pipeline


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved project pipeline in a private folder."""
    return save_pipeline(tmp_path_factory.mktemp("spacy") / "spacy_pipeline")


def test_one_language_per_path_whatever_the_spelling(saved: Path) -> None:
    relative = os.path.relpath(saved)
    first = shared_pipeline(saved)
    assert isinstance(first, Language)
    assert shared_pipeline(relative) is first
    assert shared_pipeline(str(saved) + "/") is first


def test_the_loader_runs_once(tmp_path: Path) -> None:
    calls: List[int] = []
    made = pipeline.build_pipeline()

    def loader() -> Language:
        calls.append(1)
        return made

    assert shared_pipeline(tmp_path / "p", loader=loader) is made
    assert shared_pipeline(tmp_path / "p", loader=loader) is made
    assert shared_pipeline(tmp_path / "p") is made
    assert calls == [1]


def test_project_pipeline_is_the_shared_saved_one_when_up_to_date(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "PACKAGE_DIR", saved.parent / "package")
    monkeypatch.setattr(pipeline, "DEFAULT_PIPELINE_DIR", Path(saved.name))
    assert project_pipeline() is shared_pipeline(saved)


def test_project_pipeline_is_built_without_a_saved_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "PACKAGE_DIR", tmp_path / "package")
    built = project_pipeline()
    assert str((tmp_path / "models" / "spacy_pipeline").resolve()) not in pipeline._shared
    assert [token.lemma_ for token in built("choking")] == ["choke"]
