"""RedFlagDetector: finds danger signs in a message and says how serious they are.

How a message is read:

1. Normalise every token to a *key*: lowercase, tokenizer norms ("n't" -> "not",
   "ca" -> "can"), the lexicon's explicit misspellings, then the lemma from spaCy's
   lookup table ("choking" -> "choke"). A word that is not English (not in spaCy's
   lookup tables or WordNet's word list) and is within a small edit distance of a
   lexicon word of 5+ letters is read as that word ("swalowing" -> "swallow"): spaCy
   3.4 has no fuzzy matcher, so this is the typo tolerance.
2. Match the lexicon's patterns on a Doc of those lemmas with spaCy ``Matcher``s:
   one small Matcher per pattern, run only on the clauses holding one of its anchor
   words (a pattern never crosses punctuation), longest match per symptom.
3. For each match decide, with :mod:`clinic_assistant.red_flags.context`, whether it
   is negated, hypothetical, a general question or a resolved past episode, or masked
   by an expected effect (neck weakness is not generalized weakness).
4. The level is the highest level among the symptoms that remain.

Nothing here logs message text: it is health information.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Optional,
    Sequence,
    Tuple,
)

from clinic_assistant.red_flags.context import (
    CLAUSE_PUNCT,
    CONTRAST,
    SENTENCE_END,
    Context,
    Token,
)
from clinic_assistant.red_flags.lexicon import (
    Gap,
    Lexicon,
    Pattern,
    Slot,
    level_rank,
    load_lexicon,
)

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

# The lookup table's lemma for a few forms is wrong for our purpose ("does" -> "doe",
# "'s" -> "have", "as" -> "a", "shot" -> "shoot"); "worse" -> "wrong" is kept.
# The context rules write their key-form tables (lexicons/red_flag_context_rules.yml)
# in these keys (a test checks that).
KEY_OVERRIDES: Dict[str, str] = {
    "as": "as",
    "matter": "matter",
    "evening": "evening",
    "morning": "morning",
    "shot": "shot",
    "shots": "shot",
    "more": "more",
    "well": "well",
    "odds": "odds",
    "ok": "ok",
    "okay": "ok",
    "hi": "hi",
    "thanks": "thanks",
    "longer": "longer",
    "does": "do",
    "doe": "do",
    "'s": "be",
    "\u2019s": "be",  # right single quotation mark
    "ai": "be",
    "r": "be",
    "im": "i",
    "ive": "i",
    "u": "you",
    "cant": "can",
    "cannot": "can",
    "wont": "will",
    "dont": "do",
    "didnt": "do",
    "doesnt": "do",
    "isnt": "be",
    "wasnt": "be",
    "couldnt": "can",
    "could": "can",
    "better": "well",
    "gonna": "go",
}
# Tokens that carry no meaning for matching: quotes and hyphens inside words
# ("short-of-breath", "eye-lid", "epi-pen").
DROP_TEXT: FrozenSet[str] = frozenset(
    {'"', "'", "\u201c", "\u201d", "\u2018", "\u2019", "`", "*", "_", "~"}
)
# A pattern gap may not cross these: clause boundaries and negations.
GAP_STOPS: Tuple[str, ...] = tuple(sorted(CLAUSE_PUNCT | CONTRAST | {"not", "no", "never"}))
MIN_TYPO_LENGTH = 5
MAX_TYPO_DISTANCE = 2
# Long messages are read in windows of this many tokens (whole sentences where they
# fit) plus a margin of context on either side; see _windows.
WINDOW_TOKENS = 200
WINDOW_MARGIN = 40
SUPPRESSED_UNCONFIRMED = "unconfirmed"
EXPECTED_PREFIX = "expected:"


@dataclass(frozen=True)
class Match:
    """One place where a symptom's pattern matched.

    ``suppressed`` is None when the match counts, otherwise why it does not:
    "negated", "hypothetical", "question", "historical", "unconfirmed" (needs another
    symptom) or "expected:<effect>" (masked by an expected effect).
    """

    symptom: str
    start_char: int
    end_char: int
    text: str
    suppressed: Optional[str] = None


@dataclass(frozen=True)
class Detection:
    """The result for one message: the highest level, the symptoms, all matches."""

    level: Optional[str]
    symptoms: Tuple[str, ...]
    matches: Tuple[Match, ...]

    @property
    def fired(self) -> bool:
        """Whether any red flag stands."""
        return self.level is not None

    def first_match(self, symptom: str) -> Optional[Match]:
        """The first match that counts for ``symptom`` (for entity offsets)."""
        for match in self.matches:
            if match.symptom == symptom and match.suppressed is None:
                return match
        return None


@dataclass(frozen=True)
class _Key:
    """What a matcher key stands for."""

    name: str
    expected: bool
    requires: Tuple[str, ...] = ()


@dataclass(frozen=True)
class _Norm:
    """A normalised token and where it came from in the text."""

    key: str
    text: str
    start_char: int
    end_char: int


def _stop_words() -> FrozenSet[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


@functools.lru_cache(maxsize=1)
def _english_lookups() -> Tuple[Dict[str, str], FrozenSet[str]]:
    """spaCy's English lemma lookup table and a set of known English words.

    Known = WordNet's word list (lemma_index), every inflected form in the lookup
    table and its lemmas, irregular forms and stop words. Cached: loading takes ~0.3 s.
    """
    import spacy_lookups_data
    from spacy.lang.en.stop_words import STOP_WORDS
    from spacy.util import load_language_data

    # Read the raw tables: spaCy's Table keys are hashes, and we need the strings.
    tables = spacy_lookups_data.en
    raw_lemmas: Any = load_language_data(tables["lemma_lookup"])
    lemmas: Dict[str, str] = dict(raw_lemmas)
    known = set(STOP_WORDS)
    known.update(lemmas)
    known.update(lemmas.values())
    for name in ("lemma_index", "lemma_exc"):
        table: Any = load_language_data(tables[name])
        for words in table.values():
            if isinstance(words, dict):
                for forms in words.values():
                    known.update(forms)
            else:
                known.update(words)
    return lemmas, frozenset(word for word in known if isinstance(word, str))


def damerau_levenshtein(a: str, b: str, limit: int = 2) -> int:
    """Optimal-string-alignment distance (a transposition costs 1); > limit is capped."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: List[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


