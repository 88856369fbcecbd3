"""Context rules: is a matched symptom actually reported as present, now?

Small NegEx/ConText-style rules over normalised tokens (lowercase lemma ``key`` plus
the lowercase surface ``text``). Each rule has trigger phrases and a scope that ends
at clause boundaries ("," ";" "." "but" ...), so "no pain but I can't swallow" still
fires. A match is suppressed, with the reason, when it is:

* ``negated``: "no trouble breathing", "not having any problems swallowing",
  "trouble swallowing? no";
* ``historical``: a distant or resolved past episode: "last year I had trouble
  swallowing", "... but it went away" (unless it is "back" or "still" there);
* ``hypothetical``: a condition or a worry: "what if it spreads and I can't
  breathe", "should I worry about droopy eyelids", "can botox cause trouble
  swallowing";
* ``question``: a general question with nobody's symptom in it: "is choking
  normal after botox?".

A question that reports a current symptom ("is it normal that I can't swallow since
the shot?") is not suppressed. When the rules are unsure they do not suppress: a
missed emergency is far worse than a false alarm.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

NEGATED = "negated"
HISTORICAL = "historical"
HYPOTHETICAL = "hypothetical"
QUESTION = "question"

Phrase = Tuple[str, ...]


@dataclass(frozen=True)
class Token:
    """One token: ``key`` is the lowercase lemma (after typo fixes), ``text`` the word."""

    key: str
    text: str


def _phrases(*items: str) -> Tuple[Phrase, ...]:
    """Trigger phrases written as space-separated keys (lemmas)."""
    return tuple(tuple(item.split()) for item in items)


# ---------------------------------------------------------------- boundaries
SENTENCE_END: FrozenSet[str] = frozenset({".", "!", "?", "\n", "\n\n", "…", "..."})
CLAUSE_PUNCT: FrozenSet[str] = frozenset(
    {",", ";", ":", "-", "--", "\u2014", "\u2013", "(", ")", "/", "|"} | SENTENCE_END
)
# Words that start a new clause whose content the previous clause's cue does not reach.
CONTRAST: FrozenSet[str] = frozenset(
    {"but", "however", "although", "though", "yet", "whereas", "except", "until", "till",
     "besides", "instead", "nevertheless", "otherwise", "anyway", "anyhow", "plus"}
)
SUBJECTS: FrozenSet[str] = frozenset({"i", "he", "she", "we", "they", "it", "you"})
PERSONAL_SUBJECTS: FrozenSet[str] = frozenset({"i", "he", "she", "we", "they"})
POSSESSIVES: FrozenSet[str] = frozenset({"my", "his", "her", "our", "their"})
PEOPLE: FrozenSet[str] = frozenset(
    {"husband", "wife", "mom", "mum", "mother", "dad", "father", "son", "daughter",
     "partner", "friend", "boyfriend", "girlfriend", "grandma", "grandpa", "brother",
     "sister", "child", "kid", "patient", "spouse", "aunt", "uncle", "neighbour",
     "neighbor", "cousin", "niece", "nephew", "grandmother", "grandfather", "coworker",
     "colleague", "boss", "roommate", "hubby", "bf", "gf", "fiance", "fiancee", "parent",
     "grandson", "granddaughter", "stepmom", "stepdad", "buddy", "client", "resident"}
)
PERSONAL: FrozenSet[str] = PERSONAL_SUBJECTS | POSSESSIVES | {"me", "myself", "us", "him",
                                                              "them", "himself", "herself"}
# Auxiliaries and modals that, right before a subject, make a question (inversion).
AUX: FrozenSet[str] = frozenset(
    {"can", "will", "would", "should", "shall", "may", "must", "do", "be", "have"}
)
# Verbs that, after a subject, make a report of one's own state: "I have", "he can't".
REPORT_VERBS: FrozenSet[str] = frozenset(
    {"be", "have", "feel", "keep", "get", "start", "begin", "seem", "notice",
     "experience", "develop", "wake", "choke", "struggle", "cough", "barely", "hardly",
     "just", "still", "now", "also", "suddenly", "really", "sound", "look"}
)
# "can" is a report only as an inability: "I can't", "he can barely" (not "I can get").
CAN_REPORT: FrozenSet[str] = frozenset({"not", "barely", "hardly", "no", "only", "just"})
# Right after a subject these make a possibility, not a report: "I might have".
NOT_REPORT: FrozenSet[str] = frozenset({"may", "will", "would", "should", "shall", "must"})
# Verbs of causing: "will botox cause my eyelids to droop" is not about a present droop.
CAUSING: FrozenSet[str] = frozenset({"cause", "make", "give", "lead", "result", "affect",
                                     "trigger", "prevent", "avoid", "stop"})
# A comma followed by these continues the clause (a list of examples).
LIST_CONTINUATION: FrozenSet[str] = frozenset({"like", "such", "include", "especially",
                                               "e.g.", "eg", "say", "example"})
# Someone else's symptom told in a question about oneself: "my friend couldn't
# swallow after botox, will that happen to me?"
RISK_TO_SELF = _phrases(
    "happen to me", "will that happen", "can that happen", "may that happen",
    "will i get that", "will i get it", "can i get that",
    "same thing happen", "happen to me too", "be i at risk", "in my case", "my risk",
    "my chance", "me too", "i be next",
)
# "... how likely is that for me?": a likelihood word and oneself after the story.
LIKELIHOOD: FrozenSet[str] = frozenset(
    {"likely", "likelihood", "chance", "odds", "odd", "risk", "probability", "possible",
     "common"}
)
# Sentence openers that make it a question.
QUESTION_START: FrozenSet[str] = frozenset(
    {"can", "will", "would", "should", "shall", "may", "do", "be", "have", "what", "how",
     "when", "which", "who", "where"}
)
# Words to skip at the start of a sentence before looking for a question opener.
DISCOURSE: FrozenSet[str] = frozenset(
    {"hi", "hello", "hey", "ok", "so", "and", "also", "um", "uh", "well", "sorry",
     "please", "thanks", "doctor", "doc", "quick", "question", "oh", "yes", "hmm",
     "dear", "good", "morning", "afternoon", "evening", "just", "wonder"}
)

# ---------------------------------------------------------------- negation
NEGATION_PRE = _phrases(
    "no", "not", "never", "without", "deny", "nor", "neither", "none", "free of",
    "absence of", "negative for", "no sign of", "no sign", "zero", "nothing like",
)
# Negation words that do not negate what follows.
PSEUDO_NEGATION = _phrases(
    "not sure", "not certain", "no idea", "not know", "not only", "not just", "not stop",
    "not help", "no doubt", "not get well", "not go away", "not improve", "no well",
    "no change", "not go", "not tell", "no matter", "not wait",
    "not even sure", "not clear up", "not resolve", "not quite sure", "not want to wait",
    "never mind", "not to mention", "not normal", "not right", "not like",
    "no one", "nobody", "not anymore", "no more",
)
NEGATION_POST = _phrases("none", "no", "deny", "negative", "not really")
NEGATION_POST_PHRASE = _phrases(
    "be not a problem", "be not a issue", "be not a concern", "be not bad",
)
# After a negated symptom, signs that it is there now: "no trouble swallowing until
# yesterday", "never had trouble swallowing but now I do".
NEGATION_UNDONE = _phrases(
    "until", "till", "but now", "now i", "now it", "now he", "now she", "up to now",
    "up until", "before now", "before today", "before yesterday", "before the shot",
    "before my", "before botox", "before the injection",
)
NEGATION_WINDOW = 6
BELIEF_VERBS: FrozenSet[str] = frozenset({"think", "believe", "feel", "guess", "suppose",
                                          "notice", "reckon", "imagine"})
LIST_WORDS: FrozenSet[str] = frozenset({",", "or", "and", "nor", "/", "any", "no", "&"})
# Words that end a negation's reach besides clause boundaries: "no pain, just trouble
# swallowing", "no fever and now I can't swallow".
NEGATION_STOP: FrozenSet[str] = CONTRAST | SUBJECTS | frozenset(
    {"only", "just", "other", "apart", "aside", "still", "now", "anymore", "again",
     "because", "since", "so", "then", "today", "suddenly", "except"}
)

# ---------------------------------------------------------------- hypothetical
# Conditions and future questions; overridden only by a sign that it is happening now.
STRONG_HYPOTHETICAL = _phrases(
    "if", "what if", "in case", "incase", "suppose", "unless", "whether",
    "will i", "would i", "may i", "shall i", "be i go to",
    "be i likely to", "will he", "will she", "would he", "would she",
    "will it", "would it", "will botox", "would botox", "will this", "may it",
    "in the event", "god forbid", "should i ever",
)
# "if" that introduces "whether": "not sure if I'm having trouble swallowing".
IF_AS_WHETHER = _phrases(
    "not sure", "not know", "wonder", "unsure", "not tell", "not certain", "see",
    "check", "ask", "think",
)
# Risk and topic frames; overridden also by a report after them ("... that I can't").
WEAK_HYPOTHETICAL = _phrases(
    "cause", "lead to", "result in", "risk", "chance", "likelihood", "possibility",
    "possible", "side effect", "worry about", "worry", "concern about", "concern",
    "afraid", "scare", "fear", "nervous", "anxious", "watch for", "watch out for",
    "look out for", "look for", "sign of", "symptom of", "warn sign", "prevent", "avoid",
    "how common", "how often", "how likely", "how rare", "in general",
    "read", "hear", "say", "mention", "warn", "tell", "list", "leaflet", "label", "sheet",
    "what happen", "when to", "when should", "when do i", "what to do", "what do i do",
    "what should i do", "should i", "how do i know", "how will i know", "how would i know",
    "know the sign",
    "explain", "tell me about", "information", "info", "learn", "more about",
    # Generic claims: "botox can make you choke", "you might get double vision".
    "make you", "make people", "give you", "give people", "can make", "may make",
    "you can get", "you may", "can give", "may give", "can lead", "may lead",
)
# Risk words after the symptom: "is choking a side effect", "trouble swallowing is rare".
WEAK_HYPOTHETICAL_POST = _phrases(
    "side effect", "risk", "common", "rare", "possible", "happen", "dangerous",
    "serious", "a sign", "sign of", "symptom of", "a concern", "something to worry",
    "a thing", "expect", "likely", "normal", "a emergency", "mean", "warn sign",
)
# Question openers and words that make a question about risks in general.
RISK_FRAME = _phrases(
    "cause", "make", "give", "lead", "result", "affect", "trigger", "happen", "spread",
    "side effect", "risk", "common", "possible", "likely", "chance", "rare",
    "dangerous", "serious",
)
NUMBER_WORDS: FrozenSet[str] = frozenset(
    {"a", "one", "two", "three", "four", "five", "six", "seven", "few", "several", "couple",
     "24", "48", "past", "last"}
)
DURATION_UNITS: FrozenSet[str] = frozenset({"day", "hour", "week", "minute", "night"})
FUTURE_BEFORE = _phrases("will", "would", "go to")

# ---------------------------------------------------------------- actuality
# Signs that a symptom is present now; they override hypothetical and question framing.
ACTUALITY = _phrases(
    "currently", "right now", "at the moment", "today", "tonight", "this morning",
    "this afternoon", "this evening", "this week", "yesterday", "last night", "still",
    "keep", "already", "anymore", "any more", "suddenly", "ever since", "for the past",
    "for the last", "for a few", "for two", "for three", "for several", "for day",
    "for hour", "all day", "all morning", "all night", "lately", "recently", "now",
    "since the shot", "since my shot", "since my injection", "since my botox",
    "since my appointment", "since my treatment", "since my last", "since the injection",
    "since then",
    "since last", "since yesterday", "since this", "since monday", "since tuesday",
    "since wednesday", "since thursday", "since friday", "since saturday",
    "since sunday", "after my shot", "after my injection", "after my botox",
    "after my appointment", "this",
    # Asking how to make it stop presupposes it is happening.
    "how do i stop", "how can i stop", "how to stop", "make it stop", "get rid of",
    "do about", "deal with", "cope with", "help with",
)
# After a hypothetical, a confirmation that it is real: "call if you have trouble
# breathing, and I do".
HYPOTHETICAL_UNDONE = _phrases(
    "and i do", "which i do", "and now i do", "now i do", "i do now", "and i have",
    "which i have", "and i be", "which i be", "and he do", "and she do", "and it be",
    "and that be happen", "which be happen", "and it have", "and i have it",
)
# Generic subjects: "patients sometimes have trouble breathing", "some people choke".
GENERIC_SUBJECTS: FrozenSet[str] = frozenset(
    {"patient", "people", "someone", "somebody", "anyone", "anybody", "everyone",
     "everybody", "person", "folk", "user"}
)
STATEMENT_OPENERS: FrozenSet[str] = frozenset({"that", "because", "cuz", "coz", "bc"})
DETERMINERS: FrozenSet[str] = frozenset(
    {"my", "his", "her", "our", "their", "the", "this", "that", "a", "your"}
)
ACTUALITY_TEXT: FrozenSet[str] = frozenset(
    {"started", "began", "been", "having", "getting", "feeling", "experiencing",
     "noticed", "noticing", "developed", "woke"}
)
NOT_ACTUAL_AFTER = _phrases("fine now", "ok now", "well now", "good now")

# ---------------------------------------------------------------- historical
DISTANT_PAST = _phrases(
    "last year", "year ago", "a year ago", "month ago",
    "in the past", "use to", "as a kid", "as a child", "as a teenager",
    "when i be young", "when i be little", "when i be a kid", "when i be a child",
    "year back", "always", "my whole life",
    "all my life", "since childhood", "since i be a kid", "since i be a child",
    "since birth", "long time ago", "long ago", "previous year",
    "childhood",
    # An earlier treatment: "had a bad reaction last time", "previously".
    "last time", "previous time", "the time before", "previously", "prior treatment",
)
# Past-tense surface forms (text) of resolution: "it went away", "it has cleared up".
RESOLVED_TEXT = _phrases(
    "went away", "gone away", "is gone", "was gone", "are gone", "s gone", "'s gone",
    "has gone", "have gone", "cleared up", "resolved", "wore off", "worn off",
    "got better", "gotten better", "went back to normal",
    "back to normal", "is fine now", "was fine", "fine now", "ok now", "okay now",
    "better now", "no longer", "not anymore", "not any more", "never came back",
    "did not come back", "didn't come back", "went down", "is better", "all better",
    "fully recovered", "went away on its own", "resolved itself", "no problems since",
    "fine since", "fine after",
)
# Single words that mean "it resolved" only after "it", "has", "was" ...: "it passed"
# (but "I passed out" is not a resolution).
RESOLVED_WORD: FrozenSet[str] = frozenset(
    {"passed", "stopped", "cleared", "improved", "subsided", "disappeared", "settled",
     "healed", "faded", "recovered", "eased", "vanished"}
)
RESOLVED_SUBJECT: FrozenSet[str] = frozenset(
    {"it", "that", "this", "they", "which", "both", "all", "symptom", "symptoms",
     "everything", "has", "have", "had", "was", "were", "is", "'s", "completely", "fully"}
)
# A next sentence that starts like this continues about the symptom ("It went away.").
ANAPHORA: FrozenSet[str] = frozenset({"it", "that", "this", "they", "both", "which", "but"})
# What undoes a resolution: "it went away but now it's back".
RECURRENCE = _phrases(
    "again", "come back", "be back", "return", "still", "wrong", "now i",
    "now it", "now he", "now she", "now my", "but now", "start again", "today",
    "right now", "currently", "this time",
)
# Words that say a past episode is back; strong enough to count anywhere in the
# sentence (RECURRENCE's "now I", "today" only count within the clause).
RECURRED = _phrases("again", "come back", "be back", "start again", "return")
_RESOLVED_BY_FIRST: Dict[str, List[Phrase]] = {}
for _phrase in sorted(RESOLVED_TEXT, key=len, reverse=True):
    _RESOLVED_BY_FIRST.setdefault(_phrase[0], []).append(_phrase)

# ---------------------------------------------------------------- verb forms
# "-ing" words that are not a present progressive after "be".
NOT_PROGRESSIVE: FrozenSet[str] = frozenset(
    {"going", "thing", "something", "anything", "everything", "nothing", "morning",
     "evening", "during", "bring", "sting", "ring", "king", "amazing", "interesting",
     "worrying", "concerning", "annoying", "confusing", "frightening", "scaring"}
)
# Hearsay triggers: "the leaflet says ...", "I read that ..." (not "my husband says").
HEARSAY: FrozenSet[str] = frozenset({"say", "mention", "warn", "hear", "read", "tell"})
FEEL_LIKE = _phrases("feel like", "feel as if", "feel as though", "feel as")
# After a modal, these mean the subject was dropped ("could barely breathe"), so the
# sentence is a report, not a question.
DROPPED_SUBJECT: FrozenSet[str] = frozenset(
    {"barely", "hardly", "really", "just", "still", "only", "not", "no", "never", "even",
     "suddenly", "now", "literally"}
)
MODALS: FrozenSet[str] = frozenset({"can", "will", "would", "should", "shall", "may", "must"})


def _boundaries(stops: Sequence[bool]) -> Tuple[List[int], List[int]]:
    """For each position: where the run without stops begins, and the next stop."""
    n = len(stops)
    begin = [0] * (n + 1)
    for i in range(1, n + 1):
        begin[i] = i if stops[i - 1] else begin[i - 1]
    nxt = [n] * (n + 1)
    for i in range(n - 1, -1, -1):
        nxt[i] = i if stops[i] else nxt[i + 1]
    return begin, nxt


class Context:
    """The context rules for one message's tokens (computed once, asked per match)."""

    def __init__(self, tokens: Sequence[Token], covered: Sequence[bool] = ()) -> None:
        self.keys = [token.key for token in tokens]
        self.texts = [token.text for token in tokens]
        # Tokens inside any symptom match: a trigger there belongs to the symptom
        # ("not able to swallow", "my voice went away").
        self.covered = list(covered) if covered else [False] * len(tokens)
        # Positions of every key, and the boundaries, computed once per message.
        self._positions: Dict[str, List[int]] = {}
        for i, key in enumerate(self.keys):
            self._positions.setdefault(key, []).append(i)
        n = len(self.keys)
        self._sentence = _boundaries([key in SENTENCE_END for key in self.keys])
        self._segment = _boundaries([self._contrast_stop(i) for i in range(n)])
        self._clause = _boundaries([self._clause_stop(i) for i in range(n)])

    # ------------------------------------------------------------ spans
    def sentence(self, start: int, end: int) -> Tuple[int, int]:
        """Bounds of the sentence holding [start, end); the end marks are included."""
        begin, nxt = self._sentence
        hi = nxt[min(end, len(self.keys))]
        while hi < len(self.keys) and self.keys[hi] in SENTENCE_END:
            hi += 1
        return begin[max(0, min(start, len(self.keys)))], hi

    def segment(self, start: int, end: int) -> Tuple[int, int]:
        """The part of the sentence between contrast words ("but", ";") around the match."""
        begin, nxt = self._segment
        return begin[max(0, start)], nxt[min(end, len(self.keys))]

    def clause(self, start: int, end: int) -> Tuple[int, int]:
        """The clause around the match: between punctuation and contrast words."""
        begin, nxt = self._clause
        return begin[max(0, start)], nxt[min(end, len(self.keys))]

    def _find(self, phrase: Phrase, lo: int, hi: int) -> Iterable[int]:
        """Start positions of ``phrase`` wholly inside [lo, hi)."""
        positions = self._positions.get(phrase[0])
        if not positions:
            return
        n = len(phrase)
        keys = self.keys
        for i in positions[bisect_left(positions, max(lo, 0)):]:
            if i + n > hi:
                break
            if n == 1 or tuple(keys[i : i + n]) == phrase:
                yield i

    def _contrast_stop(self, i: int) -> bool:
        key = self.keys[i]
        return not self.covered[i] and (key in SENTENCE_END or key in CONTRAST or key == ";")

    def _clause_stop(self, i: int) -> bool:
        key = self.keys[i]
        if key == "," and i + 1 < len(self.keys) and self.keys[i + 1] in LIST_CONTINUATION:
            return False  # "watch for, like, trouble breathing": still the same clause
        return not self.covered[i] and (key in CLAUSE_PUNCT or key in CONTRAST)

    def _occurs(self, phrases: Sequence[Phrase], lo: int, hi: int) -> Iterable[Tuple[int, int]]:
        """(start, end) of every occurrence of a phrase inside [lo, hi) outside matches."""
        hi = min(hi, len(self.keys))
        for phrase in phrases:
            for i in self._find(phrase, lo, hi):
                if not any(self.covered[i : i + len(phrase)]):
                    yield i, i + len(phrase)

    def _any(self, phrases: Sequence[Phrase], lo: int, hi: int) -> bool:
        return next(iter(self._occurs(phrases, lo, hi)), None) is not None

    def _preceded_by(self, phrases: Sequence[Phrase], i: int, reach: int = 3) -> bool:
        """Whether one of ``phrases`` ends at most ``reach`` tokens before position i."""
        return any(i - end <= reach for _, end in self._occurs(phrases, max(0, i - reach - 4), i))

    # ------------------------------------------------------------ public
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

    # ------------------------------------------------------------ negation
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
            # "no, I can't breathe" / "no I can't": "no" as an answer, not a negation.
            if self.keys[t_start] == "no" and t_end < len(self.keys) and (
                self.keys[t_end] in CLAUSE_PUNCT or self.keys[t_end] in SUBJECTS
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
        if key in SUBJECTS and i > t_end and (
            before in BELIEF_VERBS
            or (before in {"like", "that", "as"} and i > 1 and self.keys[i - 2] in BELIEF_VERBS)
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
        """"trouble swallowing? no", "choking - none", "... is not an issue"."""
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

    # ------------------------------------------------------------ past
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
        return self._resolved_after(start, end)

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
        negators = {"not", "n't", "never", "nt", "hasnt", "didnt", "havent", "hasn't",
                    "didn't", "haven't", "wasnt", "wasn't", "nothing"}
        for i in range(end, hi):
            if self.covered[i]:
                continue
            n = 0
            for phrase in _RESOLVED_BY_FIRST.get(texts[i], ()):
                if tuple(texts[i : i + len(phrase)]) == phrase:
                    n = len(phrase)
                    break
            if not n and texts[i] in RESOLVED_WORD and i > 0 and texts[i - 1] in RESOLVED_SUBJECT:
                n = 1
            if not n:
                continue
            # "hasn't gone away", "never cleared up": not resolved.
            if any(texts[j] in negators for j in range(max(end, i - 2), i)):
                continue
            # "it went away but now it's back": a recurrence after the resolution.
            return not self._any(RECURRENCE, i + n, hi)
        return False

    # ------------------------------------------------------------ now / reports
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
                (keys[j].isdigit() or keys[j] in NUMBER_WORDS) and j + 1 < len(keys)
                and keys[j + 1] in DURATION_UNITS
                for j in range(i + 1, min(i + 3, len(keys)))
            ):
                return True
            if strict or (self.covered[i] and not start <= i):
                continue
            text = texts[i]
            # Progressive "am having", "is drooping"; perfect "have been"; "started".
            if text == "been" or (text in ACTUALITY_TEXT and text not in {"having", "getting",
                                                                          "feeling"}):
                return True
            if self._progressive(i):
                return True
            # "since" after the match start is a time ("... since tuesday"); before it,
            # it may mean "because" ("since botox can cause ...").
            if keys[i] == "since" and i >= start:
                return True
        return False

    def _progressive(self, i: int) -> bool:
        """"I am choking", "is he having": a present progressive at token i.

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
        """"my droopy eyelid", "his trouble swallowing": someone's symptom, presupposed.

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
            keys[i] in STATEMENT_OPENERS | {"for"}
            and keys[i + 1] in POSSESSIVES
            for i in range(max(lo, 0), min(hi, len(keys)) - 1)
        )

    # ------------------------------------------------------------ hypothetical
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
            if t_end <= start and self._scope_reaches(t_end, start) and not (
                owned or self._reported_after(t_end, clause_hi)
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

    def _that_clause(self, start: int) -> bool:
        """"worried that swallowing is hard", "afraid to eat because things get stuck":
        "that" or "because" right before the symptom opens a statement of fact."""
        keys = self.keys
        i = start - 1
        while i >= 0 and keys[i] in DETERMINERS - {"that"} and start - i <= 2:
            i -= 1
        return i >= 0 and keys[i] in STATEMENT_OPENERS and not (i > 0 and keys[i - 1] == "so")

    def _generic_subject(self, lo: int, start: int) -> bool:
        """"patients sometimes have trouble breathing": people in general, not "my patient"."""
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
        """"I'll choke", "he is going to choke" (but "I feel like I'm going to choke")."""
        keys, texts = self.keys, self.texts
        for i in range(max(0, start - 3), start):
            future = keys[i] in {"will", "would"} or (
                texts[i] in {"going", "gon"} and i + 1 < len(keys) and keys[i + 1] == "to"
            )
            if not future or self.covered[i]:
                continue
            # "food won't go down", "my eye won't open": a present refusal, not a future
            # (unlike "I won't be able to breathe").
            if keys[i] == "will" and i + 2 < len(keys) and keys[i + 1] == "not" and (
                keys[i + 2] != "be"
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
                if before not in AUX and before not in {"and", "or", "that", "because",
                                                        "so", "when", "like", "feel", "if"}:
                    return False
        return True

    # ------------------------------------------------------------ questions
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
            if is_question or keys[i] in {"what", "how", "which", "who", "can", "do", "will",
                                          "would", "should"}:
                return i
        return None

    def _risk_question(self, start: int, end: int) -> bool:
        """"Can botox make my eyelids droop?": a question about a risk, not a report."""
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
        """"How long does double vision last? I've had it for 3 days.": now, after all."""
        if hi >= len(self.keys):
            return False
        next_lo, next_hi = self.sentence(hi, hi + 1)
        return self._actual_now(next_lo, next_hi, next_lo)

    def _fragment_of_question(self, start: int, end: int) -> bool:
        """"What are the warning signs? Trouble swallowing?": a follow-up fragment."""
        lo, hi = self.sentence(start, end)
        words = [k for k in self.keys[lo:start] + self.keys[end:hi] if k not in CLAUSE_PUNCT]
        if len(words) > 2 or "?" not in self.keys[end:hi] or lo == 0:
            return False
        prev_lo, prev_hi = self.sentence(lo - 1, lo)
        return "?" in self.keys[prev_lo:prev_hi] and not self._personal(prev_lo, prev_hi)

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
            return self._fragment_of_question(start, end)
        if self._that_clause(start):
            return False  # "is it normal that swallowing is hard?"
        lo, hi = self.sentence(start, end)
        if self._actual_now(lo, hi, start) or self._next_sentence_actual(hi):
            return False
        return not self._personal(lo, hi)


def suppression_reason(
    tokens: Sequence[Token], start: int, end: int, covered: Sequence[bool] = ()
) -> Optional[str]:
    """Convenience: why the match [start, end) is suppressed, or None if it stands."""
    return Context(tokens, covered).reason(start, end)
