"""How the Rasa server process loads the trained model.

:func:`install` makes ``SpacyNLP.load_model`` load each spaCy pipeline once per
process (:func:`clinic_assistant.nlp.pipeline.shared_pipeline`): Rasa's graph loads
it once per node (``provide`` and ``run``), and the red-flag detector shares the
same one, so the pipeline's vocabulary and lemma table are in memory once.

``python -m clinic_assistant.runtime run ...`` is ``rasa run ...`` with this in
place; :func:`clinic_assistant.servers.rasa_server` starts the server that way.
Training and ``rasa test`` are unchanged (they do not call this).

Tried and dropped (bench/report/lean_server.md): loading DIET and the
ResponseSelector adds 205 and 472 MB of resident memory, for 15 and 61 MB of
weights: Rasa builds them by training one example (``RasaModel.load``), which
leaves Adam's slot variables (30 and 123 MB) and the training graph in memory.
Building them by a prediction instead, done naively, left the trained weights
unrestored and changed every prediction (caught by ``bench/parse_dump.py``).
"""

from __future__ import annotations

import sys
from typing import Optional, Sequence

_installed = False


def install() -> None:
    """Put the lean loading in place (idempotent); call before loading a model."""
    global _installed
    if _installed:
        return
    from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP

    from clinic_assistant.nlp.pipeline import shared_pipeline

    original_spacy = SpacyNLP.load_model

    def load_model(spacy_model_name: str) -> SpacyModel:
        """Rasa's own loading and checks, once per pipeline path and process."""
        if not spacy_model_name:
            return original_spacy(spacy_model_name)  # Rasa's error message
        language = shared_pipeline(
            spacy_model_name, loader=lambda: original_spacy(spacy_model_name).model
        )
        return SpacyModel(model=language, model_name=spacy_model_name)

    SpacyNLP.load_model = staticmethod(load_model)  # type: ignore[method-assign,assignment]
    _installed = True


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``rasa`` with the lean loading: ``python -m clinic_assistant.runtime run ...``."""
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *(sys.argv[1:] if argv is None else argv)]
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