class TypoCorrector:
    """Maps an unknown word to the lexicon word it is a small misspelling of.

    Candidates come from a deletion index (SymSpell-style): every word with up to two
    letters deleted, so a lookup costs a handful of dictionary hits, not a scan.
    Allowed distance: 1 for 5-7 letters, 2 for 8 or more. Ties between different
    lemmas are left alone (a wrong guess is worse than none).

    Cost is bounded: only words whose length a target can reach within the allowed
    distance are looked up (a word of n letters has ~n**2 / 2 two-letter deletions, so
    an unbounded lookup of a 1,400-letter "word" took seconds and hundreds of MB).
    Longer words are returned uncorrected before the cache, so it never holds them.
    """

    def __init__(self, targets: Dict[str, str], known: FrozenSet[str]) -> None:
        self.targets = {
            word: lemma
            for word, lemma in targets.items()
            if len(word) >= MIN_TYPO_LENGTH and word.isalpha()
        }
        self.known = known
        # No word longer than this is within the allowed distance of any target.
        self.max_length = max(map(len, self.targets), default=0) + MAX_TYPO_DISTANCE
        self._index: Dict[str, List[str]] = {}
        for word in self.targets:
            for variant in self._deletes(word, MAX_TYPO_DISTANCE):
                self._index.setdefault(variant, []).append(word)
        self._cached = functools.lru_cache(maxsize=4096)(self._correct)

    def correct(self, word: str) -> Optional[str]:
        """The lemma ``word`` is a misspelling of, or None (words of any length)."""
        if not MIN_TYPO_LENGTH <= len(word) <= self.max_length:
            return None
        return self._cached(word)

    @staticmethod
    def allowed_distance(word: str) -> int:
        """How many edits a word of this length may be from its correction."""
        return 1 if len(word) < 8 else MAX_TYPO_DISTANCE

    @staticmethod
    def _deletes(word: str, depth: int) -> set[str]:
        found = {word}
        frontier = {word}
        for _ in range(depth):
            frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
            found |= frontier
        return found

    def _correct(self, word: str) -> Optional[str]:
        """The lemma ``word`` is a misspelling of, or None."""
        if not word.isalpha() or word in self.known or word in self.targets:
            return None
        limit = self.allowed_distance(word)
        candidates = {
            c for variant in self._deletes(word, limit) for c in self._index.get(variant, ())
        }
        best: Dict[int, set[str]] = {}
        for candidate in candidates:
            distance = damerau_levenshtein(word, candidate, limit)
            if distance <= min(limit, self.allowed_distance(candidate)):
                best.setdefault(distance, set()).add(self.targets[candidate])
        if not best:
            return None
        lemmas = best[min(best)]
        return next(iter(lemmas)) if len(lemmas) == 1 else None


