"""Entity extraction: tickers, pairs, URLs, mentions, hashtags and signals from chat text."""

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.entities import ENTITY_KEYS, extract_entities

pytestmark = pytest.mark.unit


def entities(**given_keys) -> dict:
    """The expected result: every key empty unless given."""
    empty = {"tickers": [], "pairs": [], "urls": [], "mentions": [], "hashtags": [], "signal": None}
    return empty | given_keys


def signal(side, symbol=None, entry=None, targets=(), stop=None, leverage=None) -> dict:
    return {
        "side": side,
        "symbol": symbol,
        "entry": entry,
        "targets": list(targets),
        "stop": stop,
        "leverage": leverage,
    }


# --- the contract shape ---------------------------------------------------------------------------


def test_entity_keys_are_the_six_contract_keys_in_result_order():
    assert ENTITY_KEYS == ("tickers", "pairs", "urls", "mentions", "hashtags", "signal")
    assert tuple(extract_entities("gm $BTC")) == ENTITY_KEYS


def test_empty_text_has_every_key_and_nothing_in_it():
    assert extract_entities("") == entities()


def test_whitespace_only_text_has_nothing_in_it():
    assert extract_entities(" \n\t ") == entities()


# --- the signal formats seen in the data ----------------------------------------------------------

SIGNAL_FORMATS = [
    pytest.param(
        "$BTC LONG 🚀\nEntry: 64,200 - 64,800\nTargets: 65,500 / 66,800 / 68,000\n"
        "Stop loss: 62,900\nLeverage: 10x",
        entities(
            tickers=["BTC"],
            signal=signal(
                "long",
                "BTC",
                entry=[64200.0, 64800.0],
                targets=[65500.0, 66800.0, 68000.0],
                stop=62900.0,
                leverage=10.0,
            ),
        ),
        id="cashtag-multiline-thousands-leverage",
    ),
    pytest.param(
        "#ETH/USDT SHORT\nEntry zone 3120-3150\nTP1 3050 TP2 2980 TP3 2900\nSL 3210",
        entities(
            tickers=["ETH", "USDT"],
            pairs=["ETH/USDT"],
            hashtags=["ETH"],
            signal=signal(
                "short",
                "ETH/USDT",
                entry=[3120.0, 3150.0],
                targets=[3050.0, 2980.0, 2900.0],
                stop=3210.0,
            ),
        ),
        id="hashtag-pair-tp-labels",
    ),
    pytest.param(
        "Buy SOL/USDT at 142.5, target 150, stop 138",
        entities(
            tickers=["SOL", "USDT"],
            pairs=["SOL/USDT"],
            signal=signal("long", "SOL/USDT", entry=[142.5, 142.5], targets=[150.0], stop=138.0),
        ),
        id="one-line-buy-at",
    ),
    pytest.param(
        "Лонг $TON вход 5.20-5.35, цели 5.60/5.90, стоп 4.95",
        entities(
            tickers=["TON"],
            signal=signal("long", "TON", entry=[5.2, 5.35], targets=[5.6, 5.9], stop=4.95),
        ),
        id="russian",
    ),
    # Layouts the dataset generator also writes (data/make_dataset.py).
    pytest.param(
        "🔥 #SOL — ШОРТ\nВход: 97.94–98.67\nЦели: 95.04 / 91.77 / 88.50\nСтоп: 101.2\nПлечо: 50x",
        entities(
            hashtags=["SOL"],
            signal=signal(
                "short",
                "SOL",
                entry=[97.94, 98.67],
                targets=[95.04, 91.77, 88.5],
                stop=101.2,
                leverage=50.0,
            ),
        ),
        id="russian-multiline-hashtag-symbol",
    ),
    pytest.param(
        "📊 SIGNAL | $PEPE | LONG\nEntry | 0.00000112 - 0.00000114\n"
        "TP | 0.00000115 | 0.00000117 | 0.00000119\nSL | 0.00000111",
        entities(
            tickers=["PEPE"],
            signal=signal(
                "long",
                "PEPE",
                entry=[0.00000112, 0.00000114],
                targets=[0.00000115, 0.00000117, 0.00000119],
                stop=0.00000111,
            ),
        ),
        id="pipe-table",
    ),
    pytest.param(
        'Spot buy $INJ 34.22-34.60 "low risk", targets 35.67, 36.93, 38.19 | '
        "SL daily close below 32.43\n#ETF",
        entities(
            tickers=["INJ"],
            hashtags=["ETF"],
            signal=signal(
                "long",
                "INJ",
                entry=[34.22, 34.6],
                targets=[35.67, 36.93, 38.19],
                stop=32.43,
            ),
        ),
        id="entry-right-after-side-and-stop-below",
    ),
]


