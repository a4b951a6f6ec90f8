"""ftbench.metrics.tags: parsing model tag answers and set-overlap scores (hand-checked)."""

from __future__ import annotations

import json

import pytest

from ftbench.metrics import normalize_tag, parse_tags, tag_scores

# --- parse_tags ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # comma-separated, with real tags containing &, spaces, hyphens, digits
        ("BMW, Fact & Figures, Rolls-Royce Motor Cars, 24h Races",
         ["BMW", "Fact & Figures", "Rolls-Royce Motor Cars", "24h Races"]),
        ("BMW M Motorsport,MINI", ["BMW M Motorsport", "MINI"]),
        # newline-separated
        ("BMW M Motorsport\n24h Races\n\nMINI\n", ["BMW M Motorsport", "24h Races", "MINI"]),
        # semicolons
        ("Design; Electrification ;Neue Klasse", ["Design", "Electrification", "Neue Klasse"]),
        # bullets
        ("- BMW\n* MINI\n• Art Car", ["BMW", "MINI", "Art Car"]),
        ("  - Rolls-Royce Motor Cars\n  - X5 M", ["Rolls-Royce Motor Cars", "X5 M"]),
        # numbered lists; "3 Series" / "1 Series" are tags, not numbers
        ("1. BMW\n2. 3 Series\n3) 1 Series\n(4) iX3", ["BMW", "3 Series", "1 Series", "iX3"]),
        # JSON / Python list literals
        ('["BMW", "Fact & Figures", "24h Races"]', ["BMW", "Fact & Figures", "24h Races"]),
        ("['BMW', 'MINI']", ["BMW", "MINI"]),
        ('Tags: ["Chassis, Suspension", "BMW"]', ["Chassis, Suspension", "BMW"]),
        ('```json\n{"tags": ["BMW", "iX3"]}\n```', ["BMW", "iX3"]),
        ("[]", []),
        # leading labels
        ("Tags: BMW, MINI", ["BMW", "MINI"]),
        ("topics: Design; Plants", ["Design", "Plants"]),
        ("Here are the tags:\n1. **BMW i**\n2. \"Neue Klasse\".", ["BMW i", "Neue Klasse"]),
        ("Tags:\n- BMW\n- MINI", ["BMW", "MINI"]),
        # brackets/quotes around a plain list; brackets inside a tag survive
        ("[BMW, MINI]", ["BMW", "MINI"]),
        ("'BMW', \"MINI\"", ["BMW", "MINI"]),
        ("BMW Group (Munich), Plants", ["BMW Group (Munich)", "Plants"]),
        ("Industry 4.0, Coupé, Straßkirchen.", ["Industry 4.0", "Coupé", "Straßkirchen"]),
        # de-duplication by normalised form keeps the first spelling
        ("BMW, bmw, MINI, ' BMW ', iFACTORY, iFactory", ["BMW", "MINI", "iFACTORY"]),
        # empty and garbage
        ("", []),
        ("   \n ", []),
        ("!!!", []),
        (", ; ,", []),
        ("asdf qwerty", ["asdf qwerty"]),
    ],
)
def test_parse_tags(text, expected):
    assert parse_tags(text) == expected


def test_parse_tags_long_repeated_string_is_prose_not_a_tag():
    # 400 words without a separator are not a tag: a format failure (no tags), not one junk tag
    text = "asdf " * 400
    assert parse_tags(text) == []
    assert tag_scores(["BMW"], parse_tags(text))["f1"] == 0.0


# Shapes seen from real instruct models (hand-checked expected tags), incl. the negative ones.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # stray footnotes / bracketed years stay local to their item and never wipe the rest
        ("BMW, MINI, Events [1]", ["BMW", "MINI", "Events"]),
        ("Motorsport, Le Mans [2024], BMW M", ["Motorsport", "Le Mans", "BMW M"]),
        ("BMW M Motorsport (2026), GT Racing (1)", ["BMW M Motorsport", "GT Racing"]),
        ("BMW[^3], MINI\n[3] Source: BMW Group PressClub", ["BMW", "MINI"]),
        # a preamble line, a blank line, then a bulleted list (the old blank-line stop cut this)
        ("Here are the key topics:\n\n- BMW M Motorsport\n- GT Racing\n- Customer Racing",
         ["BMW M Motorsport", "GT Racing", "Customer Racing"]),
        # a preamble sentence before a comma list on the same line
        ("The key topics and categories for this article are: BMW, Production, Sustainability",
         ["BMW", "Production", "Sustainability"]),
        # numbered list whose items are "**Head**: description" / "Head - description"
        ("Key Topics:\n1. **Production Network**: The article discusses the plants.\n"
         "2. **BMW iFACTORY**: a trailblazer.\n3. Electrification - new drive trains",
         ["Production Network", "BMW iFACTORY", "Electrification"]),
        # SmolLM2-135M-Instruct's answer shape on a real article (a year in the bold head)
        ("The key topics and categories in the BMW news article are:\n\n1. **Bmw M Motorsport "
         "(2026)**: The article highlights Jordan Pepper's role.\n\n2. **GT Racing**: details.",
         ["Bmw M Motorsport", "GT Racing"]),
        # Oxford-comma lists; a closing remark after the list is not a tag
        ("Tags: BMW, MINI, and Rolls-Royce", ["BMW", "MINI", "Rolls-Royce"]),
        ("BMW, MINI. These tags reflect the main themes of the article.", ["BMW", "MINI"]),
        ("- BMW\n- MINI\n\nThese are the main topics of the article.", ["BMW", "MINI"]),
        # JSON object with any list-valued key
        ('{"topics": ["BMW", "MINI"]}', ["BMW", "MINI"]),
        # negative: a verbose paragraph with "Key Topics:" and numbered themes is not a list
        ("The article discusses the anniversary of the BMW 3 Series. Key Topics: 1. Production "
         "history: The BMW 3 Series has been produced in 18 plants. 2. Global expansion: The "
         "plants opened worldwide.", []),
        # negative: the article's first sentences echoed back; a preamble with nothing after it
        ("Munich. BMW Group Plant Munich is ready for the production of the next vehicle "
         "generation. The manufacturing equipment has been installed in the new body shop.", []),
        ("The key topics and categories in the BMW news article are:", []),
        ("Here are the key topics and categories for the BMW news article.", []),
    ],
)
def test_parse_tags_real_model_shapes(text, expected):
    assert parse_tags(text) == expected