class RedFlagDetector:
    """Detects red-flag symptoms in spaCy Docs, using the lexicon and a Language."""

    def __init__(self, lexicon: Lexicon, nlp: Language) -> None:
        """Compiles the lexicon's patterns with ``nlp``'s tokenizer and vocab."""
        self.lexicon = lexicon
        self.nlp = nlp
        self.vocab = nlp.vocab
        self._lemmas, known = _english_lookups()
        self._spellings = dict(lexicon.spellings)
        # The lexicon's own words are known (never "corrected" into something else).
        pattern_keys = {self._base_key(word) for word in lexicon.words()}
        pattern_keys |= {self._base_key(word) for word in self._spellings.values()}
        self.typos = TypoCorrector(self._inflections(pattern_keys), known | pattern_keys)
        # One small Matcher per lexicon pattern, indexed by its anchor lemmas (words one
        # of which the pattern needs): only the patterns whose anchors occur in a
        # message run. Matcher cost grows with patterns x tokens, so this keeps a
        # 100-word message well under a millisecond or two.
        self._units: List[Tuple[_Key, Any]] = []
        self._by_anchor: Dict[str, List[int]] = {}
        self._common = frozenset(self._base_key(word) for word in _stop_words())
        self._symptom_order = {name: i for i, name in enumerate(lexicon.symptom_names)}
        self._levels = {symptom.name: symptom.level for symptom in lexicon.symptoms}
        self._masks: Dict[str, FrozenSet[str]] = {
            effect.name: frozenset(effect.masks) for effect in lexicon.expected
        }
        self._word_keys: Dict[str, Tuple[str, ...]] = {}
        for symptom in lexicon.symptoms:
            for pattern in symptom.patterns:
                self._add(_Key(symptom.name, False, tuple(sorted(pattern.requires))), pattern)
        for effect in lexicon.expected:
            for pattern in effect.patterns:
                self._add(_Key(effect.name, True), pattern)
        self._lock = threading.Lock()

    # ------------------------------------------------------------ compile
    def _add(self, key: _Key, pattern: Pattern) -> None:
        """Compiles one pattern into its own Matcher, indexed by its anchors."""
        from spacy.matcher import Matcher

        matcher = Matcher(self.vocab, validate=True)
        matcher.add(key.name, self._compile(pattern))
        self._units.append((key, matcher))
        for anchor in self._anchors(pattern):
            self._by_anchor.setdefault(anchor, []).append(len(self._units) - 1)

    def _anchors(self, pattern: Pattern) -> FrozenSet[str]:
        """Lemmas one of which must be in a message for ``pattern`` to match.

        From the pattern's most specific required slot: one lemma per alternative,
        preferring words that are not stop words.
        """
        best: Optional[Tuple[Tuple[int, int], FrozenSet[str]]] = None
        for item in pattern.items:
            if not isinstance(item, Slot) or item.optional:
                continue
            words = set()
            for alternative in item.alternatives:
                keys = [k for word in alternative for k in self._phrase_keys(word)]
                if keys:
                    rare = [k for k in keys if k not in self._common]
                    words.add((rare or keys)[0])
            common = sum(1 for word in words if word in self._common)
            score = (common, len(words))
            if words and (best is None or score < best[0]):
                best = (score, frozenset(words))
        if best is None:  # cannot happen for a validated pattern; never skip it then
            raise ValueError(f"pattern without a required word: {pattern.source!r}")
        return best[1]

    def _compile(self, pattern: Pattern) -> List[List[Dict[str, Any]]]:
        """Token patterns (LEMMA) for one lexicon pattern: the product of its variants."""
        sequences: List[List[Dict[str, Any]]] = [[]]
        for item in pattern.items:
            variants: List[List[Dict[str, Any]]] = []
            if isinstance(item, Gap):
                variants.append([{"LEMMA": {"NOT_IN": list(GAP_STOPS)}, "OP": "?"}] * item.words)
            else:
                variants.extend(self._slot_variants(item))
            sequences = [seq + variant for seq in sequences for variant in variants]
        return [seq for seq in sequences if seq]

    def _slot_variants(self, slot: Slot) -> List[List[Dict[str, Any]]]:
        singles: List[str] = []
        phrases: List[Tuple[str, ...]] = []
        for alternative in slot.alternatives:
            keys = tuple(k for word in alternative for k in self._phrase_keys(word))
            if len(keys) == 1:
                singles.append(keys[0])
            elif keys:
                phrases.append(keys)
        singles = sorted(set(singles))
        variants: List[List[Dict[str, Any]]] = []
        if slot.filler:
            # A filler: any number of these words (they are all harmless in between).
            return [[{"LEMMA": {"IN": singles}, "OP": "*"}]]
        if singles:
            spec: Dict[str, Any] = {"LEMMA": {"IN": singles}}
            if slot.optional:
                spec["OP"] = "?"
            variants.append([spec])
        for phrase in dict.fromkeys(phrases):
            variants.append([{"LEMMA": key} for key in phrase])
        if slot.optional and not singles:
            variants.append([])
        return variants

    def _phrase_keys(self, word: str) -> Tuple[str, ...]:
        """Keys of a lexicon word, tokenized like a message ("can't" -> can, not)."""
        if word not in self._word_keys:
            doc = self.nlp.make_doc(word)
            self._word_keys[word] = tuple(n.key for n in self._normalise(doc, fix_typos=False))
        return self._word_keys[word]

    def _inflections(self, lemmas: Iterable[str]) -> Dict[str, str]:
        """Every form the lookup table knows for these lemmas, mapped to the lemma."""
        wanted = set(lemmas)
        forms = {lemma: lemma for lemma in wanted}
        for form, lemma in self._lemmas.items():
            if lemma in wanted:
                forms[form] = lemma
        # Explicit misspellings are exact lookups; their targets are fuzzy targets too.
        for right in self._spellings.values():
            forms.setdefault(right, self._base_key(right))
        return forms

    # ------------------------------------------------------------ normalise
    def _base_key(self, word: str) -> str:
        """Lowercase word -> key: explicit misspelling, override, else lookup lemma."""
        word = self._spellings.get(word, word)
        if word in KEY_OVERRIDES:
            return KEY_OVERRIDES[word]
        lemma = self._lemmas.get(word, word)
        return KEY_OVERRIDES.get(lemma, lemma)

    def _normalise(self, doc: Doc, fix_typos: bool = True) -> List[_Norm]:
        """Keys for the tokens that matter, with their character offsets."""
        result: List[_Norm] = []
        for token in doc:
            text = token.text.lower().replace("\u2019", "'").replace("\u2018", "'")
            if token.is_space:
                if "\n" in text:
                    result.append(_Norm("\n", "\n", token.idx, token.idx + len(token)))
                continue
            if text in DROP_TEXT:
                continue
            spaced = token.whitespace_ or (token.i > 0 and doc[token.i - 1].whitespace_)
            if text == "-" and not spaced:
                continue  # a hyphen inside a word: "short-of-breath", "eye-lid"
            if text in self._spellings:
                base = self._spellings[text]
            else:
                # Tokenizer norms: "n't" -> "not", "ca" -> "can", "'m" -> "am", "cuz" -> ...
                norm = token.norm_.lower() if token.norm_ else text
                base = norm if norm != text and " " not in norm else text
            key = self._base_key(base)
            if fix_typos and key == base:
                corrected = self.typos.correct(key)
                if corrected is not None:
                    key = corrected
            result.append(_Norm(key, text, token.idx, token.idx + len(token)))
        return result

    def normalise_text(self, text: str) -> List[str]:
        """The keys of a text, for tools and tests."""
        return [n.key for n in self._normalise(self.nlp.make_doc(text.lower()))]

    # ------------------------------------------------------------ detect
    def detect(self, doc: Doc) -> Detection:
        """Finds the red flags in ``doc`` (any English spaCy Doc of the message)."""
        text = doc.text
        lowered = text.lower()
        source = doc
        # Tokenizer exceptions are case-sensitive ("CAN'T" stays one token): read a
        # lowercased copy when that keeps the character offsets.
        if lowered != text and len(lowered) == len(text):
            source = self.nlp.make_doc(lowered)
        norms = self._normalise(source)
        if not norms:
            return Detection(None, (), ())
        # Long messages are read in windows of whole sentences (with a margin of
        # context on either side), so the context rules' per-match look-arounds stay
        # bounded and the whole detection is linear in the message's length.
        judged: List[Tuple[_Key, int, int, Optional[str]]] = []
        keys = [n.key for n in norms]
        for ctx_lo, core_lo, core_hi, ctx_hi in _windows(keys, WINDOW_TOKENS, WINDOW_MARGIN):
            for key, s, e, reason in self._judge(norms[ctx_lo:ctx_hi]):
                if core_lo <= ctx_lo + s < core_hi:
                    judged.append((key, ctx_lo + s, ctx_lo + e, reason))
        standing = {key.name for key, _, _, reason in judged if reason is None and not key.requires}
        by_place: Dict[Tuple[str, int, int], Match] = {}
        for key, s, e, reason in judged:
            if reason is None and key.requires and not standing.intersection(key.requires):
                reason = SUPPRESSED_UNCONFIRMED
            start_char, end_char = norms[s].start_char, norms[e - 1].end_char
            place = (key.name, start_char, end_char)
            # The same place found by two patterns: a standing match wins.
            if place not in by_place or reason is None:
                by_place[place] = Match(
                    key.name, start_char, end_char, text[start_char:end_char], reason
                )
        matches = list(by_place.values())
        matches.sort(key=lambda m: (m.start_char, self._symptom_order[m.symptom], m.end_char))
        fired = {m.symptom for m in matches if m.suppressed is None}
        names = tuple(name for name in self.lexicon.symptom_names if name in fired)
        level = min((self._levels[name] for name in names), key=level_rank, default=None)
        return Detection(level, names, tuple(matches))

    def _judge(self, norms: Sequence[_Norm]) -> List[Tuple[_Key, int, int, Optional[str]]]:
        """Matches in one window of tokens, each with why it is suppressed (or None)."""
        from spacy.tokens import Doc

        # No pattern crosses punctuation (gaps and fillers stop there), so each pattern
        # only runs on the clauses that hold one of its anchors.
        clause_of: List[int] = []
        bounds: List[Tuple[int, int]] = []
        begin = 0
        for i, n in enumerate(norms):
            if n.key in CLAUSE_PUNCT:
                if i > begin:
                    bounds.append((begin, i))
                begin = i + 1
            clause_of.append(len(bounds))
        if begin < len(norms):
            bounds.append((begin, len(norms)))
        todo: Dict[int, set[int]] = {}
        for i, n in enumerate(norms):
            if n.key not in CLAUSE_PUNCT:
                for unit in self._by_anchor.get(n.key, ()):
                    todo.setdefault(unit, set()).add(clause_of[i])
        raw: Dict[_Key, List[Tuple[int, int]]] = {}
        with self._lock:  # the Matchers and Vocab are shared; keep calls serial
            lemma_doc = Doc(
                self.vocab, words=[n.text or n.key for n in norms], lemmas=[n.key for n in norms]
            )
            for expected_pass in (False, True):
                found_names = {key.name for key in raw}
                for unit, clauses in sorted(todo.items()):
                    key, matcher = self._units[unit]
                    if key.expected != expected_pass:
                        continue
                    # An expected effect only matters next to a symptom it masks.
                    if key.expected and not found_names & self._masks[key.name]:
                        continue
                    for clause in sorted(clauses):
                        lo, hi = bounds[clause]
                        raw.setdefault(key, []).extend(
                            (lo + s, lo + e) for _, s, e in matcher(lemma_doc[lo:hi])
                        )
        symptoms = [
            (key, s, e)
            for key, spans in raw.items()
            if not key.expected
            for s, e in _longest(spans)
        ]
        expected = [
            (key, s, e) for key, spans in raw.items() if key.expected for s, e in _longest(spans)
        ]
        covered = [False] * len(norms)
        for _, s, e in symptoms:
            for i in range(s, e):
                covered[i] = True
        context = Context([Token(n.key, n.text) for n in norms], covered)

        judged: List[Tuple[_Key, int, int, Optional[str]]] = []
        for key, s, e in symptoms:
            reason = None
            for effect, es, ee in expected:
                if key.name in self._masks[effect.name] and es < e and s < ee:
                    reason = EXPECTED_PREFIX + effect.name
                    break
            judged.append((key, s, e, reason or context.reason(s, e)))
        return judged