@pytest.mark.parametrize(("text", "expected"), SIGNAL_FORMATS)
def test_each_signal_format_in_the_data_parses_to_the_exact_entities(text, expected):
    assert extract_entities(text) == expected


@pytest.mark.parametrize(("text", "expected"), SIGNAL_FORMATS)
def test_signal_results_survive_strict_json(text, expected):
    result = extract_entities(text)
    assert json.loads(json.dumps(result, allow_nan=False)) == expected


# --- chatter --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gm", entities()),
        ("anyone watching $DOGE?", entities(tickers=["DOGE"])),
        ("@whale_alert said ...", entities(mentions=["whale_alert"])),
        (
            "https://www.tradingview.com/x/AbC123/",
            entities(urls=["https://www.tradingview.com/x/AbC123/"]),
        ),
        ("https://t.me/somechannel/123", entities(urls=["https://t.me/somechannel/123"])),
        ("#altseason is here", entities(hashtags=["altseason"])),
        ("email me at bob@example.com", entities()),
        ("up 5% since 12/05", entities()),
        ("I paid $100 for it", entities()),
    ],
)
def test_chatter_in_the_data_yields_exactly_its_entities(text, expected):
    assert extract_entities(text) == expected


# --- tickers and pairs ----------------------------------------------------------------------------


def test_cashtags_are_upper_cased_without_the_dollar():
    assert extract_entities("$eth and $Sol and $BTC")["tickers"] == ["ETH", "SOL", "BTC"]


@pytest.mark.parametrize("text", ["I paid $100 for it", "now $5.20", "$5k gone", "US$BTC", "$$"])
def test_dollar_amounts_and_glued_dollars_are_not_tickers(text):
    assert extract_entities(text)["tickers"] == []


@pytest.mark.parametrize(
    ("text", "pair"),
    [
        ("BTC/USDT", "BTC/USDT"),
        ("btc/usdt looks good", "BTC/USDT"),
        ("#ETH/USDT", "ETH/USDT"),
        ("$BTC/USDT", "BTC/USDT"),
        ("ETH/BTC ratio", "ETH/BTC"),
        ("USD/JPY", "USD/JPY"),
        ("1INCH/USDT", "1INCH/USDT"),
    ],
)
def test_slash_pairs_are_normalised_to_upper_base_slash_quote(text, pair):
    assert extract_entities(text)["pairs"] == [pair]


def test_a_pair_adds_its_base_and_quote_to_tickers_in_text_order():
    result = extract_entities("$ARB then BTC/USDT then $arb")
    assert result["tickers"] == ["ARB", "BTC", "USDT"]
    assert result["pairs"] == ["BTC/USDT"]


@pytest.mark.parametrize(
    ("text", "pair"),
    [
        ("BTCUSDT pumping", "BTC/USDT"),
        ("#ETHBTC", "ETH/BTC"),
        ("BTCBUSD", "BTC/BUSD"),
        ("SOLEUR", "SOL/EUR"),
        ("chart BTCUSDT.P", "BTC/USDT"),
        ("$btcusdt", "BTC/USDT"),
    ],
)
def test_concatenated_symbols_split_on_a_known_quote_asset(text, pair):
    assert extract_entities(text)["pairs"] == [pair]


@pytest.mark.parametrize(
    "text",
    [
        "BTCXYZ",  # unknown quote
        "AUSDT",  # one-letter base
        "STETH",  # an asset that ends in ETH
        "FDUSD",  # a stablecoin that ends in USD
        "btcusdt",  # lower-case words are not symbols ("amateur" would split)
        "ABCDEFGHIJKUSDT",  # base longer than ten letters
    ],
)
def test_concatenated_symbols_without_a_clean_split_are_not_pairs(text):
    assert extract_entities(text)["pairs"] == []


