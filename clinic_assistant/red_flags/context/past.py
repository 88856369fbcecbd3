"""Is the match a past episode? "last year I had trouble swallowing", "... but it went
away", "I had a bad reaction to Dysport once"; not when it is back ("... and now it's
started again").
"""

from __future__ import annotations

from clinic_assistant.red_flags.context.reports import Reports
from clinic_assistant.red_flags.context.words import (
    ANAPHORA,
    CLAUSE_PUNCT,
    DISTANT_PAST,
    EARLIER_FINAL,
    RECURRED,
    RECURRENCE,
    RESOLUTION_NEGATORS,
    RESOLVED_BY_FIRST,
    RESOLVED_SUBJECT,
    RESOLVED_WORD,
    TOLD_PAST,
)


class Past(Reports):
    """The past rule: a distant or resolved episode that has not come back."""

    def historical(self, start: int, end: int) -> bool:
        """A distant past episode, or one said to have gone away (and not come back)."""
        seg_lo, seg_hi = self.segment(start, end)
        clause_lo, clause_hi = self.clause(start, end)
        sentence_lo, sentence_hi = self.sentence(start, end)
        if (
            self._any(DISTANT_PAST, seg_lo, seg_hi)
            and not self._actual_now(clause_lo, clause_hi, start)
            # "... last time and it went away, but it's started again today"
            and not self._any(RECURRED, sentence_lo, sentence_hi)
        ):
            return True
        return self._told_earlier(start, end) or self._resolved_after(start, end)

    def _told_earlier(self, start: int, end: int) -> bool:
        """A past-tense episode whose clause ends with "before", "once" ... (not now)."""
        lo, hi = self.clause(start, end)
        texts = self.texts
        last = hi - 1
        while last >= end and texts[last] in CLAUSE_PUNCT:
            last -= 1
        if last < end or texts[last] not in EARLIER_FINAL:
            return False
        if not any(texts[i] in TOLD_PAST for i in range(lo, min(end, len(texts)))):
            return False
        # "I never had trouble swallowing before but now I do": now in its sentence.
        sentence_lo, sentence_hi = self.sentence(start, end)
        return not self._actual_now(sentence_lo, sentence_hi, start)

    def _resolved_after(self, start: int, end: int) -> bool:
        """A resolution said after the match, in its sentence or the next one."""
        clause_lo, clause_hi = self.clause(start, end)
        if self._any(RECURRENCE, clause_lo, clause_hi):
            return False
        _, hi = self.sentence(start, end)
        # The next sentence too when it continues about the symptom: "... last week.
        # It went away." (not "Last year I choked but it went away", about another).
        if hi < len(self.keys) and self.keys[hi] in ANAPHORA:
            _, hi = self.sentence(hi, hi + 1)
        texts = self.texts
        for i in range(end, hi):
            if self.covered[i]:
                continue
            n = 0
            for phrase in RESOLVED_BY_FIRST.get(texts[i], ()):
                if tuple(texts[i : i + len(phrase)]) == phrase:
                    n = len(phrase)
                    break
            if not n and texts[i] in RESOLVED_WORD and i > 0 and texts[i - 1] in RESOLVED_SUBJECT:
                n = 1
            if not n:
                continue
            # "hasn't gone away", "never cleared up": not resolved.
            if any(texts[j] in RESOLUTION_NEGATORS for j in range(max(end, i - 2), i)):
                continue
            # "it went away but now it's back": a recurrence after the resolution.
            return not self._any(RECURRENCE, i + n, hi)
        return False
