"""Entity extraction for chat messages: tickers, pairs, URLs, mentions, hashtags, trading signals.

Pure and fast: the loader calls :func:`extract_entities` on every row. Every pattern is
compiled once at import and runs in linear time on any input: no nested quantifiers that can
backtrack catastrophically, possessive quantifiers where a run could be re-tried, and numbers
matched anchored after their label instead of searched for.

Speed notes (why the patterns look the way they do): CPython's ``re`` skips quickly to a
candidate only when a pattern starts with a literal or a character set, and not at all under
``re.IGNORECASE`` with cased letters. So the word-boundary look-behind sits *after* the first
character (``\\$(?<![\\w$]\\$)`` rather than ``(?<![\\w$])\\$``), and the signal patterns are
written in lower case and run on a lower-cased copy of the text instead of using IGNORECASE.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["ENTITY_KEYS", "QUOTE_ASSETS", "extract_entities"]

ENTITY_KEYS: tuple[str, ...] = ("tickers", "pairs", "urls", "mentions", "hashtags", "signal")

# Quote assets recognised in concatenated symbols such as BTCUSDT (the product brief's list).
QUOTE_ASSETS: tuple[str, ...] = ("USDT", "USDC", "USD", "BUSD", "BTC", "ETH", "EUR")
# A slash pair such as sol/usdt is accepted in any case when its quote is one of these.
_SLASH_QUOTES = frozenset(
    (*QUOTE_ASSETS, "FDUSD", "TUSD", "DAI", "BNB", "TRY", "GBP", "JPY", "RUB", "SOL", "TON")
)
# Upper-case words that make "X/Y" shapes in chat but are never a market (TP/SL, LONG/SHORT...),
# nor the symbol of a signal ("LONG NOW").
_NOT_SYMBOLS = frozenset(
    {
        "AND", "OR", "ATH", "ATL", "BUY", "CMP", "DCA", "ENTRY", "LONG", "NO", "NOW", "OK",
        "PNL", "ROI", "RR", "SELL", "SHORT", "SL", "STOP", "TP", "TARGET", "TARGETS", "YES",
        "ZONE", "AT", "THE", "SIGNAL", "ALERT", "SPOT", "FUTURES", "CROSS", "ISOLATED",
        "LEVERAGE", "LEV", "IMO", "LOL", "GM", "GN", "WAGMI", "NGMI", "HODL", "FOMO", "FUD",
    }
)  # fmt: skip
# Whole tokens that end in a quote asset but are assets (or words) themselves, never BASE+QUOTE.
_NOT_CONCAT_PAIRS = frozenset(
    {
        "STETH", "WSTETH", "CBETH", "WBETH", "WEETH", "EZETH", "RSETH", "OSETH", "FDUSD",
        "PYUSD", "TEETH", "AMATEUR", "CHAUFFEUR", "CONNOISSEUR", "ENTREPRENEUR",
    }
)  # fmt: skip

# --- patterns on the original text (case matters) -----------------------------------------------

# http(s) URLs and bare t.me links; trailing punctuation is stripped afterwards. Run on the
# lower-cased copy, without IGNORECASE, so that each alternative starts with a literal ('h'
# or 't') that ``re`` skips to: 4.5 times faster than the case-insensitive form, which tried
# every position. "ſ" (long s) is lower case already and IGNORECASE matched it for "s".
_URL = re.compile(
    r"""(?:h(?<!\wh)ttp[sſ]?://|t(?<![\w.@/-]t)(?:elegram)?\.me/)[^\s<>"'`«»]+"""
)
_URL_TRAILING = ".,!?;:"
# $BTC, $eth; never $100 or $5.20 (the symbol starts with a letter) nor US$ or $$.
_CASHTAG = re.compile(r"\$(?<![\w$]\$)([A-Za-z][A-Za-z0-9]{0,9})(?!\w)")
# BTC/USDT, btc/usdt, #ETH/USDT, $BTC/USDT, found from each '/': not 12/05 (the quote starts
# with a letter) and not a path segment (no '/', '.', '-' or word character on either side).
_PAIR_BASE = re.compile(r"[A-Za-z0-9]{2,10}\Z")  # searched in the 10 characters before '/'
_PAIR_QUOTE = re.compile(r"[A-Za-z][A-Za-z0-9]{1,9}(?![\w/])")
# BTCUSDT, #ETHBTC: upper case as written, so words ("amateur") never split. The lazy base
# lets the longest quote win (BTCBUSD is BTC/BUSD, not BTCB/USD).
_CONCAT_PAIR = re.compile(
    r"([A-Z](?<![\w/.$\-].)[A-Z]{1,9}?)(USDT|USDC|BUSD|USD|BTC|ETH|EUR)(?![\w/])"
)
_CONCAT_FULL = re.compile(r"([A-Z]{2,10}?)(USDT|USDC|BUSD|USD|BTC|ETH|EUR)")
# Telegram usernames: 5-32 characters, a letter first; an e-mail's '@' follows a word character.
_MENTION = re.compile(r"@(?<![\w@.]@)([A-Za-z][A-Za-z0-9_]{4,31})(?![\w@])")
# Hashtags: Unicode word characters (#биткоин); not the '#' of '&#39;' or 'C#'.
_HASHTAG = re.compile(r"#(?<![\w#&]#)(\w+)")
# A bare upper-case symbol right after ("LONG BTC") or right before ("BTC LONG") the side word,
# used only when the message has no cashtag or pair.
_SYMBOL_AFTER = re.compile(r"[ \t]+[#$]?([A-Z][A-Z0-9]{1,9})(?![\w/])")
_SYMBOL_BEFORE = re.compile(r"([A-Z][A-Z0-9]{1,9})[ \t]+\Z")
_SYMBOL_HASHTAG = re.compile(r"[A-Z][A-Z0-9]{1,9}")  # "#BTC" can name a signal's symbol