def _windows(keys: Sequence[str], size: int, margin: int) -> Iterable[Tuple[int, int, int, int]]:
    """(context start, core start, core end, context end) covering ``keys``.

    Cores are consecutive runs of at most ``size`` tokens, ending after a sentence
    where one ends in their second half (else a sentence is cut); each is read with up
    to ``margin`` tokens either side, so a rule that looks at the previous or next
    sentence still sees it. A message of at most
    ``size`` tokens is one window: the whole message.
    """
    n = len(keys)
    lo = 0
    while lo < n:
        hi = min(n, lo + size)
        if hi < n:
            # End after a sentence when one ends in the window's second half; never
            # less, so the windows (and their margins) are at most 2n/size + 1.
            for j in range(hi - 1, lo + size // 2, -1):
                if keys[j] in SENTENCE_END:
                    hi = j + 1
                    break
        yield max(0, lo - margin), lo, hi, min(n, hi + margin)
        lo = hi


def _longest(spans: Iterable[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """The longest spans that do not overlap (spaCy's greedy="LONGEST", per symptom)."""
    chosen: List[Tuple[int, int]] = []
    for start, end in sorted(set(spans), key=lambda span: (span[0] - span[1], span[0])):
        if all(end <= s or start >= e for s, e in chosen):
            chosen.append((start, end))
    return sorted(chosen)


@functools.lru_cache(maxsize=1)
def default_detector() -> RedFlagDetector:
    """The detector over the project's lexicon and pipeline (built once per process).

    The pipeline is the one SpacyNLP uses, shared (``project_pipeline``).
    """
    from clinic_assistant.nlp.pipeline import project_pipeline

    return RedFlagDetector(load_lexicon(), project_pipeline())


def detect_text(text: str) -> Detection:
    """Convenience for tools and benchmarks: detect red flags in a plain string."""
    detector = default_detector()
    return detector.detect(detector.nlp.make_doc(text))