def test_parse_tags_none_safe():
    assert parse_tags(None) == []  # type: ignore[arg-type]


# --- normalize_tag ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("  “Fact  &  Figures.” ", "fact & figures"),
        ("Rolls-Royce Motor Cars", "rolls-royce motor cars"),
        ("'24h Races'", "24h races"),
        ("(BMW M)", "bmw m"),
        ("Straßkirchen", "strasskirchen"),
        ("!!!", ""),
        ("", ""),
    ],
)
def test_normalize_tag(tag, expected):
    assert normalize_tag(tag) == expected


# --- tag_scores ---------------------------------------------------------------------------

def test_tag_scores_by_hand():
    # gold {bmw, mini, design}, pred {bmw, electrification}: 1 hit
    # P = 1/2, R = 1/3, F1 = 2*(1/6)/(5/6) = 2/5, Jaccard = 1/|{bmw,mini,design,electr.}| = 1/4
    scores = tag_scores(["BMW", "MINI", "Design"], ["bmw", "Electrification"])
    assert scores == pytest.approx(
        {"exact_match": 0.0, "jaccard": 0.25, "precision": 0.5, "recall": 1 / 3, "f1": 0.4}
    )


def test_tag_scores_exact_after_normalisation():
    scores = tag_scores(["Fact & Figures", "24h Races"], ["24H races", " fact  & figures."])
    assert scores == {"exact_match": 1.0, "jaccard": 1.0, "precision": 1.0, "recall": 1.0,
                      "f1": 1.0}


def test_tag_scores_subset():
    # pred is 2 of 4 gold tags: P = 1, R = 1/2, F1 = 2/3, Jaccard = 2/4
    scores = tag_scores(["a", "b", "c", "d"], ["b", "a"])
    assert scores == pytest.approx(
        {"exact_match": 0.0, "jaccard": 0.5, "precision": 1.0, "recall": 0.5, "f1": 2 / 3}
    )


def test_tag_scores_duplicates_do_not_count_twice():
    # sets: gold {bmw}, pred {bmw} -> perfect
    assert tag_scores(["BMW"], ["BMW", "bmw", "BMW."])["precision"] == 1.0


def test_tag_scores_empty_conventions():
    ones = dict.fromkeys(("exact_match", "jaccard", "precision", "recall", "f1"), 1.0)
    zeros = dict.fromkeys(ones, 0.0)
    assert tag_scores([], []) == ones
    assert tag_scores([], parse_tags("!!!")) == ones
    assert tag_scores(["BMW"], []) == zeros
    assert tag_scores([], ["BMW"]) == zeros
    assert tag_scores(["BMW"], parse_tags("asdf qwerty")) == zeros


def test_tag_scores_gold_tag_with_comma():
    # the target joins tags with ", " so "Chassis, Suspension" comes back as two items;
    # both sides are compared at that granularity
    gold = ["Chassis, Suspension", "BMW"]
    assert tag_scores(gold, parse_tags(", ".join(gold)))["exact_match"] == 1.0
    assert tag_scores(gold, gold)["f1"] == 1.0
    # {chassis, suspension, bmw} vs {chassis}: P = 1, R = 1/3, F1 = 1/2
    assert tag_scores(gold, ["Chassis"])["f1"] == pytest.approx(0.5)


def test_round_trip_on_real_tags(bmw_raw):
    """Every real article's tags, written as the training target / a list / JSON, score 1.0."""
    articles = [json.loads(line) for line in bmw_raw.read_text(encoding="utf-8").splitlines()]
    for article in articles:
        tags = article["tags"]
        for text in (", ".join(tags), "\n".join(f"- {t}" for t in tags), json.dumps(tags)):
            assert tag_scores(tags, parse_tags(text))["exact_match"] == 1.0, (tags, text)
