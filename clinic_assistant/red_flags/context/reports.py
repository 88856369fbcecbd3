"""Signs that a symptom is someone's, now: "since Monday", "I am choking", "my eyelid".

Read by every question (the past, hypotheticals, general questions): a sign of "now"
or a report keeps a match from being suppressed.
"""

from __future__ import annotations

from clinic_assistant.red_flags.context.message import Message
from clinic_assistant.red_flags.context.words import (
    ACTUALITY,
    ACTUALITY_TEXT,
    AUX,
    CAN_REPORT,
    CAUSING,
    CLAUSE_PUNCT,
    DETERMINERS,
    DISCOURSE,
    DURATION_UNITS,
    NOT_ACTUAL_AFTER,
    NOT_PROGRESSIVE,
    NOT_REPORT,
    NUMBER_WORDS,
    PEOPLE,
    PERSONAL_SUBJECTS,
    POSSESSIVES,
    REPORT_VERBS,
    STATEMENT_OPENERS,
    SUBJECTS,
)


class Reports(Message):
    """Present-time signs and reports of one's own (or a named person's) state."""

    def _actual_now(self, lo: int, hi: int, start: int, strict: bool = False) -> bool:
        """Signs inside [lo, hi) that the symptom is there now.

        ``strict`` counts only explicit times ("right now", "since Monday"), not verb
        forms: "how would I know if I'm having a reaction" is still a hypothetical.
        """
        keys, texts = self.keys, self.texts
        for t_start, t_end in self._occurs(ACTUALITY, lo, hi):
            phrase = tuple(keys[t_start:t_end])
            if phrase == ("now",) and self._any(NOT_ACTUAL_AFTER, t_start - 1, t_end):
                continue
            if phrase == ("this",) and not 0 < start - t_start <= 2:
                continue
            return True
        for i in range(max(lo, 0), min(hi, len(keys))):
            # "for 3 days", "for a few hours"
            if keys[i] == "for" and any(
                (keys[j].isdigit() or keys[j] in NUMBER_WORDS)
                and j + 1 < len(keys)
                and keys[j + 1] in DURATION_UNITS
                for j in range(i + 1, min(i + 3, len(keys)))
            ):
                return True
            if strict or (self.covered[i] and not start <= i):
                continue
            text = texts[i]
            # Progressive "am having", "is drooping"; perfect "have been"; "started".
            if text == "been" or (
                text in ACTUALITY_TEXT and text not in {"having", "getting", "feeling"}
            ):
                return True
            if self._progressive(i):
                return True
            # "since" after the match start is a time ("... since tuesday"); before it,
            # it may mean "because" ("since botox can cause ...").
            if keys[i] == "since" and i >= start:
                return True
        return False

    def _progressive(self, i: int) -> bool:
        """ "I am choking", "is he having": a present progressive at token i.

        "Is choking normal?" is not one: its "is" opens the question.
        """
        text = self.texts[i]
        if not text.endswith("ing") or len(text) <= 4 or text in NOT_PROGRESSIVE:
            return False
        keys = self.keys
        if i >= 2 and keys[i - 1] == "be":
            return keys[i - 2] not in CLAUSE_PUNCT and keys[i - 2] not in DISCOURSE
        return i >= 2 and keys[i - 2] == "be" and keys[i - 1] in SUBJECTS

    def _inverted(self, i: int) -> bool:
        """Whether the subject at i follows its auxiliary ("will I", "can he")."""
        keys = self.keys
        return i > 0 and keys[i - 1] in AUX and not (i > 1 and keys[i - 2] in {"that", "and"})

    def _reports(self, i: int) -> bool:
        """Whether the subject at i is followed by a verb of a present state."""
        keys = self.keys
        for j in range(i + 1, min(i + 3, len(keys))):
            if keys[j] in NOT_REPORT:
                return False
            if keys[j] == "can":
                return j + 1 < len(keys) and keys[j + 1] in CAN_REPORT
            if keys[j] in REPORT_VERBS:
                return True
        return False

    def _owned(self, start: int) -> bool:
        """ "my droopy eyelid", "his trouble swallowing": someone's symptom, presupposed.

        Not after a verb of causing: "will botox cause my eyelids to droop".
        """
        keys = self.keys
        if start == 0 or keys[start - 1] not in POSSESSIVES:
            return False
        lo, _ = self.clause(start, start)
        return not any(keys[i] in CAUSING for i in range(lo, start - 1))

    def _reported_after(self, lo: int, hi: int) -> bool:
        """A declarative report of someone's state ("that I can't", "he has") in [lo, hi)."""
        keys = self.keys
        for i in range(max(lo, 0), min(hi, len(keys))):
            subject = keys[i] in PERSONAL_SUBJECTS or (
                keys[i] in PEOPLE and i > 0 and keys[i - 1] in POSSESSIVES
            )
            if not subject:
                continue
            if self._inverted(i):
                continue  # "can I get", "will he": an inverted question
            if self._reports(i):
                return True
        # "is it normal that my eyelid droops", "for my husband to choke", "because my"
        return any(
            keys[i] in STATEMENT_OPENERS | {"for"} and keys[i + 1] in POSSESSIVES
            for i in range(max(lo, 0), min(hi, len(keys)) - 1)
        )

    def _that_clause(self, start: int) -> bool:
        """ "worried that swallowing is hard", "afraid to eat because things get stuck":
        "that" or "because" right before the symptom opens a statement of fact."""
        keys = self.keys
        i = start - 1
        while i >= 0 and keys[i] in DETERMINERS - {"that"} and start - i <= 2:
            i -= 1
        return i >= 0 and keys[i] in STATEMENT_OPENERS and not (i > 0 and keys[i - 1] == "so")
