"""The recent part of a conversation that the dialogue policies predict from.

Rasa's RulePolicy turns the whole session into dialogue states (replaying every
event) two or three times per prediction, and a rule only ever compares the last
few of them: here no rule spans more than one patient message (``data/rules``;
``tests/unit/trackers/test_window.py`` keeps that true against
:data:`KEEP_TURNS`). So the cost of a turn grew with the conversation's length for
nothing. :func:`policy_view` gives the policies a tracker holding only the last
:data:`KEEP_TURNS` patient messages, with the slot values at the cut set first, and
:func:`clinic_assistant.runtime.install` hands it to the policies in the server.

The real tracker is untouched: the NLU, the actions, the NLG (which reads the
whole session for an escalation, ``nlg.escalated_level``) and the tracker store
still see every event.

It returns the tracker itself, untrimmed, when trimming could change a prediction
this reasoning does not cover: a conversation with a form or another loop
(``ActiveLoop``), or one too short to trim.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    AllSlotsReset,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

# Patient messages the policies see; more than the longest rule spans (one).
KEEP_TURNS = 5


def policy_view(
    tracker: DialogueStateTracker, keep_turns: int = KEEP_TURNS
) -> DialogueStateTracker:
    """The tracker the policies predict from: the last ``keep_turns`` patient messages."""
    applied = tracker.applied_events()
    cut = _cut_index(applied, keep_turns)
    if cut is None or any(isinstance(event, ActiveLoop) for event in applied):
        return tracker
    view = tracker.init_copy()
    for name, value in _slots_before(applied, cut).items():
        view.update(SlotSet(name, value))
    for event in applied[cut:]:
        view.update(event)
    return view


def _cut_index(applied: List[Event], keep_turns: int) -> int | None:
    """Where the kept part starts: the action before the ``keep_turns``-th last message.

    None when there are not more messages than that (nothing to trim).
    """
    seen = 0
    for index in range(len(applied) - 1, -1, -1):
        if isinstance(applied[index], UserUttered):
            seen += 1
            if seen == keep_turns:
                start = index
                # The listen before the message belongs with it (the state it is read in).
                while start > 0 and not isinstance(applied[start - 1], ActionExecuted):
                    start -= 1
                start = max(start - 1, 0)
                older = any(isinstance(event, UserUttered) for event in applied[:start])
                return start if older else None
    return None


def _slots_before(applied: List[Event], cut: int) -> Dict[str, Any]:
    """The slot values set before ``cut`` (the last value per slot, after any reset)."""
    values: Dict[str, Any] = {}
    for event in applied[:cut]:
        if isinstance(event, SlotSet):
            values[event.key] = event.value
        elif isinstance(event, AllSlotsReset):
            values.clear()
    return values
