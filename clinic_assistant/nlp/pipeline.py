"""Builds and saves the project's spaCy pipeline.

``spacy.blank("en")`` + a lookup lemmatizer (tables from ``spacy-lookups-data``, so
"choking" -> "choke") + an ``entity_ruler`` that labels medicine names from
``clinic_assistant/lexicons/medicines.yml``. Only built-in components are used, so
``spacy.load(path)`` (which Rasa's ``SpacyNLP`` calls) works without this package.

CLI: ``python -m clinic_assistant.nlp.pipeline models/spacy_pipeline [--force]``
rebuilds the saved pipeline unless it is newer than the lexicon and this code.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence

import yaml

if TYPE_CHECKING:  # spaCy is imported lazily: the CLI's up-to-date check stays instant.
    from spacy.language import Language

PACKAGE_DIR = Path(__file__).resolve().parent.parent
MEDICINES_LEXICON = PACKAGE_DIR / "lexicons" / "medicines.yml"
DEFAULT_PIPELINE_DIR = Path("models") / "spacy_pipeline"
PIPELINE_NAME = "clinic_pipeline"
PIPELINE_VERSION = "1.0.0"
MEDICINE_LABELS = ("BLOOD_THINNER", "MUSCLE_RELAXER", "ANTIBIOTIC")
# Files whose change means the saved pipeline is stale.
SOURCES = (Path(__file__).resolve(), MEDICINES_LEXICON)


class MedicineLexiconError(ValueError):
    """The medicine lexicon is malformed."""


def load_medicines(path: Path = MEDICINES_LEXICON) -> Dict[str, List[str]]:
    """Reads the medicine lexicon: label -> names, validated."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, Mapping) or not isinstance(data.get("groups"), Mapping):
        raise MedicineLexiconError(f"{path}: expected a mapping with a 'groups' mapping")
    groups: Dict[str, List[str]] = {}
    for label, group in data["groups"].items():
        if label not in MEDICINE_LABELS:
            raise MedicineLexiconError(
                f"{path}: unknown group {label!r} (known: {', '.join(MEDICINE_LABELS)})"
            )
        names = group.get("names") if isinstance(group, Mapping) else None
        if not isinstance(names, list) or not names:
            raise MedicineLexiconError(f"{path}: group {label} needs a non-empty 'names' list")
        if not all(isinstance(name, str) and name.strip() for name in names):
            raise MedicineLexiconError(f"{path}: group {label} has an empty or non-text name")
        groups[label] = [name.strip() for name in names]
    return groups


def medicine_patterns(nlp: Language, groups: Mapping[str, Sequence[str]]) -> List[Dict[str, Any]]:
    """entity_ruler token patterns: one LOWER per token of each name (case-insensitive)."""
    patterns: List[Dict[str, Any]] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for label, names in groups.items():
        for name in names:
            # The blank tokenizer splits names exactly as it will split the messages.
            tokens = tuple(token.lower_ for token in nlp.make_doc(name))
            if (label, tokens) in seen:
                continue
            seen.add((label, tokens))
            patterns.append(
                {
                    "label": label,
                    "pattern": [{"LOWER": token} for token in tokens],
                    "id": name.lower(),
                }
            )
    return patterns


def build_pipeline(medicines: Path = MEDICINES_LEXICON) -> Language:
    """Blank English + lookup lemmatizer + medicine entity_ruler, initialized."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    ruler = nlp.add_pipe("entity_ruler", config={"validate": True})
    # Loads the lemma_lookup table from spacy-lookups-data into the lemmatizer,
    # which then stores it with the pipeline (spacy.load needs no lookups package).
    nlp.initialize()
    ruler.add_patterns(medicine_patterns(nlp, load_medicines(medicines)))  # type: ignore[attr-defined]
    nlp.meta.update(
        {
            "name": PIPELINE_NAME,
            "version": PIPELINE_VERSION,
            "description": "Blank English, lookup lemmatizer and medicine entity_ruler "
            "for the clinic assistant (built by clinic_assistant.nlp.pipeline).",
            "license": "MIT",
        }
    )
    return nlp


_shared: Dict[str, Language] = {}
_shared_lock = threading.Lock()


def shared_pipeline(
    path: Path | str = DEFAULT_PIPELINE_DIR, loader: Optional[Callable[[], Language]] = None
) -> Language:
    """The process's one Language for the saved pipeline at ``path``, loaded on first use.

    Rasa's ``SpacyNLP`` (through :mod:`clinic_assistant.runtime`) and the red-flag
    detector share it, so its vocabulary and lemma table are in memory once.
    ``loader`` loads it when it is not loaded yet (default: ``spacy.load``).
    """
    key = str(Path(path).resolve())
    with _shared_lock:
        if key not in _shared:
            if loader is None:
                import spacy

                _shared[key] = spacy.load(key, disable=["parser"])
            else:
                _shared[key] = loader()
        return _shared[key]


def project_pipeline() -> Language:
    """The project's pipeline: the saved one (shared) when it is up to date, else built.

    The saved pipeline is what ``build_pipeline`` made and ``SpacyNLP`` reads
    (config.yml), so both give the same tokens; without it (a fresh checkout) the
    pipeline is built in memory.
    """
    saved = PACKAGE_DIR.parent / DEFAULT_PIPELINE_DIR
    if is_up_to_date(saved):
        return shared_pipeline(saved)
    return build_pipeline()


def save_pipeline(path: Path | str, medicines: Path = MEDICINES_LEXICON) -> Path:
    """Builds the pipeline and saves it at ``path``, replacing it atomically.

    The new pipeline is written next to the target and swapped in, so a running
    process never loads a half-written directory.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    nlp = build_pipeline(medicines)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        # mkdtemp makes the directory private (0700); give it the usual mode instead.
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)
        nlp.to_disk(staging)
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            target.rename(old / target.name)
        staging.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def is_up_to_date(path: Path | str, sources: Sequence[Path] = SOURCES) -> bool:
    """True when the saved pipeline is newer than every source and was built by us.

    A cheap check on modification times (no spaCy import), so `make` and the CLI can
    skip the few seconds a rebuild takes.
    """
    meta_path = Path(path) / "meta.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        built = meta_path.stat().st_mtime
        newest_source = max(source.stat().st_mtime for source in sources)
    except (OSError, ValueError):
        return False
    if meta.get("name") != PIPELINE_NAME or meta.get("version") != PIPELINE_VERSION:
        return False
    return built >= newest_source and all(
        (Path(path) / part).is_dir() for part in ("lemmatizer", "entity_ruler")
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    """CLI entry point: (re)build the saved pipeline when it is missing or stale."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "path", nargs="?", default=str(DEFAULT_PIPELINE_DIR), help="where to save it"
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    if not args.force and is_up_to_date(args.path):
        print(f"spaCy pipeline at {args.path} is up to date")
        return 0
    target = save_pipeline(args.path)
    print(f"spaCy pipeline saved to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
