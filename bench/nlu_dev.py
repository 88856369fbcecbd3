"""The tuning loop: the trained model scored on the dev sets only.

``python -m bench.nlu_dev`` scores ``models/clinic.tar.gz`` on the blind dev FAQ set
(overall and its text-message slice), the blind dev conversations (through the
agent with a tracker, so follow-ups see the previous answer) and the older dev set,
and lists the misses. It never reads a ``*_test.yml`` set: those are scored only
by :mod:`bench.nlu_compare` in ``make bench``.
"""

from __future__ import annotations

import sys

from bench.nlu_compare import conversation_replier, rasa_predictor
from clinic_assistant.settings import PROJECT_ROOT
from evaluation.blind_sets import (
    BLIND_CONVERSATIONS,
    BLIND_NLU,
    DEV_SETS,
    load_conversations,
    load_phrasings,
    score_conversations,
    score_phrasings,
)
from evaluation.scoring import load_nlu_examples, score

MODEL = PROJECT_ROOT / "models" / "clinic.tar.gz"
DEV_SET = PROJECT_ROOT / "tests" / "nlu" / "dev_set.yml"


def main() -> int:
    """Prints the dev figures and misses; exit 0."""
    predict = rasa_predictor(MODEL)
    replier = conversation_replier(MODEL)
    for name in DEV_SETS:
        blind = score_phrasings(load_phrasings(BLIND_NLU[name]), predict)
        turns = score_conversations(load_conversations(BLIND_CONVERSATIONS[name]), replier)
        print(
            f"blind {name}: {blind.accuracy:.3f} (n={blind.n}, clarified {blind.clarified}), "
            f"sms {blind.sms_accuracy:.3f} (n={blind.n_sms}); "
            f"conversations: turns right {turns.turns_right:.3f} (n={turns.n_turns})"
        )
        for expected, got, text in blind.errors:
            print(f"  blind {name}  {expected} -> {got}: {text}")
        for conversation, turn, expected, got in turns.errors:
            print(f"  turns {name}  {conversation}:{turn} {expected} -> {got}")
    old = score(load_nlu_examples(DEV_SET), predict)
    print(f"dev_set.yml: {old.accuracy:.3f} (n={old.n})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