@pytest.mark.parametrize(
    "text",
    [
        "up 5% since 12/05",
        "24/7 trading",
        "see tradingview.com/x/BTC/USDT",
        "foo/BTC/USDT/bar",
        "and/or",
        "TP/SL",
        "long/short",
        "TP1/TP2",
        "buy/sell",
        "his/her",
    ],
)
def test_dates_paths_and_slashed_words_are_not_pairs(text):
    assert extract_entities(text)["pairs"] == []


# --- URLs, mentions, hashtags ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("see https://example.com/a.", "https://example.com/a"),
        ("wow https://example.com/a!", "https://example.com/a"),
        ("really https://example.com/a?", "https://example.com/a"),
        ("(chart: https://example.com/a)", "https://example.com/a"),
        ("https://example.com/a, https://x.org", "https://example.com/a"),
        ("https://en.wikipedia.org/wiki/Bitcoin_(currency)", None),
        ("HTTP://EXAMPLE.COM/A", "HTTP://EXAMPLE.COM/A"),
        ("HttpS://Example.com/A", "HttpS://Example.com/A"),  # found lower-cased, read as written
        ("T.Me/Channel/1", "T.Me/Channel/1"),
        ("Telegram.ME/Channel", "Telegram.ME/Channel"),
        ("httpſ://example.com", "httpſ://example.com"),  # "ſ" is an "s" to IGNORECASE, kept so
    ],
)
def test_urls_lose_trailing_punctuation_but_keep_balanced_parentheses(text, url):
    urls = extract_entities(text)["urls"]
    assert urls[0] == (url or text)


def test_bare_t_me_links_are_urls():
    assert extract_entities("join t.me/somechannel/123, now")["urls"] == ["t.me/somechannel/123"]


def test_the_inside_of_a_url_yields_no_pair_mention_hashtag_or_ticker():
    text = "https://medium.com/@someauthor/btc/usdt-$ETH#section"
    assert extract_entities(text) == entities(urls=[text])


@pytest.mark.parametrize("text", ["xhttps://a.com", "1t.me/a", "a.t.me/b", "mytelegram.me/a"])
def test_a_url_scheme_or_t_me_inside_a_word_is_no_url(text):
    assert extract_entities(text)["urls"] == []


def test_a_side_word_or_level_inside_a_url_makes_no_signal():
    # The URL is blanked in the lower-cased copy the signal is read from, not only in the text.
    assert extract_entities("https://x.com/LONG/entry/100 tp 120")["signal"] is None
    call = extract_entities("https://x.com/LONG/entry/100 sell tp 90")["signal"]
    assert (call["side"], call["entry"], call["targets"]) == ("short", [90.0, 90.0], [90.0])


def test_urls_are_deduplicated_in_first_seen_order():
    text = "https://b.com https://a.com https://b.com."
    assert extract_entities(text)["urls"] == ["https://b.com", "https://a.com"]


@pytest.mark.parametrize(
    "text",
    ["email me at bob@example.com", "bob.smith@mail.example.org", "@abcd is short", "@1twothree"],
)
def test_emails_and_invalid_usernames_are_not_mentions(text):
    assert extract_entities(text)["mentions"] == []


def test_mentions_are_telegram_usernames_of_5_to_32_characters():
    text = "@abcde @" + "a" * 32 + " @" + "b" * 33 + " @with_under_score, (@paren_user)"
    assert extract_entities(text)["mentions"] == [
        "abcde",
        "a" * 32,
        "with_under_score",
        "paren_user",
    ]


def test_hashtags_take_unicode_letters_and_skip_bare_numbers():
    text = "#биткоин #altseason #BTC2024 my #1 pick #тест_1"
    assert extract_entities(text)["hashtags"] == ["биткоин", "altseason", "BTC2024", "тест_1"]


def test_a_hashtag_pair_yields_the_hashtag_base_and_the_pair():
    result = extract_entities("#ETH/USDT")
    assert (result["hashtags"], result["pairs"]) == (["ETH"], ["ETH/USDT"])


def test_html_entities_and_language_names_are_not_hashtags():
    assert extract_entities("it&#39;s C# time")["hashtags"] == []


def test_lists_are_deduplicated_keeping_first_seen_order():
    text = "$SOL $BTC $sol @trader_one @trader_two @trader_one #b #a #b"
    result = extract_entities(text)
    assert result["tickers"] == ["SOL", "BTC"]
    assert result["mentions"] == ["trader_one", "trader_two"]
    assert result["hashtags"] == ["b", "a"]