# --- signal patterns, on the lower-cased text -----------------------------------------------------

_B = r"(?<![\w-].)"  # after a word's first letter: the character before that letter is no word
_SIDE = re.compile(
    rf"(?:l{_B}ong|b{_B}uy|s{_B}(?:hort|ell)|л{_B}онг(?:а|у|ом)?|ш{_B}орт(?:а|у|ом)?"
    rf"|п{_B}(?:окупк|родаж)[аеиу])(?![\w-])"
)
_LONG_INITIALS = ("l", "b", "л", "пок")

_W = r"(?<!\w.)"  # the same, but a label may follow a dash bullet ("-Entry: 100")
# Target index glued to the label (TP1) or spaced and closed by ':' or ')' (Target 1: 150).
_INDEX = r"(?:\d{1,2}(?![\d.,])|[ \t]\d{1,2}(?=[ \t]*[:)]))?"
_LABEL = re.compile(
    r"(?:"
    rf"e{_W}ntr(?:y(?:[ \t]+(?:zone|price|range|area|point))?|ies)"
    rf"|b{_W}uy[ \t]+(?:zone|area)|s{_W}ell[ \t]+(?:zone|area)"
    rf"|в{_W}ход(?:[ \t]+в[ \t]+зоне)?|з{_W}она[ \t]+входа|т{_W}очка[ \t]+входа"
    rf"|t{_W}(?:argets?|ake[ \t-]?profits?|p){_INDEX}|ц{_W}ел[ьи]{_INDEX}|т{_W}(?:ейки?|п){_INDEX}"
    rf"|s{_W}(?:top(?:[ \t-]*loss)?|l)|с{_W}топ(?:[ \t-]*лосс)?"
    rf"|l{_W}ev(?:erage)?|к{_W}редитное[ \t]+плечо|п{_W}лечо"
    r"|🎯|🛑"
    r")(?![^\W\d_])"
)
# A label's kind from its first two characters (one for the emoji).
_LABEL_KINDS = {
    **dict.fromkeys(("en", "bu", "se", "вх", "зо", "то"), "entry"),
    **dict.fromkeys(("ta", "tp", "це", "те", "тп", "🎯"), "target"),
    **dict.fromkeys(("st", "sl", "ст", "🛑"), "stop"),
    **dict.fromkeys(("le", "кр", "пл"), "leverage"),
}
# A run of numbers after a label: filler ("entry: ", "sl | ", "entry zone @ ", "sl daily close
# below "), then numbers separated by '-', '/', ',', '|', 'to', 'and' or whitespace, each maybe
# enumerated ("targets:\n1) 65500\n2) 66800"). A number is 64,200 (thousands), 4,95 (decimal
# comma), 142.5 or 65.5k; a word character right after it disqualifies it (10x is leverage, 2pm
# a time).
_FILLER = (
    r"(?:[\s:=>~@$|\-–—]|(?:at|around|near|from|daily|close|below|above|under"
    r"|по|от|ниже|выше|под)(?!\w))*+"
)
_ENUMERATOR = r"\d{1,2}(?:\)|\.(?=\s))\s*+(?=\$?\d)"
_GAP = rf"\s*+(?:(?:[-–—~/,;|•&]|(?:to|and|до|и)(?!\w))\s*+)?(?:{_ENUMERATOR})?"
_DIGITS = r"\d{1,3}(?:,\d{3})++(?:\.\d+)?|\d+,\d{1,2}(?!\d)|\d++(?:\.\d+)?"
_NUM = rf"\$?({_DIGITS})(k)?\$?(?!\w)"  # groups: digits, "k"
_NUM_RUN = rf"\$?(?:{_DIGITS})k?\$?(?!\w)"  # the same number without groups
_MORE_NUMBERS = rf"((?:{_GAP}(?:{_NUM_RUN}))*+)"
# Groups: the first number's digits and "k", then the rest of the run (often empty).
_LIST_AFTER_LABEL = re.compile(rf"{_FILLER}(?:{_ENUMERATOR})?{_NUM}{_MORE_NUMBERS}")
_LIST_HERE = re.compile(rf"{_NUM}{_MORE_NUMBERS}")
# Inside the rest of a run: the numbers (groups: digits, "k"), skipping the enumerators.
_NUMBER_OR_ENUMERATOR = re.compile(rf"{_ENUMERATOR}|{_NUM}")
# The entry price when no entry label says it: right after the side word and its symbol
# ("Spot buy $BTC 64000-64800", "Buy SOL/USDT at 142.5"), else after a later at/@/от.
_ENTRY_AFTER_SIDE = re.compile(
    rf"[ \t]++(?:[$#]?[a-z][a-z0-9]{{0,9}}(?:/[a-z][a-z0-9]{{0,9}})?[ \t]++)?{_FILLER}"
)
_ENTRY_FALLBACK = re.compile(
    rf"(?:a{_W}t|a{_W}round|n{_W}ear|f{_W}rom|п{_W}о|о{_W}т)(?!\w)\s*+|@\s*+"
)
# "Buy zone" after a first side word is an entry label, not a second call.
_ZONE = re.compile(r"[ \t]+(?:zone|area)(?!\w)")
_LEVERAGE_VALUE = re.compile(r"[ \t]*[:=\-]?[ \t]*(?:[xх][ \t]*)?(\d{1,4}(?:\.\d+)?)(?![\d.,])")
_LEVERAGE_SUFFIX = re.compile(r"(\d(?<![\w.,]\d)\d{0,3}(?:\.\d+)?)[xх](?!\w)")  # 10x
_LEVERAGE_PREFIX = re.compile(r"[xх](?<!\w.)(\d{1,4}(?:\.\d+)?)(?![\w.])")  # x10

