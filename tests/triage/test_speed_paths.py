"""The faster paths give exactly what the plain computations they replace gave."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rempart.triage import _intermittent, _noise, _text, _vocab, notes, stats, xor
from rempart.triage.notes import ReferenceNotes

RNG = np.random.default_rng(20261123)


def _striped(n: int, lag: int, random_phases: int) -> np.ndarray:
    """`n` 16-byte blocks: random in the first phases of each `lag`, letters elsewhere."""
    noise = RNG.integers(0, 256, (n, 16), dtype=np.uint8)
    letters = RNG.integers(97, 123, (n, 16), dtype=np.uint8)
    random_rows = (np.arange(n) % lag) < random_phases
    return np.where(random_rows[:, None], noise, letters).astype(np.uint8)


@pytest.mark.parametrize("n", [1, 64, 255, 256, 257, 1000, 4096])
def test_distinct_per_block_counts_like_a_sort(n: int) -> None:
    blocks = RNG.integers(0, 256, (n, 16), dtype=np.uint8)
    blocks[::3] //= 32  # few distinct values in every third block
    expected = 1 + np.count_nonzero(np.diff(np.sort(blocks, axis=1), axis=1), axis=1)
    assert (stats.distinct_per_block(blocks) == expected).all()


def test_nearly_distinct_blocks_are_those_with_15_distinct_values_or_more() -> None:
    blocks = np.tile(np.arange(16, dtype=np.uint8), (600, 1))
    blocks[100:200, 0] = blocks[100:200, 1]  # one repeat: 15 distinct, still nearly distinct
    blocks[200:300, :2] = blocks[200:300, 2:3]  # a value three times: 14 distinct
    blocks[300:400, 0], blocks[300:400, 2] = blocks[300:400, 1], blocks[300:400, 3]  # two pairs
    blocks[400:] = RNG.integers(0, 256, (200, 16), dtype=np.uint8)
    expected = 1 + np.count_nonzero(np.diff(np.sort(blocks, axis=1), axis=1), axis=1) >= 15
    assert (_intermittent._nearly_distinct(blocks) == expected).all()
    assert expected[:200].all() and not expected[200:400].any()


@pytest.mark.parametrize("n", [64, 95, 96, 97, 300, 511, 512, 1000])
@pytest.mark.parametrize("lag", _intermittent.COMMON_LAGS)
def test_the_shared_histogram_finds_the_periods_each_lag_finds(n: int, lag: int) -> None:
    blocks = _striped(n, lag, max(1, lag // 3))
    one_by_one = [
        g for g in _intermittent.COMMON_LAGS if _intermittent._random_phases(blocks, g) is not None
    ]
    assert list(_intermittent._common_lags(blocks)) == one_by_one


def test_the_shared_histogram_on_plain_and_random_blocks_finds_nothing() -> None:
    assert list(_intermittent._common_lags(_striped(512, 2, 0))) == []
    assert list(_intermittent._common_lags(RNG.integers(0, 256, (512, 16), dtype=np.uint8))) == []


@pytest.mark.parametrize("period", [1, 3, 16, 64])
def test_walsh_text_scores_match_the_weight_table(period: int) -> None:
    counts = RNG.integers(0, 60, (period, 256))
    counts[0, :] = 0  # an empty column: every key scores the same
    table = counts.astype(np.float64) @ xor._TEXTISH
    scores = xor._walsh(xor._walsh(counts) * xor._WEIGHTS_WALSH)
    assert np.allclose(scores, table * 20 * 256)
    assert (scores[1:].argmax(axis=1) == table[1:].argmax(axis=1)).all()


@pytest.mark.parametrize("chunks", [1, 7, 8192])
def test_control_bytes_per_chunk_match_a_lookup(chunks: int) -> None:
    data = RNG.integers(0, 256, chunks * _noise.CHUNK, dtype=np.uint8)
    data[RNG.random(data.size) < 0.6] = ord("e")
    data[: _noise.CHUNK] = 0x01  # a whole chunk of controls: the largest lane sum
    expected = _noise._CONTROL[data.reshape(-1, _noise.CHUNK)].sum(axis=1)
    assert (_noise._controls(data.tobytes()) == expected).all()


@pytest.mark.parametrize(
    "data",
    [
        "Compte rendu du conseil municipal, séance du 3 mars.\n".encode() * 50,
        b"caf\xe9 cr\xe8me " * 200,  # cp1252, not UTF-8
        b"bell \x07 and nul \x00 and escape \x1b[0m " * 30,
        b"x" * 100 + b"\x01\x02\x03\x04\x05\x06" * 20,  # too many controls: not text
        "déjà vu ".encode() * 20 + "é".encode()[:1],  # a character cut at the end
        b"",
    ],
)
def test_decode_counts_control_characters_like_the_regex(data: bytes) -> None:
    text = _text.decode(data)
    if text is None:
        return
    # The same answer as counting with the regex over the decoded text.
    bad = len(_text._CONTROL.findall(text)) + text.count("\ufffd")
    assert bad <= max(4, len(text) // 20)


def test_decode_refuses_text_full_of_controls() -> None:
    assert _text.decode(b"abc" + b"\x01\x02\x03\x04\x05\x06\x0e" * 10) is None


@pytest.mark.parametrize(
    "word", ["crypt", "ransom", "rançon", "bitcoin", "monero", ".onion", "verschl"]
)
def test_the_prefilter_words_are_the_prefilter(word: str) -> None:
    assert _vocab.PREFILTER.search(word)
    assert any(w in word for w in _vocab.PREFILTER_WORDS)


def test_the_prefilter_words_cover_every_branch_of_the_regex() -> None:
    for sep in ("", " ", "-"):
        assert _vocab.PREFILTER.search(f"tor{sep}browser")
        assert f"tor{sep}browser" in _vocab.PREFILTER_WORDS
    assert not any(w in "torXbrowser" for w in _vocab.PREFILTER_WORDS)
    branches = _vocab.PREFILTER.pattern.split("|")
    assert len(branches) + 2 == len(_vocab.PREFILTER_WORDS)  # tor[ -]?browser is three


NOTE = (
    "YOUR FILES ARE ENCRYPTED by LockBit. To get the decryptor, pay in bitcoin. "
    "Do not rename files. Your data will be published on our leak site: "
    "http://lockbitapt6vx57t3eeqjofwgcglmutr3a35nygvokja5uuccip4ykyd.onion"
)


def test_a_note_seen_again_gets_the_same_finding_from_the_cache() -> None:
    notes.use_reference_notes(None)
    first = notes.analyse_note(NOTE.encode(), "Restore-My-Files.txt")
    again = notes.analyse_note(NOTE.encode(), "Restore-My-Files.txt")
    assert first is not None and again is first
    assert notes.analyse_note(b"Ordinary minutes of the meeting.", "minutes.txt") is None


def test_the_cache_is_bounded_and_emptied_with_new_reference_notes() -> None:
    notes.use_reference_notes(None)
    for i in range(notes._RECENT_MAX * 2):
        notes.analyse_note(f"memo {i}".encode(), "memo.txt")
    assert len(notes._recent) <= notes._RECENT_MAX
    reference = ReferenceNotes.from_texts([("lockbit", "n.txt", NOTE)])
    notes.use_reference_notes(reference)
    assert not notes._recent
    found = notes.analyse_note(NOTE.encode(), "Restore-My-Files.txt")
    assert found is not None and found.family == "lockbit"
    notes.use_reference_notes(None)


def test_a_long_text_without_a_core_claim_is_not_read_further() -> None:
    # Bitcoin and leaks, but no claim that anything was encrypted or taken: not a note,
    # and too long to be a gang's bare contact card.
    memo = "Our finance team discussed bitcoin prices and the press leak. " * 10
    assert re.search("bitcoin", memo)
    assert notes.analyse_note(memo.encode(), "memo.txt") is None
