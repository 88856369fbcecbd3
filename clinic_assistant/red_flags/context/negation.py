"""Is the match negated? "no trouble breathing", "denies dysphagia, dyspnea or ...",
"trouble swallowing? no"; and undone: "no trouble swallowing until yesterday".
"""

from __future__ import annotations

from clinic_assistant.red_flags.context.message import Message
from clinic_assistant.red_flags.context.words import (
    BELIEF_VERBS,
    CLAUSE_PUNCT,
    LIST_WORDS,
    NEGATION_POST,
    NEGATION_POST_PHRASE,
    NEGATION_PRE,
    NEGATION_STOP,
    NEGATION_UNDONE,
    PSEUDO_NEGATION,
    SUBJECTS,
)

# "can" and its text-message spelling: before "not", an inability ("can't lie down").
CAN = frozenset({"can", "cld"})
# At most this many tokens between a negation and the match (twice that for a list).
NEGATION_WINDOW = 6


class Negation(Message):
    """The negation rule: a negation before the match in its clause, or a denial after it."""

    def negated(self, start: int, end: int) -> bool:
        """A negation before the match within its clause, or a denial right after it."""
        # Look back within the sentence: a list ("no dysphagia, dyspnea or ...") may
        # cross commas; otherwise the scope check below stops at the clause.
        sentence_lo, _ = self.sentence(start, end)
        lo = max(sentence_lo, start - 2 * NEGATION_WINDOW)
        negated = False
        for t_start, t_end in self._occurs(NEGATION_PRE, lo, start):
            if any(p == t_start for p, _ in self._occurs(PSEUDO_NEGATION, t_start, start + 4)):
                continue
            # "can't lie down, feels like I'm drowning": an inability of its own verb,
            # not a denial of the danger sign after it.
            if t_start > 0 and self.keys[t_start] == "not" and self.keys[t_start - 1] in CAN:
                continue
            # "he can't lie down without gasping": a double negative, it happens each time.
            if (
                self.keys[t_start] == "without"
                and "not" in self.keys[max(lo, t_start - 4) : t_start]
            ):
                continue
            # "no, I can't breathe" / "no I can't": "no" as an answer, not a negation.
            if (
                self.keys[t_start] == "no"
                and t_end < len(self.keys)
                and (self.keys[t_end] in CLAUSE_PUNCT or self.keys[t_end] in SUBJECTS)
            ):
                continue
            between = range(t_end, start)
            if self._negation_list(t_end, start):
                negated = True  # "denies dysphagia, dyspnea, or dysarthria"
                break
            if len(between) > NEGATION_WINDOW:
                continue
            if any(self._negation_stop(i, t_end) for i in between):
                continue
            negated = True
            break
        if not negated:
            negated = self._denied_after(end)
        if negated:
            # "no trouble swallowing until yesterday", "never had it, but now I do".
            _, sent_hi = self.sentence(start, end)
            if self._any(NEGATION_UNDONE, end, sent_hi):
                return False
        return negated

    def _negation_stop(self, i: int, t_end: int) -> bool:
        """Whether token i ends the reach of a negation that ended at t_end."""
        key = self.keys[i]
        before = self.keys[i - 1] if i > 0 else ""
        if (
            key in SUBJECTS
            and i > t_end
            and (
                before in BELIEF_VERBS
                or (before in {"like", "that", "as"} and i > 1 and self.keys[i - 2] in BELIEF_VERBS)
            )
        ):
            return False  # "I don't think I'm having any trouble": still the negated belief
        return key in NEGATION_STOP or self._clause_stop(i)

    def _negation_list(self, t_end: int, start: int) -> bool:
        """A negation over a list: "denies dysphagia, dyspnea, or dysarthria",
        "no nausea, dizziness, or trouble swallowing".

        Items are short (up to three words, no subject, no clause word) and the list
        has an "or"/"nor" ("no fever, trouble breathing" may well be a report).
        """
        keys = self.keys
        between = range(t_end, start)
        if not between or len(between) > 3 * NEGATION_WINDOW:
            return False
        if not any(keys[i] in {"or", "nor"} for i in range(t_end, min(start + 8, len(keys)))):
            return False
        item = 0
        for i in between:
            if keys[i] in LIST_WORDS:
                item = 0
                continue
            if not self.covered[i]:
                if keys[i] in SUBJECTS or keys[i] in NEGATION_STOP or keys[i] in CLAUSE_PUNCT:
                    return False
                item += 1
                if item > 3:
                    return False
        return True

    def _denied_after(self, end: int) -> bool:
        """ "trouble swallowing? no", "choking - none", "... is not an issue"."""
        i, skipped = end, 0
        while i < len(self.keys) and self.keys[i] in {":", "?", "-", ",", "\u2014"} and skipped < 2:
            i, skipped = i + 1, skipped + 1
        for phrase in NEGATION_POST:
            n = len(phrase)
            if tuple(self.keys[i : i + n]) == phrase:
                after = i + n
                if after >= len(self.keys) or self.keys[after] in CLAUSE_PUNCT:
                    return skipped > 0 or phrase[0] == "none"
        return any(s == end for s, _ in self._occurs(NEGATION_POST_PHRASE, end, end + 6))