_MAX_NUMBERS = 32  # per list; a real signal has a handful of targets


def extract_entities(text: str) -> dict[str, Any]:
    """Return the entities of one message as a JSON-ready dict with exactly ``ENTITY_KEYS``.

    Lists are de-duplicated keeping first-seen order. ``signal`` is ``None`` unless the text
    names a side (long/buy/лонг/покупка or short/sell/шорт/продажа) and at least one of an
    entry, a target or a stop; then it is ``{"side", "symbol", "entry", "targets", "stop",
    "leverage"}`` with ``entry`` as ``[low, high]`` (``None`` when only targets or a stop are
    given), ``targets`` a list in the message's order (maybe empty), the rest float or None.
    """
    if not isinstance(text, str) or not text:
        return _empty()

    low = _lower_same_length(text)
    if "://" in text or ".me/" in low:
        urls, text, low = _extract_urls(text, low)  # URLs blanked out: no entity in a path
    else:
        urls = []

    # (position, value) hits, so that lists follow the text and a signal finds its symbol.
    ticker_hits: list[tuple[int, str]] = []
    pair_hits: list[tuple[int, str]] = []
    cashtag_hits: list[tuple[int, str]] = []
    hashtag_hits: list[tuple[int, str]] = []
    if "$" in text:
        for m in _CASHTAG.finditer(text):
            symbol = m.group(1).upper()
            split = _split_concat(symbol)
            if split is None:
                ticker_hits.append((m.start(), symbol))
                cashtag_hits.append((m.start(), symbol))
            else:
                _add_pair(m.start(), *split, ticker_hits, pair_hits)
    if "#" in text:
        # "#1" in "my #1 pick" is a rank, not a hashtag.
        hashtag_hits = [(m.start(), m.group(1)) for m in _HASHTAG.finditer(text) if _has_letter(m)]
    slash = text.find("/")
    while slash != -1:
        _slash_pair(text, slash, ticker_hits, pair_hits)
        slash = text.find("/", slash + 1)
    if "USD" in text or "BTC" in text or "ETH" in text or "EUR" in text:
        for m in _CONCAT_PAIR.finditer(text):
            if m.group(0) not in _NOT_CONCAT_PAIRS:
                _add_pair(m.start(), m.group(1), m.group(2), ticker_hits, pair_hits)
    if len(ticker_hits) > 1:
        ticker_hits.sort(key=_position)
        pair_hits.sort(key=_position)

    return {
        "tickers": _unique_values(ticker_hits),
        "pairs": _unique_values(pair_hits),
        "urls": urls,
        "mentions": _unique(_MENTION.findall(text)) if "@" in text else [],
        "hashtags": _unique_values(hashtag_hits),
        "signal": _extract_signal(text, low, (pair_hits, cashtag_hits, hashtag_hits)),
    }


