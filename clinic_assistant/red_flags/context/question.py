"""Is the match asked about in general? "is choking normal after botox?", "can botox make
my eyelids droop?"; not when a current symptom is in it ("is it normal that I can't
swallow since the shot?").
"""

from __future__ import annotations

from typing import Optional

from clinic_assistant.red_flags.context.reports import Reports
from clinic_assistant.red_flags.context.words import (
    ACQUAINTANCES,
    AUX,
    CLAUSE_PUNCT,
    DISCOURSE,
    DROPPED_SUBJECT,
    HEARSAY,
    MODALS,
    PEOPLE,
    PERSONAL,
    PERSONAL_SUBJECTS,
    QUESTION_START,
    QUESTION_WITHOUT_MARK,
    RISK_FRAME,
    SAME_TO_ME,
    TRUTH_QUESTION,
)


class Questions(Reports):
    """The question rules: a general question, and a question about a risk."""

    def _question_start(self, start: int, end: int) -> Optional[int]:
        """Index of the question opener of the match's sentence (or of a clause in it)."""
        lo, hi = self.sentence(start, end)
        keys = self.keys
        is_question = "?" in keys[lo:hi]
        starts = [lo] + [i + 1 for i in range(lo, start) if keys[i] in CLAUSE_PUNCT]
        for first in starts:
            i = first
            while i < start and keys[i] in DISCOURSE:
                i += 1
            if i >= start or keys[i] not in QUESTION_START:
                continue
            nxt = keys[i + 1] if i + 1 < len(keys) else ""
            # "can't swallow?", "could barely breathe": a report with the subject left out.
            if keys[i] in MODALS | {"be", "have", "do"} and (
                nxt in DROPPED_SUBJECT or (i + 1 >= start and keys[i] in MODALS)
            ):
                continue
            if is_question or keys[i] in QUESTION_WITHOUT_MARK:
                return i
        return None

    def _risk_question(self, start: int, end: int) -> bool:
        """ "Can botox make my eyelids droop?": a question about a risk, not a report."""
        opener = self._question_start(start, end)
        if opener is None or self.keys[opener] not in AUX:
            return False
        lo, hi = self.sentence(start, end)
        if not self._any(RISK_FRAME, lo, hi):
            return False
        return not (
            self._actual_now(lo, hi, start)
            or self._reported_after(opener + 1, hi)
            or self._next_sentence_actual(hi)
        )

    def _next_sentence_actual(self, hi: int) -> bool:
        """ "How long does double vision last? I've had it for 3 days.": now, after all."""
        if hi >= len(self.keys):
            return False
        next_lo, next_hi = self.sentence(hi, hi + 1)
        return self._actual_now(next_lo, next_hi, next_lo)

    def _fragment_of_question(self, start: int, end: int) -> bool:
        """ "What are the warning signs? Trouble swallowing?": a follow-up fragment."""
        lo, hi = self.sentence(start, end)
        words = [k for k in self.keys[lo:start] + self.keys[end:hi] if k not in CLAUSE_PUNCT]
        if len(words) > 2 or "?" not in self.keys[end:hi] or lo == 0:
            return False
        prev_lo, prev_hi = self.sentence(lo - 1, lo)
        return "?" in self.keys[prev_lo:prev_hi] and not self._personal(prev_lo, prev_hi)

    def _claim_asked(self, start: int, end: int) -> bool:
        """ "My cousin said botox can paralyse your throat. Is that true?": a claim.

        Someone's words before the match, the next sentence asks whether they are true,
        and nothing says it is happening now ("my husband says I'm slurring" is). Or an
        acquaintance's episode, then "could the same thing happen to me?".
        """
        keys = self.keys
        lo, hi = self.sentence(start, end)
        if hi >= len(keys):
            return False
        next_lo, next_hi = self.sentence(hi, hi + 1)
        if "?" not in keys[next_lo:next_hi]:
            return False
        before = range(lo, start)
        claim = any(keys[i] in HEARSAY for i in before) and self._any(
            TRUTH_QUESTION, next_lo, next_hi
        )
        theirs = any(keys[i] in ACQUAINTANCES for i in before) and self._any(
            SAME_TO_ME, next_lo, next_hi
        )
        return (claim or theirs) and not self._actual_now(lo, hi, start)

    def _personal(self, lo: int, hi: int) -> bool:
        """Anybody's own state in [lo, hi): "my", "he", "I" (not an inverted "can I")."""
        keys = self.keys
        return any(
            (keys[i] in PERSONAL and not (keys[i] in PERSONAL_SUBJECTS and self._inverted(i)))
            or keys[i] in PEOPLE
            for i in range(max(lo, 0), min(hi, len(keys)))
        )

    def general_question(self, start: int, end: int) -> bool:
        """A question about the symptom in general: nobody's symptom, nothing current."""
        if self._question_start(start, end) is None:
            return self._fragment_of_question(start, end) or self._claim_asked(start, end)
        if self._that_clause(start):
            return False  # "is it normal that swallowing is hard?"
        lo, hi = self.sentence(start, end)
        if self._actual_now(lo, hi, start) or self._next_sentence_actual(hi):
            return False
        return not self._personal(lo, hi)
