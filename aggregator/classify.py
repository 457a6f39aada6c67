"""Kinds, goals and industries for an event, from its own words and its source's hints."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property

from aggregator import constants as C
from aggregator.config_types import Industry

# kind_text values (schema.org types, feed categories, API categories) -> kind
_KIND_TEXT = [
    (r"career|job|recruit|hiring|employ", C.CAREER_FAIR),
    (r"hackathon|hack ?day|datathon|game ?jam", C.HACKATHON),
    (r"call for (speakers|papers|proposals)|cfp|cfs", C.CALL_FOR_SPEAKERS),
    (r"award|prize|premio|preis", C.AWARD),
    (r"volunteer|voluntari", C.VOLUNTEER),
    (r"mentor", C.MENTORSHIP),
    (r"webinar|online ?talk|livestream|webcast", C.WEBINAR),
    (r"workshop|training|course|class|bootcamp|taller|masterclass|tutorial|educationevent", C.WORKSHOP),
    (r"conference|summit|congress|symposium|convention|expo|forum|congreso|conferencia|konferenz|"
     r"conferenceevent|festival|trade ?show", C.CONFERENCE),
    (r"meetup|meet-up|user group|usergroup|encuentro|stammtisch", C.MEETUP),
    (r"network|mixer|socialevent|social|happy hour|breakfast|drinks|businessevent", C.NETWORKING),
]
_KIND_TEXT_RE = [(re.compile(p, re.I), k) for p, k in _KIND_TEXT]

# words in a title (checked first) or description -> kind. Each pattern is one word boundary
# before a group of words (\b(?:a|b)\b finds what \ba\b|\bb\b finds, in a quarter of the time:
# the regex engine tests the boundary once per place, not once per word)
_KIND_WORDS = [
    (r"\b(?:call for (?:speakers|papers|proposals|talks)|cfp|speak at|submit (?:a|your) talk)\b",
     C.CALL_FOR_SPEAKERS),
    (r"\b(?:(?:career|job|jobs|hiring|recruit\w*|employer)s? (?:fair|expo|day|night|event)|job fair|"
     r"feria de empleo|banenmarkt|jobmesse|career fair)\b", C.CAREER_FAIR),
    (r"\b(?:hack(?:athon|day| day| night)|datathon|game jam|buildathon)\b", C.HACKATHON),
    (r"\b(?:awards?|nominations?|prize|premios?|preis)\b", C.AWARD),
    (r"\b(?:volunteer|voluntari)\w*\b", C.VOLUNTEER),
    (r"\b(?:mentor\w*|mentoría|coaching circle|office hours)\b", C.MENTORSHIP),
    (r"\b(?:webinar|webcast|online talk|seminario web)\b", C.WEBINAR),
    (r"\b(?:mixer|networking|(?:pitch|demo) night|showcase|happy hour|dialog(?:ue)?|dialog\w+)\b",
     C.NETWORKING),
    (r"\b(?:workshop|hands-on|training|bootcamp|masterclass|tutorial|clinic|taller|cursus|kurs|lab|course|"
     r"institute|intensive|academy)\b", C.WORKSHOP),
    # "conf" ends a word ("pyconf", "conf"); "day" but "open day" and "day of"
    (r"\b(?:conference|summit|congress|symposium|con \d{4}|expo|forum|congreso|conferencia|konferenz|"
     r"congres|convention|festival|jornadas?|week|days?\s+\d{4}|pycon|(?<!open )day(?! of)|cumbre)\b|"
     r"conf\b", C.CONFERENCE),
    (r"\b(?:meetup|meet-up|user group|encuentro|stammtisch|meet ?&? ?greet|bijeenkomst|treffen|monthly|"
     r"night|lightning talks|book club|circle|community call)\b", C.MEETUP),
    (r"\b(?:networking|mixer|happy hour|breakfast|drinks|social|meet the|lunch|luncheon|roundtable|"
     r"reception|open day|open house|evening|afterwork|borrel|pitch night)\b", C.NETWORKING),
]
_KIND_WORDS_RE = [(re.compile(p, re.I), k) for p, k in _KIND_WORDS]


def _case_sensitive(pattern: str) -> re.Pattern[str]:
    """The pattern for lower-cased ASCII text: without IGNORECASE (a third faster) when it has no
    upper-case letter (escapes such as \\b aside), so that it finds what the IGNORECASE one finds;
    as it is otherwise."""
    if re.search("[A-Z]", re.sub(r"\\.", "", pattern)):
        return re.compile(pattern, re.I)
    return re.compile(pattern)


_KIND_WORDS_ASCII = [(_case_sensitive(p), k) for p, k in _KIND_WORDS]

# schema.org types and feed categories that say little about the kind: used only when the title
# and the source say nothing
_GENERIC_KIND_TEXT = re.compile(
    r"^(https?://schema\.org/)?(event|businessevent|socialevent|educationevent|eventseries|"
    r"communityevent|other|general|misc\w*)$", re.I)
# in a description only these kinds are named reliably (volunteers, awards and nominations are
# often mentioned in passing)
_DESCRIPTION_KINDS = {C.WEBINAR, C.WORKSHOP, C.HACKATHON, C.CAREER_FAIR, C.CONFERENCE, C.MEETUP}


def _first_kind(text: str, allowed: set[str] | None = None) -> str | None:
    table = _KIND_WORDS_RE
    if text.isascii():
        text, table = text.lower(), _KIND_WORDS_ASCII
    for rx, kind in table:
        if (allowed is None or kind in allowed) and rx.search(text):
            return kind
    return None


def kinds_for(title: str, description: str | None, kind_text: str | None,
              known: Iterable[str] = (), has_cfp: bool = False, *, online: bool = False,
              hybrid: bool = False, group: str | None = None) -> list[str]:
    """Kinds from (in order) what the source states, the title, the group it comes from, a generic
    source type, the description; an online session that is none of these is a webinar."""
    kinds = [k for k in known if k in C.KINDS]
    generic = None
    if not kinds and kind_text:
        stated = next((k for rx, k in _KIND_TEXT_RE if rx.search(kind_text)), None)
        if _GENERIC_KIND_TEXT.match(kind_text.strip()):
            generic = stated
        elif stated is not None:
            kinds.append(stated)
    if not kinds:
        kind = _first_kind(title)
        if kind is None and group:
            kind = C.MEETUP
        if kind is None and generic is None:
            kind = _first_kind((description or "")[:600], _DESCRIPTION_KINDS)
        kind = kind or generic
        if kind:
            kinds.append(kind)
    if online and not hybrid and (not kinds or kinds[0] in (C.MEETUP, C.NETWORKING, C.OTHER)):
        kinds = [C.WEBINAR]
    if has_cfp and C.CALL_FOR_SPEAKERS not in kinds and C.AWARD not in kinds:
        kinds.append(C.CALL_FOR_SPEAKERS)
    if not kinds:
        kinds.append(C.OTHER)
    return list(dict.fromkeys(kinds))


def goals_for(kinds: Iterable[str]) -> list[str]:
    goals: list[str] = []
    for kind in kinds:
        goals.extend(C.GOALS_BY_KIND.get(kind, ()))
    return [g for g in C.GOALS if g in goals]


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _strip_combining(run: re.Match[str]) -> str:
    return "".join(ch for ch in run.group() if not unicodedata.combining(ch))


def _fold(text: str) -> str:
    """Lower case without accents: "Café" -> "cafe"."""
    text = text.lower()
    if text.isascii():    # most text: nothing to decompose
        return text
    # combining marks are never ASCII: only the non-ASCII runs are looked at one by one
    return _NON_ASCII.sub(_strip_combining, unicodedata.normalize("NFKD", text))


_TOKEN = re.compile(r"[\w-]+")
_SEPARATORS = str.maketrans({c: " " for c in map(chr, range(128)) if not (c.isalnum() or c in "_-")})


def _tokens(text: str) -> set[str]:
    """The _TOKEN matches of text: in ASCII text, the runs between other characters (four times
    faster than the regex, which looks up each character's Unicode category)."""
    if text.isascii():
        return set(text.translate(_SEPARATORS).split())
    return set(_TOKEN.findall(text))


_AT_START = (0,)   # the offsets of a token that begins its words (most do)


@dataclass
class _Words:
    """One industry's words: their regex, where the first token of each word begins in the word
    (None when a word has no token: then the regex reads the whole text), and the words that are
    one token."""

    slug: str
    pattern: str
    offsets: dict[str, tuple[int, ...]] | None
    single: frozenset[str]

    @cached_property
    def rx(self) -> re.Pattern[str]:
        """Compiled on first use (the taxonomy's regexes take 30 ms, most texts need a few)."""
        return re.compile(self.pattern)

    def found(self, text: str, firsts: list[str], want: int) -> bool:
        """Whether ``rx.finditer(text)`` yields at least ``want`` matches, given the first tokens
        of the words that are tokens of the text. A match starts where a first token of a word
        does (a match is bounded by non-word characters, so that token is a token of the text):
        the regex is tried at those places only, in order, as finditer would try them, instead
        of at every character of a long description."""
        if self.offsets is None:
            matches = self.rx.finditer(text)
            return all(next(matches, None) is not None for _ in range(want))
        if want == 1 and not self.single.isdisjoint(firsts):
            return True    # a word that is a whole token of the text matches there
        if len(firsts) == 1 and self.offsets[firsts[0]] is _AT_START:
            starts: Iterable[int] = _occurrences(text, firsts[0])   # in order already
        else:
            places: set[int] = set()
            for token in firsts:
                offsets = self.offsets[token]
                places.update(at - offset for at in _occurrences(text, token) for offset in offsets
                              if at >= offset)
            starts = sorted(places)
        count = end = 0
        for start in starts:
            if start >= end and (match := self.rx.match(text, start)) is not None:
                count += 1
                if count == want:
                    return True
                end = match.end()
        return False


def _occurrences(text: str, token: str) -> Iterator[int]:
    at = text.find(token)
    while at >= 0:
        yield at
        at = text.find(token, at + 1)


@dataclass
class _IndustryMatcher:
    """The words of each industry, in slug order, and which industries each first token of a
    word belongs to (a text without any of an industry's first tokens cannot match it)."""

    industries: list[_Words]
    by_first: dict[str, list[int]]

    def candidates(self, tokens: set[str]) -> dict[int, list[str]]:
        """Industry index -> the first tokens of its words found among ``tokens``."""
        found: dict[int, list[str]] = {}
        for token in self.by_first.keys() & tokens:
            for index in self.by_first[token]:
                found.setdefault(index, []).append(token)
        return found


_MATCHERS: dict[int, tuple[Mapping[str, Industry], _IndustryMatcher]] = {}


def _matcher(taxonomy: Mapping[str, Industry]) -> _IndustryMatcher:
    cached = _MATCHERS.get(id(taxonomy))
    if cached is not None and cached[0] is taxonomy:
        return cached[1]
    industries: list[_Words] = []
    by_first: dict[str, list[int]] = {}
    for slug, ind in sorted(taxonomy.items()):
        words = {_fold(w) for w in [*ind.keywords, *ind.synonyms, ind.label] if w.strip()}
        if not words:
            continue
        alts = sorted((re.escape(w) for w in words), key=len, reverse=True)
        pattern = r"(?<![\w-])(" + "|".join(alts) + r")(?![\w-])"
        offsets: dict[str, set[int]] = {}
        for word in words:
            first = _TOKEN.search(word)
            if first is not None:
                offsets.setdefault(first.group(), set()).add(first.start())
        tokenless = any(_TOKEN.search(word) is None for word in words)
        for token in offsets:
            by_first.setdefault(token, []).append(len(industries))
        industries.append(_Words(slug, pattern, None if tokenless else {
            token: _AT_START if at == {0} else tuple(sorted(at)) for token, at in offsets.items()},
            frozenset(word for word in words if _TOKEN.fullmatch(word))))
    matcher = _IndustryMatcher(industries, by_first)
    _MATCHERS[id(taxonomy)] = (taxonomy, matcher)
    return matcher


def industries_for(title: str, description: str | None, tags: Iterable[str],
                   taxonomy: Mapping[str, Industry], hints: Iterable[str] = ()) -> list[str]:
    """Industries whose keywords the title or tags name (two hits in the description also count),
    plus the source's hints and every parent of what was found."""
    head = _fold(" ".join([title, *tags]))
    body = _fold((description or "")[:3000])
    head_tokens, body_tokens = _tokens(head), _tokens(body)
    found = [h for h in hints if h in taxonomy]
    matcher = _matcher(taxonomy)
    in_head, in_body = matcher.candidates(head_tokens), matcher.candidates(body_tokens)
    for index in sorted(in_head.keys() | in_body.keys()):
        words = matcher.industries[index]
        if (index in in_head and words.found(head, in_head[index], 1)) or (
                index in in_body and words.found(body, in_body[index], 2)):
            found.append(words.slug)
    return with_parents(found, taxonomy)


def with_parents(found: Iterable[str], taxonomy: Mapping[str, Industry]) -> list[str]:
    """The industries found, once each in their order, then the parents they imply."""
    result = list(dict.fromkeys(found))
    for slug in list(result):
        parent = taxonomy[slug].parent
        while parent and parent in taxonomy and parent not in result:
            result.append(parent)
            parent = taxonomy[parent].parent
    return result