def _empty() -> dict[str, Any]:
    return {"tickers": [], "pairs": [], "urls": [], "mentions": [], "hashtags": [], "signal": None}


def _position(hit: tuple[int, str]) -> int:
    return hit[0]


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))  # a dict keeps insertion order: first seen wins


def _unique_values(hits: list[tuple[int, str]]) -> list[str]:
    return _unique([value for _, value in hits]) if hits else []


def _has_letter(m: re.Match[str]) -> bool:
    return any(ch.isalpha() for ch in m.group(1))


def _extract_urls(text: str, low: str) -> tuple[list[str], str, str]:
    """The URLs in order (found in `low`, read from `text`: the two have the same length),
    and `text` and `low` with each URL replaced by spaces (positions kept)."""
    urls: list[str] = []
    spans: list[tuple[int, int]] = []
    for m in _URL.finditer(low):
        start, end = m.span()
        url = _strip_url(text[start:end])
        if url:
            urls.append(url)
        spans.append((start, end))
    if not spans:
        return [], text, low
    return _unique(urls), _blank(text, spans), _blank(low, spans)


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    pieces: list[str] = []
    last = 0
    for start, end in spans:
        pieces.append(text[last:start])
        pieces.append(" " * (end - start))
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _strip_url(url: str) -> str:
    end = len(url)
    # Drop the ")" closing "(see <url>)" but keep balanced ones (wiki-style paths).
    unbalanced = url.count(")") - url.count("(")
    while end:
        last = url[end - 1]
        if last in _URL_TRAILING:
            end -= 1
        elif last == ")" and unbalanced > 0:
            unbalanced -= 1
            end -= 1
        else:
            break
    return url[:end]


def _split_concat(symbol: str) -> tuple[str, str] | None:
    if symbol in _NOT_CONCAT_PAIRS:
        return None
    m = _CONCAT_FULL.fullmatch(symbol)
    return (m.group(1), m.group(2)) if m else None


def _slash_pair(
    text: str,
    slash: int,
    ticker_hits: list[tuple[int, str]],
    pair_hits: list[tuple[int, str]],
) -> None:
    quote_match = _PAIR_QUOTE.match(text, slash + 1)
    if quote_match is None:
        return
    base_match = _PAIR_BASE.search(text, max(0, slash - 10), slash)
    if base_match is None:
        return
    start = base_match.start()
    before = text[start - 1] if start else " "
    if before.isalnum() or before in "_/.-":
        return  # a longer word, or a path segment
    base, quote = base_match.group(0), quote_match.group(0)
    if _is_slash_pair(base, quote):
        # "$BTC/USDT", "#ETH/USDT": the pair starts at its prefix, as a cashtag does.
        pos = start - 1 if before in "$#" else start
        _add_pair(pos, base.upper(), quote.upper(), ticker_hits, pair_hits)


