"""Is the match a condition, a future or a worry? "what if it spreads and I can't
breathe", "should I worry about droopy eyelids", "I'll choke"; not when a sign says it
is happening now.
"""

from __future__ import annotations

from clinic_assistant.red_flags.context.question import Questions
from clinic_assistant.red_flags.context.words import (
    AUX,
    CLAUSE_JOINERS,
    DETERMINERS,
    FEEL_LIKE,
    GENERIC_SUBJECTS,
    HEARSAY,
    HYPOTHETICAL_UNDONE,
    IF_AS_WHETHER,
    LIKELIHOOD,
    PEOPLE,
    PERSONAL_SUBJECTS,
    RISK_TO_SELF,
    STRONG_HYPOTHETICAL,
    SUBJECTS,
    WEAK_HYPOTHETICAL,
    WEAK_HYPOTHETICAL_POST,
)


class Hypothetical(Questions):
    """The hypothetical rule (it asks the risk question of :class:`Questions` too)."""

    def hypothetical(self, start: int, end: int) -> bool:
        """A condition, a future, or a worry/risk frame around the match."""
        clause_lo, clause_hi = self.clause(start, end)
        seg_lo, _ = self.segment(start, end)
        # Strong triggers reach forward through "and" (what if it spreads and I can't
        # breathe) but stop at a new main clause ("if I lie down I can't breathe").
        for t_start, t_end in self._occurs(STRONG_HYPOTHETICAL, seg_lo, start):
            if t_end > start:
                continue
            if self.keys[t_start] == "if" and self._preceded_by(IF_AS_WHETHER, t_start):
                continue
            if self._scope_reaches(t_end, start) and not self._actual_now(
                t_start, clause_hi, start, strict=True
            ):
                _, sent_hi = self.sentence(start, end)
                if self._any(HYPOTHETICAL_UNDONE, end, sent_hi):
                    return False
                return True
        if self._actual_now(clause_lo, clause_hi, start):
            return False
        if self._future_before(start):
            return True
        owned = self._owned(start) or self._that_clause(start)
        if not owned and self._generic_subject(clause_lo, start):
            return True
        for t_start, t_end in self._occurs(WEAK_HYPOTHETICAL, clause_lo, start):
            if self.keys[t_start] in HEARSAY and self._told_by_someone(t_start):
                continue  # "dad says the tv looks doubled": his report, not a rumour
            if (
                t_end <= start
                and self._scope_reaches(t_end, start)
                and not (owned or self._reported_after(t_end, clause_hi))
            ):
                return True
        for t_start, _ in self._occurs(WEAK_HYPOTHETICAL_POST, end, clause_hi):
            # "seeing 2 of everything, is that normal": "that" points back at a report.
            anaphoric = any(k in {"that", "this", "it"} for k in self.keys[t_start - 2 : t_start])
            if t_start - end <= 5 and not (
                owned or anaphoric or self._reported_after(clause_lo, clause_hi)
            ):
                return True
        if self._someone_else(start, end):
            return True
        return self._risk_question(start, end)

    def _someone_else(self, start: int, end: int) -> bool:
        """Another person's story followed by "will that happen to me?"."""
        lo, hi = self.sentence(start, end)
        keys = self.keys
        after = set(keys[end:hi])
        if not self._any(RISK_TO_SELF, end, hi) and not (
            after & LIKELIHOOD and after & {"me", "i", "my"}
        ):
            return False
        first_person = any(
            (keys[i] in {"i", "we"} and not self._inverted(i) and self._reports(i))
            or (keys[i] in {"my", "our"} and i + 1 < len(keys) and keys[i + 1] not in PEOPLE)
            for i in range(lo, end)
        )
        return not first_person

    def _generic_subject(self, lo: int, start: int) -> bool:
        """ "patients sometimes have trouble breathing": people in general, not "my patient"."""
        keys = self.keys
        _, clause_hi = self.clause(start, start)
        return any(
            keys[i] in GENERIC_SUBJECTS
            and not (i > 0 and keys[i - 1] in DETERMINERS)
            and not self._reported_after(i + 1, clause_hi)  # "people say I sound drunk"
            for i in range(max(lo, 0), start)
        )

    def _told_by_someone(self, i: int) -> bool:
        """A person (not a leaflet or "people") right before "says" at i."""
        keys = self.keys
        return any(
            keys[j] in PEOPLE or keys[j] in PERSONAL_SUBJECTS - {"they"}
            for j in range(max(0, i - 2), i)
        )

    def _future_before(self, start: int) -> bool:
        """ "I'll choke", "he is going to choke" (but "I feel like I'm going to choke")."""
        keys, texts = self.keys, self.texts
        for i in range(max(0, start - 3), start):
            future = keys[i] in {"will", "would"} or (
                texts[i] in {"going", "gon"} and i + 1 < len(keys) and keys[i + 1] == "to"
            )
            if not future or self.covered[i]:
                continue
            # "food won't go down", "my eye won't open": a present refusal, not a future
            # (unlike "I won't be able to breathe").
            if (
                keys[i] == "will"
                and i + 2 < len(keys)
                and keys[i + 1] == "not"
                and (keys[i + 2] != "be")
            ):
                continue
            rest = [k for k in keys[i + 1 : start] if k not in {"to", "be", "not"}]
            if all(k in SUBJECTS or k in {"just", "probably", "definitely"} for k in rest):
                return not self._preceded_by(FEEL_LIKE, i, reach=4)
        return False

    def _scope_reaches(self, t_end: int, start: int) -> bool:
        """No clause boundary and no new main clause between a trigger and the match."""
        keys = self.keys
        for i in range(t_end, start):
            if self._clause_stop(i) or keys[i] == "then":
                return False
            if keys[i] in PERSONAL_SUBJECTS and i > t_end + 1:
                before = keys[i - 1]
                # "if I lie down I can't breathe": a second subject starts the main
                # clause, unless joined ("and I", "that I") or inverted ("will I").
                if before not in AUX and before not in CLAUSE_JOINERS:
                    return False
        return True
