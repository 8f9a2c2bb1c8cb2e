"""Which texts a model that reads only some languages can read (rewardhub/text/language.py)."""

from __future__ import annotations

import pytest

from rewardhub.text.language import identifier_available, language_of, script_language, uncovered

ENGLISH = [
    "The universe and human stupidity.",
    "News & Buzz",  # short and ambiguous: stays covered rather than lose its score to a guess
    "ok",
    "42",
    "",
    "def f(x): return x + 1",
    "Bach wrote the Mass in B minor (巴赫, b小调弥撒).",  # mostly Latin letters
    "Slow-roast the pig over charcoal for eight hours, basting it with the marinade.",
    # alpaca-7b: py3langid calls this Nigerian Pidgin with probability 0.74, under the 0.9 bar
    "1. Thanksgiving in the United States - November 26th \n2. National Parks - November 28th to December 1st"
    "\n3. Holiday markets - November 28th to December 24th\n4. Christmas in the United States - December",
]


def test_english_and_text_without_letters_is_covered():
    assert uncovered(ENGLISH, ["en"]) == [None] * len(ENGLISH)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("巴赫的主要作品包括：勃兰登堡协奏曲、平均律钢琴曲集、马太受难曲。", "zh"),
        ("你这个蠢货，滚开！", "zh"),
        ("こんにちは、元気ですか？今日はいい天気ですね。", "ja"),
        ("안녕하세요, 오늘 날씨가 좋네요.", "ko"),
        ("Привет, как дела? Сегодня хорошая погода.", "ru"),
    ],
)
def test_text_in_another_script_is_not_covered_by_an_english_model(text, language):
    assert script_language(text) == language
    assert uncovered([text], ["en"]) == [language]
    assert uncovered([text], ["en", language]) == [None]


@pytest.mark.skipif(not identifier_available(), reason="py3langid is not installed")
def test_latin_script_languages_are_told_apart_when_the_identifier_is_sure():
    german = "Das ist ein sehr guter Hund, und ich mag ihn wirklich gern."
    spanish = "Hola, ¿cómo estás? Me llamo Juan y vivo en Madrid con mi familia."
    assert uncovered([german, spanish], ["en"]) == ["de", "es"]
    assert language_of("I love this product, it works great.")[0] == "en"


def test_each_text_is_identified_once_for_all_the_rewards_and_metrics_that_ask(monkeypatch):
    from rewardhub.text import language

    seen: list[str] = []
    identify = language._identify
    monkeypatch.setattr(language, "_identify", lambda sample: seen.append(sample) or identify(sample))
    monkeypatch.setattr(language, "_recent", language.RecentMemo())
    texts = ["Bonjour tout le monde, comment allez-vous ce matin ?", "我爱北京天安门", "ok"]
    first = uncovered(texts, ["en"])
    assert uncovered(texts, ["en"]) == first and uncovered(texts, ["zh"]) is not None
    assert seen == texts