def _is_slash_pair(base: str, quote: str) -> bool:
    base_up, quote_up = base.upper(), quote.upper()
    if base.isdigit() or base_up == quote_up or _is_chat_word(base_up):
        return False
    if quote_up in _SLASH_QUOTES:
        return True
    # An unknown quote counts only when both sides are written as symbols (USD/JPY, not and/or).
    return base.isupper() and quote.isupper() and not _is_chat_word(quote_up)


def _is_chat_word(symbol: str) -> bool:
    return symbol.rstrip("0123456789") in _NOT_SYMBOLS  # TP1/TP2 is no market either


def _add_pair(
    pos: int,
    base: str,
    quote: str,
    ticker_hits: list[tuple[int, str]],
    pair_hits: list[tuple[int, str]],
) -> None:
    pair_hits.append((pos, f"{base}/{quote}"))
    ticker_hits.append((pos, base))
    ticker_hits.append((pos + len(base) + 1, quote))


# --- trading signals -------------------------------------------------------------------------


def _extract_signal(
    text: str, low: str, symbol_hits: tuple[list[tuple[int, str]], ...]
) -> dict[str, Any] | None:
    """The trading call in `text` (`low` is its same-length lower-cased copy), if any."""
    side_match = _SIDE.search(low)
    if side_match is None:
        return None
    # A second side word starts another call (each section of a multi-ticker analysis has its
    # own plan): levels are read up to it only.
    later = _SIDE.search(low, side_match.end())
    while later is not None and _ZONE.match(low, later.end()):
        later = _SIDE.search(low, later.end())
    scope_end = len(low) if later is None else later.start()

    entry: list[float] = []
    targets: list[float] = []
    stop: float | None = None
    leverage: float | None = None
    for m in _LABEL.finditer(low, 0, scope_end):
        kind = _LABEL_KINDS[m.group(0)[:2]]
        if kind == "entry" and len(entry) < _MAX_NUMBERS:
            entry.extend(_numbers_after(low, m.end(), _MAX_NUMBERS - len(entry)))
        elif kind == "target" and len(targets) < _MAX_NUMBERS:
            targets.extend(_numbers_after(low, m.end(), _MAX_NUMBERS - len(targets)))
        elif kind == "stop" and stop is None:
            found = _numbers_after(low, m.end(), 1)
            stop = found[0] if found else None
        elif kind == "leverage" and leverage is None:
            value = _LEVERAGE_VALUE.match(low, m.end())
            leverage = float(value.group(1)) if value else None

    if not entry:
        entry = _entry_without_label(low, side_match.end(), scope_end)
    if not entry and not targets and stop is None:
        return None
    return {
        "side": "long" if side_match.group(0).startswith(_LONG_INITIALS) else "short",
        "symbol": _signal_symbol(text, side_match, symbol_hits),
        "entry": [min(entry), max(entry)] if entry else None,
        "targets": targets,
        "stop": stop,
        "leverage": _leverage(low, scope_end, leverage),
    }


def _entry_without_label(low: str, after_side: int, scope_end: int) -> list[float]:
    lead = _ENTRY_AFTER_SIDE.match(low, after_side, scope_end)
    if lead:
        entry = _numbers_after(low, lead.end(), _MAX_NUMBERS, lead=False)
        if entry:
            return entry
    for m in _ENTRY_FALLBACK.finditer(low, after_side, scope_end):
        entry = _numbers_after(low, m.end(), _MAX_NUMBERS, lead=False)
        if entry:
            return entry
    return []


def _lower_same_length(text: str) -> str:
    low = text.lower()
    if len(low) == len(text):
        return low
    # A few characters lower-case to two ("İ" -> "i̇"); keep those as they are so that
    # positions in the lower-cased copy stay positions in the text.
    return "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)


