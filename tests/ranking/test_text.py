"""Tokenisation shared by events and profiles."""

from __future__ import annotations

from aggregator.ranking.text import parse_phrase, terms, tokens


def test_tokens_fold_accents_stem_and_drop_stopwords() -> None:
    assert tokens("Taller de Verificación de Datos") == ["taller", "verificacion", "dato"]
    assert tokens("Single-Cell Genomics") == ["single", "cell", "genomic"]
    assert tokens("E-Learning for Organizations") == ["elearn", "organis"]
    assert tokens("organisation") == tokens("Organization")
    assert tokens(None) == []


def test_terms_add_bigrams_for_phrases() -> None:
    assert terms("data engineering meetup") == [
        "data", "engineer", "meetup", "data_engineer", "engineer_meetup"]


def test_parse_phrase_reads_weights() -> None:
    phrase = parse_phrase("instructional design^2")
    assert phrase is not None
    assert (phrase.text, phrase.weight, phrase.tokens) == (
        "instructional design", 2.0, ("instructional", "design"))
    assert phrase.keys == ("instructional_design",)
    single = parse_phrase("Kubernetes")
    assert single is not None and (single.weight, single.keys) == (1.0, ("kubernete",))
    assert parse_phrase("the") is None, "a phrase of stopwords only must be dropped"
