"""Generate the synthetic Telegram trading-chat dataset (`telegram.csv` inside a zip).

The original assignment file is not public, so this script makes a realistic
stand-in with the same schema and the same awkward corners: 64-bit chat ids,
per-chat message ids, replies to earlier messages, empty messages, very long
analyses, and text full of emoji, Cyrillic, newlines, quotes, commas and pipes.

Deterministic: the same `--rows` and `--seed` give the same bytes (one
`random.Random(seed)` drives every choice; the zip entry has a fixed date).
Standard library only, so it runs with any Python 3.11+:

    python data/make_dataset.py                      # ~50,000 rows -> data/<zip>
    python data/make_dataset.py --rows 500 --seed 7 --out /tmp/small.zip
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import math
import random
import string
import sys
import zipfile
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pipeline.core.dataset import COLUMNS  # the one definition of the file's columns

DEFAULT_ROWS = 50_000
DEFAULT_SEED = 20240601
DEFAULT_OUT = Path(__file__).resolve().parent / "data-engineering-bezant-assignement-dataset.zip"
MEMBER = "telegram.csv"
# The zip's archive comment starts with this, so tests can tell this file from the original.
SYNTHETIC_MARK = "synthetic telegram.csv made by data/make_dataset.py"
# A fixed entry date keeps the zip byte-for-byte reproducible.
ZIP_DATE = (2024, 7, 1, 0, 0, 0)

FIRST_DAY = date(2024, 2, 1)
LAST_DAY = date(2024, 6, 30)  # five months, inclusive
N_CHATS = 40
N_RUSSIAN_CHATS = 9
N_TRADERS = 600
N_PROVIDERS = 30  # the heaviest posters run signal channels
REPLY_SHARE = 0.25
EMPTY_SHARE = 0.03

# Relative activity per UTC hour: quiet Asian night, European open from 07:00,
# the busiest stretch around the US open (13:30-16:00 UTC), tailing off after.
HOUR_WEIGHTS = (
    0.35, 0.30, 0.28, 0.28, 0.32, 0.40, 0.60, 1.00, 1.30, 1.40, 1.30, 1.20,
    1.30, 1.60, 1.90, 1.80, 1.60, 1.40, 1.20, 1.10, 1.00, 0.80, 0.60, 0.45,
)  # fmt: skip
WEEKEND_FACTOR = 0.65
# Days the market gave people something to talk about (ATH, crash, halving, ETF news).
SPIKE_DAYS = {
    date(2024, 2, 28): 1.8,
    date(2024, 3, 5): 2.6,
    date(2024, 3, 14): 2.2,
    date(2024, 3, 19): 1.7,
    date(2024, 4, 13): 2.4,
    date(2024, 4, 20): 2.0,
    date(2024, 5, 20): 2.3,
    date(2024, 6, 7): 1.6,
}

# BTC anchor prices (rough 2024 path); other assets follow BTC with their own walk.
BTC_PATH = (
    (date(2024, 2, 1), 42_500.0),
    (date(2024, 2, 29), 62_000.0),
    (date(2024, 3, 14), 72_000.0),
    (date(2024, 4, 1), 69_000.0),
    (date(2024, 4, 17), 61_000.0),
    (date(2024, 5, 1), 58_000.0),
    (date(2024, 5, 21), 70_000.0),
    (date(2024, 6, 30), 61_500.0),
)
# ticker -> (price on 2024-02-01, beta to BTC, daily idiosyncratic volatility)
ASSETS = {
    "BTC": (42_500.0, 1.0, 0.0),
    "ETH": (2_300.0, 1.1, 0.012),
    "SOL": (98.0, 1.4, 0.025),
    "BNB": (300.0, 0.9, 0.012),
    "XRP": (0.50, 0.8, 0.015),
    "TON": (2.20, 0.7, 0.030),
    "DOGE": (0.078, 1.5, 0.030),
    "ADA": (0.50, 1.0, 0.018),
    "AVAX": (34.0, 1.3, 0.025),
    "LINK": (15.5, 1.1, 0.020),
    "PEPE": (0.0000011, 2.0, 0.050),
    "WIF": (0.32, 2.2, 0.060),
    "ARB": (1.85, 1.2, 0.025),
    "OP": (3.40, 1.2, 0.025),
    "NEAR": (2.95, 1.3, 0.030),
    "SUI": (1.60, 1.4, 0.035),
    "INJ": (35.0, 1.4, 0.030),
    "APT": (8.70, 1.2, 0.025),
    "LTC": (68.0, 0.8, 0.012),
    "MATIC": (0.80, 1.0, 0.020),
}
TICKER_WEIGHTS = (30, 18, 12, 4, 5, 6, 7, 3, 3, 3, 4, 4, 2, 2, 2, 3, 2, 2, 1, 2)

MENTIONS = (
    "whale_alert", "binance", "cz_binance", "lookonchain", "WuBlockchain", "tier10k",
    "CryptoCapo_", "AltcoinSherpa", "crypto_rand", "DaanCrypto", "CryptoKaleo",
    "forklog", "incrypted", "bits_media",
)  # fmt: skip
CHANNELS = (
    "somechannel", "binance_announcements", "whale_alert_io", "cryptosignals_pro",
    "forklog", "incrypted", "wublockchainenglish", "tree_news_feed",
)  # fmt: skip
HASHTAGS = (
    "#crypto", "#trading", "#altseason", "#ETF", "#halving", "#TA", "#airdrop",
    "#futures", "#spot", "#DYOR", "#bullrun",
)  # fmt: skip
RU_HASHTAGS = ("#сигнал", "#крипта", "#трейдинг", "#альтсезон", "#халвинг", "#анализ")
EMOJI = (
    "🚀", "📈", "📉", "🔥", "✅", "❌", "💎", "🐋", "⚠️", "🎯", "💰", "🟢", "🔴", "👀",
    "😂", "🙏", "🤔", "💀", "🧑‍💻", "🇺🇸", "🇷🇺", "☕",
)  # fmt: skip
TIMEFRAMES = ("15m", "1H", "4H", "1D", "1W")

Row = tuple[str, str, str, str, str, str, str]


# ---------------------------------------------------------------------------
# Prices: a plausible level per asset per day, so signals quote sane numbers.


def _day_index(day: date) -> int:
    return (day - FIRST_DAY).days


def _price_table(rng: random.Random, n_days: int) -> dict[str, list[float]]:
    btc: list[float] = []
    for d in range(n_days):
        day = FIRST_DAY + timedelta(days=d)
        for (d0, p0), (d1, p1) in itertools.pairwise(BTC_PATH):
            if d0 <= day <= d1:
                frac = (day - d0).days / max((d1 - d0).days, 1)
                btc.append(p0 * (p1 / p0) ** frac * math.exp(rng.gauss(0, 0.012)))
                break
    table = {"BTC": btc}
    for ticker, (base, beta, vol) in ASSETS.items():
        if ticker == "BTC":
            continue
        walk, prices = 0.0, []
        for d in range(n_days):
            walk += rng.gauss(0, vol)
            prices.append(base * (btc[d] / btc[0]) ** beta * math.exp(walk))
        table[ticker] = prices
    return table


def _fmt_price(p: float, *, thousands: bool = False) -> str:
    if p >= 1000:
        return f"{round(p, -1):,.0f}" if thousands else f"{round(p, -1):.0f}"
    if p >= 100:
        return f"{p:.1f}"
    if p >= 1:
        return f"{p:.2f}"
    if p >= 0.01:
        return f"{p:.4f}"
    return f"{p:.8f}"


# ---------------------------------------------------------------------------
# Message text.


class Writer:
    """Renders message text for one chat language, drawing every choice from `rng`."""

    def __init__(self, rng: random.Random, prices: dict[str, list[float]]) -> None:
        self.rng = rng
        self.prices = prices
        self.tickers = tuple(ASSETS)

    # small helpers -------------------------------------------------------
    def ticker(self) -> str:
        return self.rng.choices(self.tickers, weights=TICKER_WEIGHTS)[0]

    def emoji(self) -> str:
        return self.rng.choice(EMOJI)

    def mention(self) -> str:
        return "@" + self.rng.choice(MENTIONS)

    def tv_link(self) -> str:
        chars = string.ascii_letters + string.digits
        return "https://www.tradingview.com/x/" + "".join(self.rng.choices(chars, k=8)) + "/"

    def tg_link(self) -> str:
        return f"https://t.me/{self.rng.choice(CHANNELS)}/{self.rng.randint(100, 99_999)}"

    def pct(self, lo: float = 3, hi: float = 60) -> str:
        return f"{self.rng.uniform(lo, hi):.1f}"

    def levels(
        self, ticker: str, day: int, *, long: bool
    ) -> tuple[float, float, list[float], float]:
        """Entry range, three targets and a stop around the day's price."""
        p = self.prices[ticker][day] * self.rng.uniform(0.985, 1.015)
        sign = 1 if long else -1
        width = self.rng.uniform(0.002, 0.012)
        lo, hi = p * (1 - width), p * (1 + width)
        step = self.rng.uniform(0.015, 0.05)
        targets = [p * (1 + sign * step * k) for k in (1, 2, 3)]
        stop = p * (1 - sign * self.rng.uniform(0.02, 0.06))
        return lo, hi, targets, stop

    # signals ---------------------------------------------------------------
    def signal(self, fmt: int, day: int, *, russian: bool) -> tuple[str, str]:
        """A trade call in one of several real-world layouts; returns (text, ticker)."""
        rng = self.rng
        t = self.ticker()
        long = rng.random() < 0.68
        lo, hi, tg, sl = self.levels(t, day, long=long)
        f = _fmt_price
        side = "LONG" if long else "SHORT"
        lev = rng.choice((3, 5, 10, 10, 20, 25, 50))
        side_ru = "Лонг" if long else "Шорт"
        # Each caller sticks to a layout; Russian chats get the two Russian ones.
        fmt = 3 + fmt % 2 if russian else (0, 1, 2, 5, 6)[fmt % 5]
        if fmt == 0:
            text = (
                f"${t} {side} {'🚀' if long else '📉'}\n"
                f"Entry: {f(lo, thousands=True)} - {f(hi, thousands=True)}\n"
                f"Targets: {' / '.join(f(x, thousands=True) for x in tg)}\n"
                f"Stop loss: {f(sl, thousands=True)}\nLeverage: {lev}x"
            )
        elif fmt == 1:
            text = (
                f"#{t}/USDT {side}\nEntry zone {f(lo)}-{f(hi)}\n"
                f"TP1 {f(tg[0])} TP2 {f(tg[1])} TP3 {f(tg[2])}\nSL {f(sl)}"
            )
        elif fmt == 2:
            verb = "Buy" if long else "Sell"
            text = f"{verb} {t}/USDT at {f((lo + hi) / 2)}, target {f(tg[1])}, stop {f(sl)}"
        elif fmt == 3:
            text = f"{side_ru} ${t} вход {f(lo)}-{f(hi)}, цели {f(tg[0])}/{f(tg[1])}, стоп {f(sl)}"
        elif fmt == 4:
            text = (
                f"🔥 #{t} — {side_ru.upper()}\nВход: {f(lo)}–{f(hi)}\n"
                f"Цели: {' / '.join(f(x) for x in tg)}\nСтоп: {f(sl)}\nПлечо: {lev}x"
            )
        elif fmt == 5:
            text = (
                f"📊 SIGNAL | ${t} | {side}\nEntry | {f(lo)} - {f(hi)}\n"
                f"TP | {' | '.join(f(x) for x in tg)}\nSL | {f(sl)}"
            )
        else:
            text = (
                f'Spot buy ${t} {f(lo)}-{f(hi)} "low risk", targets {f(tg[0])}, {f(tg[1])}, '
                f"{f(tg[2])} | SL daily close below {f(sl)}"
            )
        if rng.random() < 0.2:
            text += "\n" + rng.choice(RU_HASHTAGS if russian else HASHTAGS)
        return text, t

    def update(self, ticker: str, *, russian: bool) -> str:
        """Follow-up on a call: target hit, stop hit, stop moved."""
        rng = self.rng
        tp = rng.randint(1, 3)
        if russian:
            return rng.choice(
                (
                    f"Цель {tp} по ${ticker} взята ✅ +{self.pct()}%",
                    f"Стоп по #{ticker} выбит ❌ -{self.pct(2, 25)}%",
                    f"${ticker}: переносим стоп в безубыток",
                    f"Закрыл остаток ${ticker}, итого +{self.pct()}% 💰",
                )
            )
        return rng.choice(
            (
                f"${ticker} TP{tp} hit ✅ +{self.pct()}% ({rng.choice((5, 10, 20))}x)",
                f"SL hit on #{ticker} ❌ -{self.pct(2, 25)}%",
                f"Move SL to breakeven on ${ticker}",
                f"Closed 50% of ${ticker} at TP{tp}, letting the rest run 🎯",
                f"#{ticker}/USDT all targets done ✅✅✅ +{self.pct(20, 120)}%",
            )
        )

    # chatter ---------------------------------------------------------------
    def chatter(self, day: int, *, russian: bool) -> str:
        rng = self.rng
        t, t2 = self.ticker(), self.ticker()
        price = _fmt_price(self.prices[t][day] * rng.uniform(0.9, 1.1))
        if russian:
            options: Sequence[Callable[[], str]] = (
                lambda: "Всем привет 👋",
                lambda: "Доброе утро, рынок! ☕",
                lambda: f"Кто смотрит ${t}?",
                lambda: f"По ${t} жду коррекцию до {price}",
                lambda: "Где стоп ставите?",
                lambda: "Взял по рынку, посмотрим",
                lambda: f"{self.mention()} что думаешь про ${t}?",
                lambda: f"Графики: {self.tv_link()}",
                lambda: f"Ликвидации на ${t} огромные 🔥 {self.tg_link()}",
                lambda: 'Он сказал "держим", а я закрыл в минус, эх',
                lambda: "ФРС сегодня в 21:00 по МСК, осторожно ⚠️",
                lambda: f"${t} | {rng.choice(TIMEFRAMES)} | пробой уровня {price}",
                lambda: f"Это не финсовет, DYOR {rng.choice(RU_HASHTAGS)}",
                lambda: f"Ребята, ${t} и ${t2} — что лучше на среднесрок?\nЯ склоняюсь к ${t}",
                lambda: f"🇷🇺 Новости: {self.tg_link()}",
            )
        else:
            options = (
                lambda: "gm",
                lambda: "gm gm ☕",
                lambda: "GM fam 🌞",
                lambda: f"anyone watching ${t}?",
                lambda: f"{self.mention()} said 1,000 $BTC just moved to Coinbase 👀",
                lambda: f"${t} looking weak here, careful",
                lambda: f"chart: {self.tv_link()}",
                lambda: f"check this {self.tg_link()}",
                lambda: 'He said "buy the dip", I said "which one?" 😂',
                lambda: "wen moon",
                lambda: "rekt 💀",
                lambda: "this is not financial advice, DYOR",
                lambda: f"${t} | {rng.choice(TIMEFRAMES)} | bullish divergence on RSI",
                lambda: f"Funding is negative on ${t}, shorts crowded. Squeeze incoming? 🤔",
                lambda: f"#altseason loading... ${t} ${t2} {self.emoji()}",
                lambda: (
                    f"ETF flows today: +{rng.randint(50, 900)}M, BTC.D {rng.uniform(50, 57):.1f}%"
                ),
                lambda: "CPI tomorrow at 12:30 UTC, expect volatility ⚠️",
                lambda: f"${t} at {price}, {t2} lagging. Rotation? {rng.choice(HASHTAGS)}",
                lambda: f"Watching {price} on ${t}\nIf it holds -> long\nIf not -> wait",
                lambda: f"{self.mention()} {self.mention()} thoughts on ${t}?",
                lambda: "🧑‍💻 back from work, what did I miss?",
                lambda: "NA session is going to be wild",
            )
        return rng.choice(options)()

    def reply_text(self, ticker: str | None, *, russian: bool) -> str:
        rng = self.rng
        t = ticker or self.ticker()
        if rng.random() < 0.02:
            # Text a careless CSV reader turns into a missing value.
            return rng.choice(("N/A", "None", "null", "NA", "nan"))
        if russian:
            return rng.choice(
                (
                    "спасибо!",
                    "Красава 🔥",
                    "Какое плечо?",
                    "Вход ещё актуален?",
                    "+1",
                    "Согласен",
                    "Источник?",
                    "Я в деле 🚀",
                    "Стоп слишком близко имхо",
                    f"По ${t} уже первая цель была",
                    "😂😂😂",
                )
            )
        return rng.choice(
            (
                "thanks!",
                "nice call 🔥",
                "what leverage?",
                "entry still valid?",
                "+1",
                "same here",
                "lol no",
                "source?",
                f"agreed, ${t} is strong",
                "I'm in 🚀",
                "TP1 already hit for me",
                "SL too tight imo",
                f'"{t} to the moon" - every cycle',
            )
        )

    # analyses --------------------------------------------------------------
    def analysis_block(self, day: int, *, russian: bool) -> str:
        """One section of an analysis: a ticker, levels as a pipe table, a plan."""
        rng = self.rng
        t = self.ticker()
        p = self.prices[t][day]
        sup = [_fmt_price(p * (1 - k * rng.uniform(0.02, 0.05))) for k in (1, 2)]
        res = [_fmt_price(p * (1 + k * rng.uniform(0.02, 0.05))) for k in (1, 2)]
        tf = rng.choice(TIMEFRAMES)
        if russian:
            return (
                f"📊 ${t}, таймфрейм {tf}\n\n"
                f"Цена держится около {_fmt_price(p)}. Объёмы снижаются, "
                f'RSI {rng.randint(28, 74)}, на графике "флаг" — ждём выхода.\n'
                f"| Уровень | Цена |\n|---|---|\n"
                f"| Поддержка 1 | {sup[0]} |\n| Поддержка 2 | {sup[1]} |\n"
                f"| Сопротивление 1 | {res[0]} |\n| Сопротивление 2 | {res[1]} |\n"
                f"План: покупки от {sup[0]}, стоп под {sup[1]}, цели {res[0]}, {res[1]}.\n"
                f"Если закрепимся ниже {sup[1]}, сценарий отменяется.\n"
            )
        return (
            f"📊 ${t} {tf} outlook\n\n"
            f"Price is ranging around {_fmt_price(p)}; volume is fading, RSI at "
            f'{rng.randint(28, 74)}, and the "bull flag" everyone talks about is still intact.\n'
            f"| Level | Price |\n|---|---|\n"
            f"| Support 1 | {sup[0]} |\n| Support 2 | {sup[1]} |\n"
            f"| Resistance 1 | {res[0]} |\n| Resistance 2 | {res[1]} |\n"
            f"Plan: bids at {sup[0]}, invalidation below {sup[1]}, targets {res[0]}, {res[1]}.\n"
            f"Funding {rng.uniform(-0.02, 0.05):.3f}%, OI {rng.choice(('up', 'down', 'flat'))}, "
            f"chart {self.tv_link()}\n"
        )

    def analysis(self, day: int, *, russian: bool, min_chars: int = 0) -> str:
        """A multi-section analysis at least `min_chars` long (a medium one if 0)."""
        title = (
            f"🧵 Обзор рынка {_day_label(day)} {self.emoji()}\n\n"
            if russian
            else f"🧵 Market outlook {_day_label(day)} {self.emoji()}\n\n"
        )
        parts = [title]
        size = len(title)
        sections = self.rng.randint(1, 3)
        while sections > 0 or size < min_chars:
            block = self.analysis_block(day, russian=russian)
            parts.append(block + "\n")
            size += len(block) + 1
            sections -= 1
        tags = " ".join(self.rng.sample(RU_HASHTAGS if russian else HASHTAGS, 2))
        parts.append(("Не финсовет. " if russian else "Not financial advice. ") + tags)
        return "".join(parts)