def test_emoji_and_cyrillic_around_entities_do_not_get_in_the_way():
    text = "🚀🚀$PEPE🌕 к луне!!! #мемкоин 🐸 @frog_master💚 https://t.me/frogs🔥"
    assert extract_entities(text) == entities(
        tickers=["PEPE"],
        urls=["https://t.me/frogs🔥"],
        mentions=["frog_master"],
        hashtags=["мемкоин"],
    )


# --- signals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "side"),
    [
        ("long", "long"),
        ("LONG", "long"),
        ("Buy", "long"),
        ("лонг", "long"),
        ("ЛОНГ", "long"),
        ("покупка", "long"),
        ("short", "short"),
        ("Sell", "short"),
        ("шорт", "short"),
        ("продажа", "short"),
    ],
)
def test_side_words_in_english_and_russian_map_to_long_or_short(word, side):
    assert extract_entities(f"{word} $BTC stop 100")["signal"]["side"] == side


@pytest.mark.parametrize(
    "text",
    [
        "longer term, stop 100",
        "shortage of coins, stop 100",
        "selling pressure, stop 100",
        "long-term holders, stop 100",
        "buyer beware, stop 100",
    ],
)
def test_side_words_need_word_boundaries(text):
    assert extract_entities(text)["signal"] is None


def test_a_side_without_entry_targets_or_stop_is_no_signal():
    assert extract_entities("buy the dip, $BTC to 100k")["signal"] is None


def test_levels_without_a_side_are_no_signal():
    assert extract_entities("$BTC entry 100 target 110 stop 90")["signal"] is None


def test_a_single_entry_price_is_a_degenerate_range():
    assert extract_entities("long $BTC entry 64000")["signal"]["entry"] == [64000.0, 64000.0]


def test_an_entry_range_is_low_then_high_whatever_the_written_order():
    assert extract_entities("short $ETH entry 3150 - 3120")["signal"]["entry"] == [3120.0, 3150.0]


def test_targets_or_stop_alone_make_a_signal_with_no_entry():
    assert extract_entities("SHORT $ETH\nTargets: 3000, 2900") == entities(
        tickers=["ETH"], signal=signal("short", "ETH", targets=[3000.0, 2900.0])
    )


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("long $X entry 64,200", [64200.0, 64200.0]),
        ("long $X entry 1,234,567.5", [1234567.5, 1234567.5]),
        ("long $X entry 0.00001234", [0.00001234, 0.00001234]),
        ("long $X entry 65.5k - 66k", [65500.0, 66000.0]),
        ("long $X вход 4,95", [4.95, 4.95]),
        ("long $X entry $3,100", [3100.0, 3100.0]),
        ("long $X entry 100 to 110", [100.0, 110.0]),
        ("long $X entry: 5.20–5.35", [5.2, 5.35]),
        ("long $X buy zone 100-110", [100.0, 110.0]),
    ],
)
def test_prices_take_thousands_separators_decimals_k_and_ranges(text, entry):
    assert extract_entities(text)["signal"]["entry"] == entry


@pytest.mark.parametrize(
    ("text", "targets"),
    [
        ("long $X targets: 1 / 2 / 3", [1.0, 2.0, 3.0]),
        ("long $X targets 1, 2, 3", [1.0, 2.0, 3.0]),
        ("long $X targets 1 2 3", [1.0, 2.0, 3.0]),
        ("long $X TP1 1 TP2 2 TP3 3", [1.0, 2.0, 3.0]),
        ("long $X TP1: 1\nTP2: 2", [1.0, 2.0]),
        ("long $X Target 1: 10\nTarget 2: 20", [10.0, 20.0]),
        ("long $X Targets:\n1) 10\n2) 20\n3) 30", [10.0, 20.0, 30.0]),
        ("long $X take profit 10", [10.0]),
        ("long $X 🎯 10 / 20", [10.0, 20.0]),
        ("лонг $X цели 5.60/5.90", [5.6, 5.9]),
        ("лонг $X цель 5.6", [5.6]),
        ("лонг $X тейк 5.6", [5.6]),
    ],
)
def test_targets_keep_their_order_across_separators_and_labels(text, targets):
    assert extract_entities(text)["signal"]["targets"] == targets


