"""Tokenizers: what they make of text, their special tokens, and tokenizer.json."""

from __future__ import annotations

import pytest

from torchloom.engine.errors import DataError
from torchloom.engine.text.tokenizers import (PAD, UNK, TokenizerSpec, fit_tokenizer,
                                              load_tokenizer)

TEXTS = ["The film was not good.", "The plot was great, really great!", "It was dull."]


def test_char_tokenizer_has_one_token_per_character_seen_and_round_trips():
    tok = fit_tokenizer(TokenizerSpec("char"), ["abcab", "ba c"], padded=False,
                        corpus_text="abcab ba c")
    assert tok.vocab == [" ", "a", "b", "c"] and tok.specials == ()
    assert tok.decode(tok.encode("cab a")) == "cab a"


def test_char_corpus_gets_unknown_only_when_the_rest_holds_new_characters():
    tok = fit_tokenizer(TokenizerSpec("char"), ["abab"], padded=False, corpus_text="ababz")
    assert tok.specials == (UNK,) and tok.encode("az").tolist() == [1, tok.unk_id]


def test_word_tokenizer_keeps_the_most_frequent_words_and_maps_the_rest_to_unknown():
    tok = fit_tokenizer(TokenizerSpec("word", vocab_size=6, lowercase=True), TEXTS,
                        padded=True)
    assert tok.vocab[:2] == [PAD, UNK] and tok.pad_id == 0 and tok.unk_id == 1
    assert tok.vocab_size == 6
    ids = tok.encode("THE film was great")
    assert tok.tokens(ids)[0] == "the" and tok.unk_id in ids.tolist()


def test_padding_and_truncation_to_max_len():
    tok = fit_tokenizer(TokenizerSpec("word", max_len=4, lowercase=True), TEXTS, padded=True)
    x, lengths = tok.encode_batch(["it was dull .", "the plot was great , really great !",
                                   "dull"])
    assert x.shape == (3, 4)
    assert x[2].tolist()[1:] == [0, 0, 0]  # padded with <pad> = 0 at the end
    assert lengths.tolist() == [4, 8, 1]  # before truncation
    assert tok.decode(x[1]) == "the plot was great"


def test_unknown_share_counts_real_tokens_only():
    tok = fit_tokenizer(TokenizerSpec("word", max_len=6), ["a b c"], padded=True)
    x, _ = tok.encode_batch(["a zz", "b c"])
    assert tok.unknown_share(x) == pytest.approx(1 / 4)


def test_bpe_trains_byte_level_and_round_trips_any_text():
    texts = ["the cat sat on the mat"] * 50 + ["dogs and cats"] * 50
    tok = fit_tokenizer(TokenizerSpec("bpe", vocab_size=300), texts, padded=True)
    assert tok.vocab[:2] == [PAD, UNK] and tok.vocab_size <= 300
    unseen = "the mat, ünïcode ☃"
    assert tok.decode(tok.encode(unseen)) == unseen
    assert len(tok.encode("the cat sat")) < len("the cat sat")  # merges learned


@pytest.mark.parametrize("kind", ["char", "word", "bpe"])
def test_tokenizer_json_loads_back_equal(tmp_path, kind):
    spec = TokenizerSpec(kind, vocab_size=280, max_len=7, lowercase=True)
    tok = fit_tokenizer(spec, TEXTS * 5, padded=True)
    tok.save(tmp_path / "tokenizer.json")
    back = load_tokenizer(tmp_path / "tokenizer.json")
    assert back == tok and back.max_len == 7 and back.lowercase
    assert back.encode("The film was great").tolist() == tok.encode("The film was great").tolist()


@pytest.mark.parametrize("raw, where", [
    ({"kind": "word", "vocab_size": 1}, "dataset.tokenizer.vocab_size"),
    ({"max_len": 0}, "dataset.tokenizer.max_len"),
    ({"kind": "sentencepiece"}, "dataset.tokenizer.kind"),
    ({"lowercase": "yes"}, "dataset.tokenizer.lowercase"),
])
def test_bad_tokenizer_settings_name_the_key(raw, where):
    with pytest.raises(DataError) as info:
        TokenizerSpec.parse(raw)
    assert info.value.where == where


def test_a_vocabulary_of_one_is_refused():
    with pytest.raises(DataError, match="at least 2 tokens"):
        fit_tokenizer(TokenizerSpec("char"), ["aaaa"], padded=False, corpus_text="aaaa")


def test_a_damaged_tokenizer_file_names_the_file(tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text('{"format": "something else"}')
    with pytest.raises(DataError) as info:
        load_tokenizer(path)
    assert str(path) in info.value.describe()


@pytest.mark.parametrize("kind", ["char", "word", "bpe"])
def test_padded_text_uses_the_pad_id_the_layers_leave_out(kind):
    """SequencePool and attention skip `TokenPadding.PAD_ID`; every padded tokenizer must
    pad with exactly that id, or padding would be pooled and attended to."""
    from torchloom.engine.layers import TokenPadding

    tok = fit_tokenizer(TokenizerSpec(kind, vocab_size=300, max_len=12), TEXTS, padded=True)
    assert tok.pad_id == TokenPadding.PAD_ID
