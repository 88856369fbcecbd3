"""The project's spaCy pipeline: lemmas, medicine entities, saving and loading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from spacy.language import Language

from clinic_assistant.nlp.pipeline import (
    MEDICINE_LABELS,
    MEDICINES_LEXICON,
    MedicineLexiconError,
    build_pipeline,
    is_up_to_date,
    load_medicines,
    main,
    save_pipeline,
)


@pytest.fixture(scope="module")
def nlp() -> Language:
    """The in-memory pipeline (building it loads the lookup tables once)."""
    return build_pipeline()


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pipeline saved to disk, as `make` does."""
    return save_pipeline(tmp_path_factory.mktemp("models") / "spacy_pipeline")


def test_only_built_in_components(nlp: Language) -> None:
    assert nlp.lang == "en"
    assert nlp.pipe_names == ["lemmatizer", "entity_ruler"]
    assert nlp.get_pipe_config("lemmatizer")["mode"] == "lookup"


@pytest.mark.parametrize(
    ("word", "lemma"),
    [
        ("choking", "choke"),
        ("choked", "choke"),
        ("breathing", "breathe"),
        ("swallowing", "swallow"),
        ("eyelids", "eyelid"),
        ("slurred", "slur"),
    ],
)
def test_lookup_lemmas(nlp: Language, word: str, lemma: str) -> None:
    assert nlp(f"i am {word}")[2].lemma_ == lemma


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I take warfarin daily", [("warfarin", "BLOOD_THINNER")]),
        (
            "ELIQUIS and a baby aspirin",
            [("ELIQUIS", "BLOOD_THINNER"), ("baby aspirin", "BLOOD_THINNER")],
        ),
        (
            "on baclofen and Zanaflex",
            [("baclofen", "MUSCLE_RELAXER"), ("Zanaflex", "MUSCLE_RELAXER")],
        ),
        (
            "they gave me a Z-Pak, then gentamicin",
            [("Z-Pak", "ANTIBIOTIC"), ("gentamicin", "ANTIBIOTIC")],
        ),
        ("my zpack ran out", [("zpack", "ANTIBIOTIC")]),
        ("no medicines at all", []),
    ],
)
def test_medicine_entities(nlp: Language, text: str, expected: list[tuple[str, str]]) -> None:
    assert [(ent.text, ent.label_) for ent in nlp(text).ents] == expected


def test_lowercased_text_still_finds_medicines(nlp: Language) -> None:
    # Rasa's SpacyNLP lowercases messages before spaCy sees them.
    assert [ent.label_ for ent in nlp("plavix and valium").ents] == [
        "BLOOD_THINNER",
        "MUSCLE_RELAXER",
    ]


def test_medicine_lexicon_has_every_group() -> None:
    groups = load_medicines()
    assert set(groups) == set(MEDICINE_LABELS)
    assert {"warfarin", "Eliquis", "clopidogrel"} <= set(groups["BLOOD_THINNER"])
    assert {"baclofen", "tizanidine", "diazepam"} <= set(groups["MUSCLE_RELAXER"])
    assert {"gentamicin", "tobramycin", "amikacin", "neomycin", "streptomycin"} <= set(
        groups["ANTIBIOTIC"]
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- warfarin\n", "'groups' mapping"),
        ("groups:\n  PAINKILLER:\n    names: [ibuprofen]\n", "unknown group 'PAINKILLER'"),
        ("groups:\n  ANTIBIOTIC:\n    names: []\n", "non-empty 'names'"),
        ("groups:\n  ANTIBIOTIC:\n    names: ['  ']\n", "empty or non-text"),
    ],
)
def test_bad_medicine_lexicon(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "medicines.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(MedicineLexiconError, match=message):
        load_medicines(path)


def test_saved_pipeline_loads_in_a_fresh_process(saved: Path, tmp_path: Path) -> None:
    """spacy.load(path) must work without the project's code (as in Rasa's SpacyNLP)."""
    script = (
        "import json, sys, spacy\n"
        f"nlp = spacy.load({str(saved)!r}, disable=['parser'])\n"
        "doc = nlp('i keep choking and take coumadin')\n"
        "print(json.dumps({'pipes': nlp.pipe_names, 'lemma': doc[2].lemma_,\n"
        "  'ents': [(e.text, e.label_) for e in doc.ents],\n"
        "  'project': any(m.startswith('clinic_assistant') for m in sys.modules)}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data == {
        "pipes": ["lemmatizer", "entity_ruler"],
        "lemma": "choke",
        "ents": [["coumadin", "BLOOD_THINNER"]],
        "project": False,
    }


def test_rasa_spacy_nlp_accepts_the_path(saved: Path) -> None:
    from rasa.nlu.utils.spacy_utils import SpacyNLP

    model = SpacyNLP.load_model(str(saved))
    SpacyNLP.ensure_proper_language_model(model.model)
    assert model.model.pipe_names == ["lemmatizer", "entity_ruler"]


def test_saving_again_replaces_the_directory(saved: Path) -> None:
    (saved / "stale.txt").write_text("left over", encoding="utf-8")
    save_pipeline(saved)
    assert not (saved / "stale.txt").exists()
    assert (saved / "meta.json").exists()
    assert not [p for p in saved.parent.iterdir() if p.name.startswith(".")]


def test_up_to_date_check(saved: Path, tmp_path: Path) -> None:
    source = tmp_path / "medicines.yml"
    source.write_text(MEDICINES_LEXICON.read_text(encoding="utf-8"), encoding="utf-8")
    built = (saved / "meta.json").stat().st_mtime
    os.utime(source, (built - 3600, built - 3600))
    assert is_up_to_date(saved, sources=[source])
    os.utime(source, (built + 60, built + 60))  # the lexicon changed after the build
    assert not is_up_to_date(saved, sources=[source])
    assert not is_up_to_date(tmp_path / "missing", sources=[source])


def test_cli_builds_a_missing_pipeline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "pipeline"
    assert main([str(target)]) == 0
    assert "saved" in capsys.readouterr().out
    assert json.loads((target / "meta.json").read_text())["name"] == "clinic_pipeline"
    assert main([str(target)]) == 0
    assert "up to date" in capsys.readouterr().out