@pytest.mark.parametrize(
    "text",
    [
        "short $X stop loss: 62,900",
        "short $X Stop-loss 62900",
        "short $X SL 62900",
        "short $X sl: 62900",
        "short $X стоп 62900",
        "short $X стоп-лосс 62900",
        "short $X 🛑 62900",
    ],
)
def test_stop_labels_in_english_and_russian(text):
    assert extract_entities(text)["signal"]["stop"] == 62900.0


@pytest.mark.parametrize(
    ("text", "leverage"),
    [
        ("long $X sl 1 Leverage: 10x", 10.0),
        ("long $X sl 1 leverage x20", 20.0),
        ("long $X sl 1 10x", 10.0),
        ("long $X sl 1 x25", 25.0),
        ("long $X sl 1 cross 50X", 50.0),
        ("long $X sl 1 плечо 10", 10.0),
        ("long $X sl 1 плечо х5", 5.0),  # Cyrillic х
        ("long $X sl 1", None),
        ("long $X sl 1 box10", None),
        ("long $X sl 1 max 5x", 5.0),  # the first "x" touches no digit, the second does
        ("long $X sl 1 10х", 10.0),  # Cyrillic х after the number
        ("long $X sl 1 x 10", None),
        ("long $X sl 1 ex10x", None),
        ("long $X sl 1\nshort $Y sl 2 10x", None),  # in the next call's scope only
    ],
)
def test_leverage_forms(text, leverage):
    assert extract_entities(text)["signal"]["leverage"] == leverage


def test_a_time_or_leverage_after_a_label_is_not_a_price():
    result = extract_entities("long $X entry 2pm, stop 10x")
    assert result["signal"] is None


@pytest.mark.parametrize(
    ("text", "symbol"),
    [
        ("LONG BTC\nentry 100", "BTC"),
        ("ETH SHORT\nentry 100", "ETH"),
        ("long now, entry 100", None),
        ("LONG NOW, entry 100", None),
        ("$DOGE is dead. short $ETH entry 100", "ETH"),
        ("short $ETH/USDT entry 100", "ETH/USDT"),
        ("$SOL news\n$ETH\nLONG\nentry 100\n$DOGE", "ETH"),  # the nearest heading before
        ("LONG\nentry 100\n$DOGE", "DOGE"),
        ("🔥 #XRP — LONG entry 1 #moon", "XRP"),  # a symbol-like hashtag
        ("#altseason LONG entry 1", None),  # a lower-case hashtag is no symbol
    ],
)
def test_the_signal_symbol_is_the_pair_or_symbol_nearest_the_side(text, symbol):
    assert extract_entities(text)["signal"]["symbol"] == symbol


def test_a_multi_section_analysis_reads_the_first_plan_only_with_its_own_symbol():
    text = (
        "📊 $APT, таймфрейм 1H\n\nЦена держится около 8.45.\n"
        "| Поддержка 1 | 8.28 |\n| Сопротивление 1 | 8.62 |\n"
        "План: покупки от 8.28, стоп под 7.95, цели 8.62, 9.03.\n\n"
        "📊 $ETH, таймфрейм 1H\n\nЦена держится около 2310.\n"
        "План: покупки от 2260, стоп под 2120, цели 2410, 2500.\n"
    )
    assert extract_entities(text)["signal"] == signal(
        "long", "APT", entry=[8.28, 8.28], targets=[8.62, 9.03], stop=7.95
    )


def test_buy_zone_after_the_side_is_an_entry_label_not_a_second_call():
    text = "LONG $BTC\nBuy zone 100-110\nTargets 120 / 130\nSL 95"
    assert extract_entities(text)["signal"] == signal(
        "long", "BTC", entry=[100.0, 110.0], targets=[120.0, 130.0], stop=95.0
    )


@pytest.mark.parametrize(
    "text",
    [
        'He said "buy the dip", I said "which one?" 😂',
        "Watching 64,000 on $BTC\nIf it holds -> long\nIf not -> wait",
        "$BTC TP2 hit ✅ +12.3% (10x)",
        "Funding is negative on $ETH, shorts crowded. Squeeze incoming? 🤔",
    ],
)
def test_chatter_around_trades_is_no_signal(text):
    assert extract_entities(text)["signal"] is None