def _day_label(day: int) -> str:
    return (FIRST_DAY + timedelta(days=day)).strftime("%d.%m.%Y")


# ---------------------------------------------------------------------------
# Who, where and when.


def _zipf_weights(n: int, s: float) -> list[float]:
    return [1.0 / (k**s) for k in range(1, n + 1)]


def _chat_ids(rng: random.Random) -> list[int]:
    """Telegram-style chat ids: mostly supergroups (-100xxxxxxxxxx), a few others.

    All of them are outside the int32 range, so a 32-bit column would overflow.
    Positive ids are moved last so the rare positive (unmarked) ids land among the quieter chats.
    """
    ids: set[int] = set()
    out: list[int] = []
    while len(out) < N_CHATS:
        kind = rng.random()
        if kind < 0.85:
            cid = -(1_000_000_000_000 + rng.randint(1_000_000_000, 2_499_999_999))
        elif kind < 0.95:
            cid = -rng.randint(4_000_000_000, 4_299_999_999)  # newer basic groups
        else:
            # The raw channel id without the -100 mark, as Telethon's peer_id.channel_id
            # gives it; a scraper that stores that form writes positive ids.
            cid = rng.randint(2_150_000_000, 2_499_999_999)
        if cid not in ids:
            ids.add(cid)
            out.append(cid)
    return sorted(out, key=lambda cid: cid > 0)  # stable: only moves positives last


