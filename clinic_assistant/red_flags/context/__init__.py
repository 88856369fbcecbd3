"""Context rules: is a matched symptom actually reported as present, now?

Small NegEx/ConText-style rules over normalised tokens (lowercase lemma ``key`` plus
the lowercase surface ``text``). Each rule has trigger phrases and a scope that ends
at clause boundaries ("," ";" "." "but" ...), so "no pain but I can't swallow" still
fires. A match is suppressed, with the reason, when it is:

* ``negated`` (:mod:`.negation`): "no trouble breathing", "not having any problems
  swallowing", "trouble swallowing? no";
* ``historical`` (:mod:`.past`): a distant or resolved past episode: "last year I had
  trouble swallowing", "... but it went away" (unless it is "back" or "still" there);
* ``hypothetical`` (:mod:`.hypothetical`): a condition or a worry: "what if it spreads
  and I can't breathe", "should I worry about droopy eyelids", "can botox cause trouble
  swallowing";
* ``question`` (:mod:`.question`): a general question with nobody's symptom in it: "is
  choking normal after botox?".

A question that reports a current symptom ("is it normal that I can't swallow since
the shot?") is not suppressed (:mod:`.reports`: the signs of "now" and of a report).
When the rules are unsure they do not suppress: a missed emergency is far worse than a
false alarm. The word tables are data: ``lexicons/red_flag_context_rules.yml``
(:mod:`.words`); the message's tokens and bounds are :mod:`.message`.
"""

from __future__ import annotations

from typing import Optional, Sequence

from clinic_assistant.red_flags.context.hypothetical import Hypothetical
from clinic_assistant.red_flags.context.message import Message, Token
from clinic_assistant.red_flags.context.negation import Negation
from clinic_assistant.red_flags.context.past import Past
from clinic_assistant.red_flags.context.words import CLAUSE_PUNCT, CONTRAST, SENTENCE_END

NEGATED = "negated"
HISTORICAL = "historical"
HYPOTHETICAL = "hypothetical"
QUESTION = "question"

__all__ = [
    "CLAUSE_PUNCT",
    "CONTRAST",
    "HISTORICAL",
    "HYPOTHETICAL",
    "NEGATED",
    "QUESTION",
    "SENTENCE_END",
    "Context",
    "Message",
    "Token",
    "suppression_reason",
]


class Context(Negation, Past, Hypothetical):
    """The context rules for one message's tokens (computed once, asked per match)."""

    def reason(self, start: int, end: int) -> Optional[str]:
        """Why the match [start, end) is not a present symptom, or None if it is."""
        if self.negated(start, end):
            return NEGATED
        if self.historical(start, end):
            return HISTORICAL
        if self.hypothetical(start, end):
            return HYPOTHETICAL
        if self.general_question(start, end):
            return QUESTION
        return None


def suppression_reason(
    tokens: Sequence[Token], start: int, end: int, covered: Sequence[bool] = ()
) -> Optional[str]:
    """Convenience: why the match [start, end) is suppressed, or None if it stands."""
    return Context(tokens, covered).reason(start, end)