def test_a_url_in_a_signal_does_not_become_a_level():
    text = "LONG $BTC https://x.com/tp/100?sl=5 stop 90"
    assert extract_entities(text)["signal"] == signal("long", "BTC", stop=90.0)


def test_an_absurdly_long_number_is_dropped_rather_than_becoming_infinity():
    result = extract_entities("long $X entry " + "9" * 400 + " stop 5")
    assert result["signal"] == signal("long", "X", stop=5.0)
    json.dumps(result, allow_nan=False)


# --- robustness -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Entry " + "1" * 100_000 + "x long",
        "long entry" + " " * 100_000 + "x",
        "long " + "TP1 " * 25_000,
        "long targets " + "1,000 / " * 12_500,
        "buy " + "at " * 33_000,
        "buy " + "@ " * 50_000,
        "long entry " + "1" * 100_000 + ",123",
        "https://a.com/" + ")" * 100_000,
        "a/" * 50_000,
        "$" * 100_000,
        "@" + "a" * 100_000,
        "#" * 100_000,
        "ABCDEFGHIJ" * 10_000,
        "long entry 5 " + "İ" * 50_000,
        "$BTC LONG entry 1 TP1 2 SL 0.5 10x https://t.me/x @someone #tag BTCUSDT " * 1_300,
    ],
    ids=lambda text: f"{text[:12]!r}x{len(text)}",
)
def test_hundred_kilobyte_adversarial_text_finishes_in_linear_time(text):
    # Growth, not a duration: ten times the text costs about ten times the CPU when every
    # pattern is linear, a hundred times when one backtracks. CPU time of this process
    # only, best of three, so a busy machine moves neither figure much.
    result = extract_entities(text)
    assert tuple(result) == ENTITY_KEYS
    json.dumps(result, allow_nan=False)
    small, large = text[: len(text) // 10], text
    growth = _cpu_cost(large) / max(_cpu_cost(small), 1e-4)
    assert growth < 40, f"10x the text cost {growth:.0f}x the CPU: a pattern backtracks"


def _cpu_cost(text: str) -> float:
    costs = []
    for _ in range(3):
        started = time.process_time()
        extract_entities(text)
        costs.append(time.process_time() - started)
    return min(costs)


def test_list_sizes_inside_a_signal_are_bounded():
    result = extract_entities("long $X targets " + "1 / " * 1_000)
    assert len(result["signal"]["targets"]) == 32


def test_a_bounded_list_keeps_the_first_finite_numbers_in_order():
    # An overflowing number is skipped, not counted; the first 32 of the rest are kept.
    text = "long $X targets " + "9" * 400 + " / " + " / ".join(map(str, range(1, 41)))
    assert extract_entities(text)["signal"]["targets"] == [float(n) for n in range(1, 33)]
    assert extract_entities("long $X stop 7 / 8 / 9")["signal"]["stop"] == 7.0


def assert_contract_shape(result: dict) -> None:
    assert tuple(result) == ENTITY_KEYS
    for key in ENTITY_KEYS[:-1]:
        assert isinstance(result[key], list)
        assert all(isinstance(item, str) and item for item in result[key])
        assert len(set(result[key])) == len(result[key])
    found = result["signal"]
    if found is not None:
        assert set(found) == {"side", "symbol", "entry", "targets", "stop", "leverage"}
        assert found["side"] in ("long", "short")
        assert found["entry"] or found["targets"] or found["stop"] is not None
        if found["entry"] is not None:
            low, high = found["entry"]
            assert low <= high
    json.dumps(result, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_arbitrary_text_never_raises_and_keeps_the_contract_shape(text):
    assert_contract_shape(extract_entities(text))


SIGNALISH_TOKENS = [
    "long ", "SHORT ", "лонг ", "шорт ", "Entry: ", "вход ", "TP1 ", "targets ", "цели ",
    "SL ", "стоп ", "Leverage ", "плечо ", "10x", "x10", "$BTC", "#ETH/USDT", "BTCUSDT",
    "64,200", "5.20", "4,95", "65.5k", "9" * 40, " - ", " / ", ", ", "\n", "1) ", "2. ",
    " at ", "@", "https://t.me/x", "🚀", "İ", ")", ".",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(SIGNALISH_TOKENS), max_size=25).map("".join))
def test_signal_shaped_noise_never_raises_and_keeps_the_contract_shape(text):
    assert_contract_shape(extract_entities(text))
