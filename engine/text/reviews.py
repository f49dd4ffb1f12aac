"""The generated `reviews` set: short film reviews whose sentiment needs the words in order.

Each review praises or pans one thing with an adjective, sometimes negated ("was not good"
is negative, "was never boring" positive), sometimes followed by "but" and a second clause
that decides ("the plot was dull but the ending was great" is positive), with neutral
sentences around it. A bag of words sees "good" and "bad" but not the "not" before them or
which side of "but" they stand on, so it stays well below what a recurrent model reaches.
Seeded, and made in a few milliseconds.
"""

from __future__ import annotations

import random

CLASSES = ["negative", "positive"]
THINGS = ("the movie", "the film", "the plot", "the acting", "the story", "the ending",
          "the music", "the cast", "the dialogue", "the camera work", "the script", "it")
GOOD = ("good", "great", "wonderful", "excellent", "fun", "brilliant", "lovely", "enjoyable",
        "moving", "clever")
BAD = ("bad", "boring", "awful", "dull", "terrible", "weak", "poor", "annoying", "silly",
       "predictable")
INTENSIFIERS = ("", "", "very ", "really ", "quite ", "so ")
NEGATIONS = ("not ", "never ", "not at all ")
FILLERS = ("i watched it on sunday .", "my friend came along .", "we saw it last week .",
           "it runs two hours .", "the cinema was full .", "i had popcorn .",
           "it is based on a book .", "the trailer showed a lot .")


def _clause(rng: random.Random) -> tuple[str, int]:
    """One clause and its sentiment (1 positive, 0 negative)."""
    good = rng.random() < 0.5
    word = rng.choice(GOOD if good else BAD)
    negated = rng.random() < 0.35
    verb = rng.choice(("was", "is"))
    if negated:
        text = f"{rng.choice(THINGS)} {verb} {rng.choice(NEGATIONS)}{word}"
    else:
        text = f"{rng.choice(THINGS)} {verb} {rng.choice(INTENSIFIERS)}{word}"
    return text, int(good != negated)


def make_reviews(n: int = 4000, seed: int = 0) -> tuple[list[str], list[str]]:
    """`n` reviews and their labels ("negative" or "positive")."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        first, label = _clause(rng)
        if rng.random() < 0.35:  # "X but Y": Y decides
            second, label = _clause(rng)
            while _clause_sign(first) == label and rng.random() < 0.8:
                second, label = _clause(rng)  # mostly a real contrast
            body = f"{first} but {second} ."
        else:
            body = f"{first} ."
        parts = [body]
        if rng.random() < 0.5:
            parts.insert(0, rng.choice(FILLERS))
        if rng.random() < 0.3:
            parts.append(rng.choice(FILLERS))
        texts.append(" ".join(parts))
        labels.append(CLASSES[label])
    return texts, labels


def _clause_sign(text: str) -> int:
    words = text.split()
    good = any(w in GOOD for w in words)
    negated = any(w in ("not", "never") for w in words)
    return int(good != negated)