def _numbers_after(low: str, pos: int, limit: int, *, lead: bool = True) -> list[float]:
    """The run of numbers starting at ``pos`` (after a label's filler when ``lead``), in order."""
    run = (_LIST_AFTER_LABEL if lead else _LIST_HERE).match(low, pos)
    if run is None:
        return []
    first = _to_float(run.group(1), run.group(2))
    numbers = [] if first is None else [first]
    rest_start, rest_end = run.span(3)
    if rest_start == rest_end:
        return numbers
    # findall gives (digits, "k") tuples without a Match object per number (an enumerator
    # gives empty digits); the run is already bounded, so all of it is read, then cut.
    for digits, thousands in _NUMBER_OR_ENUMERATOR.findall(low, rest_start, rest_end):
        if digits:
            value = _to_float(digits, thousands)
            if value is not None:
                numbers.append(value)
    return numbers[:limit]


def _to_float(digits: str, thousands: str | None) -> float | None:
    if "," in digits:
        head, _, tail = digits.rpartition(",")
        # "4,95" has a decimal comma (1-2 digits after it); "64,200" and "64,200.5" group thousands.
        digits = f"{head}.{tail}" if len(tail) < 3 else digits.replace(",", "")
    value = float(digits) * 1000.0 if thousands else float(digits)
    # A long enough digit run overflows to inf, which neither JSON nor SUPER can hold.
    return value if math.isfinite(value) else None


def _leverage(low: str, scope_end: int, labelled: float | None) -> float | None:
    """The labelled leverage ("Leverage: 10x", "плечо 10"), else the first "10x" or "x10"."""
    if labelled is None and _may_have_leverage(low, scope_end):
        searches = (
            _LEVERAGE_SUFFIX.search(low, 0, scope_end),
            _LEVERAGE_PREFIX.search(low, 0, scope_end),
        )
        found = [m for m in searches if m]
        if found:
            labelled = float(min(found, key=_match_start).group(1))
    return labelled if labelled else None  # "x0" is no leverage


def _may_have_leverage(low: str, scope_end: int) -> bool:
    """Whether an "x" or "х" before `scope_end` touches a digit, as both leverage patterns
    need: the two searches try every digit of a signal (its prices) and cost more than
    the rest of the signal; the few "x"s of a message are found by str.find instead."""
    for letter in "xх":
        at = low.find(letter, 0, scope_end)
        while at != -1:
            if (at and low[at - 1].isdigit()) or low[at + 1 : at + 2].isdigit():
                return True
            at = low.find(letter, at + 1, scope_end)
    return False


def _match_start(m: re.Match[str]) -> int:
    return m.start()


def _signal_symbol(
    text: str,
    side_match: re.Match[str],
    symbol_hits: tuple[list[tuple[int, str]], ...],
) -> str | None:
    """The symbol a call is about.

    A pair, cashtag or symbol-like hashtag (in that order on ties): the nearest on the side
    word's line, else the nearest before it (a section's heading), else the nearest after it.
    Without any, a bare upper-case symbol next to the side word ("LONG BTC", "BTC LONG").
    """
    side_pos = side_match.start()
    pairs, cashtags, hashtags = symbol_hits
    symbols = [(pos, 0, pair) for pos, pair in pairs]  # (position, rank, symbol)
    symbols += [(pos, 1, ticker) for pos, ticker in cashtags]
    symbols += [(pos, 2, tag) for pos, tag in hashtags if _SYMBOL_HASHTAG.fullmatch(tag)]
    if symbols:
        line_start = text.rfind("\n", 0, side_pos) + 1
        line_end = text.find("\n", side_pos)
        if line_end == -1:
            line_end = len(text)

        def preference(hit: tuple[int, int, str]) -> tuple[int, int, int]:
            pos, rank, _ = hit
            where = 0 if line_start <= pos < line_end else (1 if pos < side_pos else 2)
            return where, abs(pos - side_pos), rank

        return min(symbols, key=preference)[2]

    after = _SYMBOL_AFTER.match(text, side_match.end())
    if after and after.group(1) not in _NOT_SYMBOLS:
        return after.group(1)
    window_start = max(0, side_pos - 16)
    before = _SYMBOL_BEFORE.search(text, window_start, side_pos)
    if before and before.group(1) not in _NOT_SYMBOLS:
        start = before.start(1)
        if start == 0 or not (text[start - 1].isalnum() or text[start - 1] in "_$#/."):
            return before.group(1)
    return None
