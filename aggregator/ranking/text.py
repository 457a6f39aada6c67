"""Language-agnostic tokenisation for matching: fold, split, drop stopwords, stem lightly.

The same function is applied to events and to profile phrases, so both sides meet in one
vocabulary: "Single-Cell Genomics" -> ["single", "cell", "genomic"], "verificación" ->
["verificacion"], "Learning Designers" -> ["learn", "design"]. Phrases are matched through
bigrams of adjacent kept tokens ("single cell" -> "single cell" bigram key "single_cell"), so
a stopword between two words ("periodismo de datos") does not break a phrase.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+")
_SHORT_PREFIX = re.compile(r"\b([^\W_]{1})-(?=[^\W_])")   # e-learning -> elearning
_WEIGHT = re.compile(r"^(?P<text>.*?)\s*\^\s*(?P<weight>\d+(?:\.\d+)?)\s*$")

# a small multilingual stopword list (en, es, nl, de, fr, pt, it): words that carry no topic
STOPWORDS = frozenset(
    """
    a an and are as at be by for from how in into is it of on or our the their this to we what
    with you your via vs new all about us get up out more near who why when where its not can
    de del la las el los y en para con por un una unos al lo se que su sus o e
    het een en voor van met op te bij naar om ook aan
    der die das und mit fur im zu ein eine von auf bei
    le les des du et pour avec sur au aux
    da do dos das para com em
    di il per con
    """.split()
)


def fold(text: str) -> str:
    """Lowercase (casefold) with accents removed: "Verificación" -> "verificacion"."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Light suffix stripping that is safe across European languages (plurals, -ing, -ize)."""
    if word.isdigit() or len(word) <= 3:
        return word
    word = word.replace("iz", "is")            # organization / organisation
    # plurals first, so that "organisations" and "organisation" meet below
    if word.endswith("ciones") and len(word) > 7:
        word = word[:-2]                       # verificaciones -> verificacion
    elif word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]                       # grids -> grid, datos -> dato
    if word.endswith("isation"):
        return word[:-7] + "is"
    if word.endswith("ise"):
        return word[:-3] + "is"
    if word.endswith("ing") and len(word) > 5:
        return word[:-3]                       # learning -> learn, engineering -> engineer
    return word


def tokens(text: str | None) -> list[str]:
    """Folded, stemmed, stopword-free tokens of a text, in order."""
    if not text:
        return []
    folded = _SHORT_PREFIX.sub(r"\1", fold(text))
    return [stem(w) for w in _WORD.findall(folded) if w not in STOPWORDS]


def bigrams(toks: list[str]) -> list[str]:
    return [f"{a}_{b}" for a, b in zip(toks, toks[1:], strict=False)]


def terms(text: str | None) -> list[str]:
    """Unigram and bigram terms of a text: what the index stores."""
    toks = tokens(text)
    return toks + bigrams(toks)


@dataclass(frozen=True)
class Phrase:
    """One interest or exclude phrase as written, its weight and its matching keys."""

    text: str
    weight: float
    tokens: tuple[str, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """The terms that must all be present for the phrase to match."""
        if len(self.tokens) == 1:
            return self.tokens
        return tuple(bigrams(list(self.tokens)))


def parse_phrase(raw: str) -> Phrase | None:
    """ "data engineering^2" -> Phrase("data engineering", 2.0, ("data", "engineer")). """
    text, weight = raw.strip(), 1.0
    match = _WEIGHT.match(text)
    if match:
        text, weight = match["text"].strip(), float(match["weight"])
    toks = tuple(tokens(text))
    if not toks:
        return None
    return Phrase(text=text, weight=weight, tokens=toks)