def _trader_ids(rng: random.Random) -> list[int]:
    ids: set[int] = set()
    out: list[int] = []
    while len(out) < N_TRADERS:
        # Older accounts have small ids, newer ones run past 2**31.
        tid = (
            rng.randint(10_000_000, 2_147_483_647)
            if rng.random() < 0.55
            else rng.randint(5_000_000_000, 7_499_999_999)
        )
        if tid not in ids:
            ids.add(tid)
            out.append(tid)
    return out


def _timestamp(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")


def generate(rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> list[Row]:
    """Build the dataset rows (as CSV-ready strings), ordered by message time."""
    if rows < 1:
        raise ValueError(f"rows must be >= 1, got {rows}")
    rng = random.Random(seed)
    n_days = _day_index(LAST_DAY) + 1
    prices = _price_table(rng, n_days)
    writer = Writer(rng, prices)

    chats = _chat_ids(rng)
    russian = [i < N_RUSSIAN_CHATS for i in range(N_CHATS)]
    rng.shuffle(russian)
    chat_weights = _zipf_weights(N_CHATS, 0.9)
    chat_start = [0 if rng.random() < 0.8 else rng.randint(10, n_days // 2) for _ in chats]

    # Traders: Zipf-like activity; the top posters run signal channels.
    traders = _trader_ids(rng)
    trader_weight = _zipf_weights(N_TRADERS, 1.05)
    trader_russian = [rng.random() < 0.22 for _ in traders]
    signal_format = [rng.randrange(7) for _ in traders]
    members: list[list[int]] = [[] for _ in chats]
    ru_chats = [c for c in range(N_CHATS) if russian[c]]
    en_chats = [c for c in range(N_CHATS) if not russian[c]]
    for t in range(N_TRADERS):
        home = ru_chats if trader_russian[t] else en_chats
        k = 1 + min(int(rng.expovariate(0.8)), 5)
        picks = rng.sample(home, min(k, len(home)))
        if rng.random() < 0.15:  # bilingual people wander into the other camp
            picks.append(rng.choice(en_chats if trader_russian[t] else ru_chats))
        for c in picks:
            if t not in members[c]:
                members[c].append(t)
    for c in range(N_CHATS):  # no chat without regulars
        while len(members[c]) < 5:
            t = rng.randrange(N_TRADERS)
            if t not in members[c]:
                members[c].append(t)
    member_cum: list[list[float]] = []
    for c in range(N_CHATS):
        acc, cum = 0.0, []
        for t in members[c]:
            acc += trader_weight[t]
            cum.append(acc)
        member_cum.append(cum)

    day_weights = []
    for d in range(n_days):
        day = FIRST_DAY + timedelta(days=d)
        w = (WEEKEND_FACTOR if day.weekday() >= 5 else 1.0) * (0.8 + 0.4 * d / n_days)
        day_weights.append(w * SPIKE_DAYS.get(day, 1.0))
    epoch0 = int(datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, tzinfo=UTC).timestamp())

    # 1. When and where each message was posted, and by whom.
    days = rng.choices(range(n_days), weights=day_weights, k=rows)
    hours = rng.choices(range(24), weights=HOUR_WEIGHTS, k=rows)
    chat_of = rng.choices(range(N_CHATS), weights=chat_weights, k=rows)
    msgs = []  # (epoch, chat, trader)
    for i in range(rows):
        c = chat_of[i]
        while days[i] < chat_start[c]:  # the scrape joined this chat later
            c = rng.choices(range(N_CHATS), weights=chat_weights)[0]
        t = members[c][rng.choices(range(len(members[c])), cum_weights=member_cum[c])[0]]
        epoch = epoch0 + days[i] * 86_400 + hours[i] * 3600 + rng.randrange(3600)
        msgs.append((epoch, c, t))
    msgs.sort()

    # 2. Per-chat message ids: increasing with time, with gaps (deleted/service messages).
    by_chat: list[list[int]] = [[] for _ in chats]
    for i, (_, c, _) in enumerate(msgs):
        by_chat[c].append(i)
    message_id = [0] * rows
    for idx in by_chat:
        mid = rng.randint(1_000, 900_000)
        for i in idx:
            mid += 1 if rng.random() < 0.7 else 1 + int(rng.expovariate(0.3))
            message_id[i] = mid

    # 3. Replies: to an earlier message of the same chat, usually a recent one.
    parent: list[int | None] = [None] * rows
    p_reply = REPLY_SHARE * rows / max(rows - N_CHATS, 1)
    for idx in by_chat:
        for k in range(1, len(idx)):
            if rng.random() < p_reply:
                if rng.random() < 0.08:  # picking up an old thread
                    j = rng.randrange(k)
                else:  # mostly the last few messages
                    j = max(0, k - 1 - int(rng.expovariate(0.25)))
                parent[idx[k]] = idx[j]

    # 4. Which messages are empty (media without a caption) or very long.
    empty = set(rng.sample(range(rows), round(rows * EMPTY_SHARE)))
    # (minimum length, force Russian): the longest is ~44k chars of mostly Cyrillic,
    # over 65,535 UTF-8 bytes (Redshift's VARCHAR limit), so the long-text policy is exercised.
    long_text: dict[int, tuple[int, bool]] = {}
    if rows >= 10_000:
        candidates = [i for i in range(rows) if i not in empty and parent[i] is None]
        chosen = rng.sample(candidates, 10)
        targets = [(rng.randint(5_200, 14_000), False) for _ in range(8)]
        targets += [(24_500, False), (44_000, True)]
        long_text = dict(zip(chosen, targets, strict=True))

    # 5. Text, in time order so a reply can refer to what it answers.
    trader_of = [m[2] for m in msgs]
    ticker_of: list[str | None] = [None] * rows
    is_signal = [False] * rows
    content = [""] * rows
    for i, (epoch, c, t) in enumerate(msgs):
        ru = russian[c]
        day = (epoch - epoch0) // 86_400
        provider = t < N_PROVIDERS
        p = parent[i]
        if i in empty:
            continue
        if i in long_text:
            min_chars, force_russian = long_text[i]
            content[i] = writer.analysis(day, russian=ru or force_russian, min_chars=min_chars)
        elif p is not None and is_signal[p] and rng.random() < 0.35:
            trader_of[i] = trader_of[p]  # the caller follows up on their own signal
            content[i] = writer.update(ticker_of[p] or writer.ticker(), russian=ru)
        elif p is not None:
            content[i] = writer.reply_text(ticker_of[p], russian=ru)
        else:
            r = rng.random()
            if r < (0.45 if provider else 0.04):
                content[i], ticker_of[i] = writer.signal(signal_format[t], day, russian=ru)
                is_signal[i] = True
            elif r < (0.55 if provider else 0.06):
                content[i] = writer.analysis(day, russian=ru)
            else:
                content[i] = writer.chatter(day, russian=ru)
            if rng.random() < 0.03:
                content[i] = content[i] + " " + writer.emoji() * rng.randint(1, 3)

    # 6. Scrape time: seconds to minutes after posting (lognormal, median ~40 s).
    out: list[Row] = []
    for i, (epoch, c, _) in enumerate(msgs):
        lag = min(max(2, round(rng.lognormvariate(math.log(40), 1.0))), 1800)
        p = parent[i]
        out.append(
            (
                str(message_id[i]),
                _timestamp(epoch),
                content[i],
                "" if p is None else str(message_id[p]),
                str(traders[trader_of[i]]),
                str(chats[c]),
                _timestamp(epoch + lag),
            )
        )
    return out


def render_csv(rows: Sequence[Row]) -> bytes:
    """CSV with a header, minimal quoting, `\\n` line ends, UTF-8 without BOM."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(COLUMNS)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def write_zip(csv_bytes: bytes, out: Path, comment: str = "") -> None:
    """Write `telegram.csv` into `out` with a fixed entry date (reproducible bytes).

    The archive comment (see SYNTHETIC_MARK) tells the synthetic file from the original.
    """
    info = zipfile.ZipInfo(MEMBER, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o644 << 16
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        zf.comment = comment.encode("utf-8")
        zf.writestr(info, csv_bytes, compresslevel=9)
    tmp.replace(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="number of messages")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="zip file to write")
    args = parser.parse_args(argv)
    data = render_csv(generate(args.rows, args.seed))
    write_zip(data, args.out, f"{SYNTHETIC_MARK} --rows {args.rows} --seed {args.seed}")
    print(
        f"wrote {args.out} ({args.rows} rows, csv {len(data):,} bytes, "
        f"zip {args.out.stat().st_size:,} bytes)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
