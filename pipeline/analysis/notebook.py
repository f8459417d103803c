"""Helpers the analyst notebooks call, so each notebook cell stays a line or two.

Profiling the dataset (nulls, text lengths, skew, activity, reply threads),
simulating the publisher's sampling (sizes, parts, and the naive re-draw it
avoids), and summarising latencies. Values in, values out: randomness is an
`rng` parameter, nothing reads the environment. The one exception is
`sql_cells`, the one-line set-up of JupySQL's `%%sql` cells on the warehouse a
notebook's parameters name.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pipeline.core import envelope, sampling
from pipeline.core.columns import NAMES
from pipeline.core.limits import REDSHIFT_MAX_VARCHAR_BYTES

if TYPE_CHECKING:
    import pandas as pd

    from pipeline.analysis.checks import NotebookTarget
    from pipeline.analysis.warehouse import Connection
    from pipeline.aws.settings import Settings
    from pipeline.core.dataset import Dataset

# Where message lengths are cut for the length table: the architecture calls out
# empty messages and messages over 5,000 characters.
LENGTH_BINS: tuple[int, ...] = (0, 1, 51, 201, 1_001, 5_001)
LONG_MESSAGE_CHARS = 5_000
# Redshift VARCHAR and strings inside SUPER hold at most 65,535 bytes (see rows.py).
VARCHAR_MAX_BYTES = REDSHIFT_MAX_VARCHAR_BYTES
WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


# ---------------------------------------------------------------------------
# The dataset as an analyst meets it.


def schema_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per column: dtype, nulls, null rate, distinct values and an example value."""
    import pandas as pd

    rows = []
    for name in frame.columns:
        col = frame[name]
        present = col.dropna()
        rows.append({
            "column": name,
            "dtype": str(col.dtype),
            "nulls": int(col.isna().sum()),
            "null_rate": float(col.isna().mean()) if len(col) else 0.0,
            "distinct": int(col.nunique(dropna=True)),
            "example": _short(present.iloc[0]) if len(present) else None,
        })
    return pd.DataFrame(rows).set_index("column")


def _short(value: Any, width: int = 40) -> str:
    text = str(value).replace("\n", "⏎")
    return text if len(text) <= width else text[: width - 1] + "…"


def utf8_bytes(text: pd.Series) -> pd.Series:
    """The UTF-8 size of each string (what Redshift's VARCHAR limit counts), nulls as 0."""
    return text.fillna("").map(lambda s: len(s.encode("utf-8"))).astype("int64")


def length_profile(text: pd.Series) -> pd.Series:
    """Counts and quantiles of message length: empty, long (> 5,000 chars), over 65,535 bytes."""
    import pandas as pd

    chars = text.fillna("").str.len().astype("int64")
    size = utf8_bytes(text)
    return pd.Series({
        "messages": len(chars),
        "empty": int((chars == 0).sum()),
        f"over_{LONG_MESSAGE_CHARS}_chars": int((chars > LONG_MESSAGE_CHARS).sum()),
        f"over_{VARCHAR_MAX_BYTES}_bytes": int((size > VARCHAR_MAX_BYTES).sum()),
        "median_chars": float(chars.median()) if len(chars) else 0.0,
        "p90_chars": float(chars.quantile(0.90)) if len(chars) else 0.0,
        "p99_chars": float(chars.quantile(0.99)) if len(chars) else 0.0,
        "max_chars": int(chars.max()) if len(chars) else 0,
        "max_bytes": int(size.max()) if len(size) else 0,
    }, dtype="object")


def length_buckets(lengths: pd.Series, bins: Sequence[int] = LENGTH_BINS) -> pd.Series:
    """How many messages fall in each length band: `0`, `1–50`, ..., `>5000` (every band shown)."""
    import numpy as np
    import pandas as pd

    edges = list(bins)
    labels = []
    for low, high in zip(edges, [*edges[1:], None], strict=True):
        if high is None:
            labels.append(f">{low - 1}")
        elif high - low == 1:
            labels.append(str(low))
        else:
            labels.append(f"{low}–{high - 1}")
    values = np.asarray(lengths, dtype="int64")
    index = np.searchsorted(np.asarray(edges), values, side="right") - 1
    counts = np.bincount(index[index >= 0], minlength=len(edges))
    return pd.Series(counts, index=pd.Index(labels, name="length"), name="messages")


def concentration(counts: pd.Series) -> pd.Series:
    """How skewed activity is across groups (chats, traders): top shares and the Gini index.

    `counts` is messages per group. Gini is 0 when every group posts the same
    amount and approaches 1 when one group posts everything.
    """
    import numpy as np
    import pandas as pd

    values = np.sort(np.asarray(counts, dtype="float64"))[::-1]
    total = values.sum()
    groups = len(values)
    if groups == 0 or total == 0:
        return pd.Series({"groups": groups, "messages": int(total), "top1_share": 0.0,
                          "top10pct_share": 0.0, "gini": 0.0}, dtype="object")
    top_decile = max(1, int(np.ceil(groups * 0.10)))
    ascending = values[::-1]
    ranks = np.arange(1, groups + 1)
    gini = float((2 * (ranks * ascending).sum()) / (groups * total) - (groups + 1) / groups)
    return pd.Series({
        "groups": groups,
        "messages": int(total),
        "top1_share": float(values[0] / total),
        "top10pct_share": float(values[:top_decile].sum() / total),
        "gini": gini,
    }, dtype="object")


def lorenz_curve(counts: pd.Series) -> tuple[list[float], list[float]]:
    """Points of the Lorenz curve: share of groups (smallest first) vs share of messages."""
    import numpy as np

    values = np.sort(np.asarray(counts, dtype="float64"))
    total = values.sum()
    if len(values) == 0 or total == 0:
        return [0.0, 1.0], [0.0, 1.0]
    x = np.linspace(0.0, 1.0, len(values) + 1)
    y = np.concatenate([[0.0], np.cumsum(values) / total])
    return x.tolist(), y.tolist()


def activity_by_hour(timestamps: pd.Series) -> pd.Series:
    """Messages per hour of day (UTC), all 24 hours present."""
    hours = timestamps.dt.hour.value_counts().reindex(range(24), fill_value=0)
    hours.index.name = "hour_utc"
    return hours.rename("messages").astype("int64")


def activity_by_weekday(timestamps: pd.Series) -> pd.Series:
    """Messages per day of week (UTC), Monday first."""
    days = timestamps.dt.day_of_week.value_counts().reindex(range(7), fill_value=0)
    days.index = list(WEEKDAYS)
    days.index.name = "weekday"
    return days.rename("messages").astype("int64")


def daily_counts(timestamps: pd.Series) -> pd.Series:
    """Messages per calendar day (UTC), days without messages included as 0."""
    import pandas as pd

    if timestamps.empty:
        return pd.Series([], dtype="int64", name="messages")
    days = timestamps.dt.floor("D")
    counts = days.value_counts().sort_index()
    full = pd.date_range(counts.index.min(), counts.index.max(), freq="D")
    return counts.reindex(full, fill_value=0).rename("messages").astype("int64")


def thread_depths(frame: pd.DataFrame) -> pd.Series:
    """Reply depth per message: 0 for a message that replies to nothing, parent's depth + 1 else.

    Replies point at a message id in the same chat. A reply whose parent is not
    in the frame (deleted, or outside the scrape) counts as depth 1; a cycle
    (which real data should never have) stops the walk instead of looping.
    Index: the frame's index.
    """
    import pandas as pd

    chats = frame["chat_link"].tolist()
    ids = frame["message_id"].tolist()
    parents = frame["reply_message_id"].tolist()
    parent_of: dict[tuple[Any, Any], Any] = {}
    for chat, message, parent in zip(chats, ids, parents, strict=True):
        parent_of[(chat, message)] = None if pd.isna(parent) else parent

    depth: dict[tuple[Any, Any], int] = {}

    def resolve(key: tuple[Any, Any]) -> int:
        chain: list[tuple[Any, Any]] = []
        seen: set[tuple[Any, Any]] = set()
        current: tuple[Any, Any] | None = key
        base = 0
        while current is not None:
            if current in depth:
                base = depth[current]
                break
            if current not in parent_of:  # parent outside the data: the reply is a root's child
                base = 0
                break
            if current in seen:  # a cycle: stop as if the parent were missing
                base = 0
                break
            seen.add(current)
            chain.append(current)
            parent = parent_of[current]
            current = None if parent is None else (current[0], parent)
        if current is None:
            base = -1  # the walk ended at a message that replies to nothing
        for step, node in enumerate(reversed(chain), start=1):
            depth[node] = base + step
        return depth[key]

    values = [resolve((chat, message)) for chat, message in zip(chats, ids, strict=True)]
    return pd.Series(values, index=frame.index, name="depth", dtype="int64")


def reply_summary(frame: pd.DataFrame, depths: pd.Series | None = None) -> pd.Series:
    """Replies at a glance: how many, how many parents are in the data, the deepest chain."""
    import pandas as pd

    depths = thread_depths(frame) if depths is None else depths
    replies = frame["reply_message_id"].notna()
    keys = set(zip(frame["chat_link"].tolist(), frame["message_id"].tolist(), strict=True))
    reply_rows = frame[replies]
    found = sum(
        (chat, parent) in keys
        for chat, parent in zip(reply_rows["chat_link"].tolist(),
                                reply_rows["reply_message_id"].tolist(), strict=True)
    )
    return pd.Series({
        "messages": len(frame),
        "replies": int(replies.sum()),
        "reply_rate": float(replies.mean()) if len(frame) else 0.0,
        "parent_in_data": int(found),
        "max_depth": int(depths.max()) if len(depths) else 0,
        "distinct_parents": len(set(zip(reply_rows["chat_link"].tolist(),
                                         reply_rows["reply_message_id"].tolist(), strict=True))),
    }, dtype="object")


# ---------------------------------------------------------------------------
# How the publisher samples.


def sample_sizes(rng: random.Random, draws: int, low: int, high: int, population: int) -> list[int]:
    """`draws` sample sizes exactly as the publisher draws them (`sampling.draw_size`)."""
    return [sampling.draw_size(rng, low, high, population) for _ in range(draws)]


def uniformity_chi_square(values: Sequence[int], low: int, high: int, bins: int = 10) -> float:
    """Pearson's chi-square of `values` against a uniform distribution on low..high.

    The range is cut into `bins` equal-width bins (the width must divide it);
    the statistic has `bins - 1` degrees of freedom.
    """
    width, rest = divmod(high - low + 1, bins)
    if width == 0 or rest:
        raise ValueError(f"{bins} bins do not divide {low}..{high} evenly")
    counts = [0] * bins
    for value in values:
        if not low <= value <= high:
            raise ValueError(f"{value} is outside {low}..{high}")
        counts[(value - low) // width] += 1
    expected = len(values) / bins
    if expected == 0:
        return 0.0
    return sum((count - expected) ** 2 / expected for count in counts)


def chi_square_critical(df: int, z: float = 3.090232) -> float:
    """Upper critical value of chi-square with `df` degrees of freedom (Wilson-Hilferty).

    `z` is the standard normal quantile of the level: 3.090232 for 0.1 %.
    Within 1 % of the exact value from df = 5 on; no scipy needed.
    """
    k = 2.0 / (9.0 * df)
    return df * (1.0 - k + z * k**0.5) ** 3


def row_bytes(rows: Iterable[dict[str, Any]]) -> list[int]:
    """Each row's size inside an envelope, as the publisher sends it: the compact JSON of
    its values (an array, version 2) when every row is a record of the dataset's columns."""
    rows = list(rows)
    columnar = all(map(envelope.is_record, rows))
    return [len(envelope.row_json(row, columnar).encode("utf-8")) for row in rows]


def empty_envelope_bytes(batch_id: str, published_at: str, source: str) -> int:
    """The size of a one-part envelope with no rows (`"rows":[]`, `"row_count":0`), the
    columns named once as the publisher's version 2 does."""
    empty = envelope.Envelope(batch_id, 1, 1, published_at, source, 0, [], columns=NAMES)
    return len(envelope.encode(empty).encode("utf-8"))


def single_message_bytes(sizes: Sequence[int], empty_bytes: int) -> int:
    """The encoded size of all rows sent as one message: what the naive publisher checks.

    Exact for a one-part envelope: rows are joined by commas and `row_count`
    grows by the extra digits of n.
    """
    return _one_message_bytes(len(sizes), sum(sizes), empty_bytes)


@dataclass(frozen=True)
class RedrawResult:
    """Accepted sample sizes of the naive publisher and the draws each one took."""

    sizes: list[int]
    attempts: list[int]
    gave_up: int


def naive_redraw(
    rng: random.Random,
    sizes: Sequence[int],
    empty_bytes: int,
    max_bytes: int,
    *,
    samples: int,
    low: int = 1,
    high: int = 1000,
    max_attempts: int = 1000,
) -> RedrawResult:
    """Simulate the approach the project rejects: redraw while the sample exceeds one message.

    `sizes` are the dataset's per-row sizes (`row_bytes`). n is drawn as the
    publisher draws it; the rows are a uniform draw without replacement, as in
    `sampling.draw_indices` (done with numpy here, only for speed). A sample is
    kept only if all its rows fit in one message of `max_bytes`. Large n are
    rejected more often, so the accepted n lean toward small values. A sample
    that never fits within `max_attempts` draws counts in `gave_up`.
    """
    import numpy as np

    table = np.asarray(sizes, dtype="int64")
    population = len(table)
    generator = np.random.default_rng(rng.getrandbits(64))
    accepted: list[int] = []
    attempts: list[int] = []
    gave_up = 0
    for _ in range(samples):
        for attempt in range(1, max_attempts + 1):
            n = sampling.draw_size(rng, low, high, population)
            total = int(table[generator.choice(population, n, replace=False)].sum())
            if _one_message_bytes(n, total, empty_bytes) <= max_bytes:
                accepted.append(n)
                attempts.append(attempt)
                break
        else:
            gave_up += 1
    return RedrawResult(sizes=accepted, attempts=attempts, gave_up=gave_up)


def _one_message_bytes(n: int, rows_total: int, empty_bytes: int) -> int:
    if n == 0:
        return empty_bytes
    return empty_bytes + rows_total + (n - 1) + (len(str(n)) - 1)


def acceptance_by_size(
    rng: random.Random,
    sizes: Sequence[int],
    empty_bytes: int,
    max_bytes: int,
    *,
    n_values: Sequence[int],
    trials: int = 200,
) -> pd.Series:
    """P(a sample of n rows fits in one message of `max_bytes`), over `trials` samples per n."""
    import numpy as np
    import pandas as pd

    table = np.asarray(sizes, dtype="int64")
    population = len(table)
    generator = np.random.default_rng(rng.getrandbits(64))
    rates = []
    for n in n_values:
        k = min(n, population)
        fits = sum(
            _one_message_bytes(k, int(table[generator.choice(population, k, replace=False)].sum()),
                               empty_bytes) <= max_bytes
            for _ in range(trials)
        )
        rates.append(fits / trials)
    return pd.Series(rates, index=pd.Index(list(n_values), name="n"), name="p_fits")


def split_profile(
    dataset: Dataset,
    settings: Settings,
    rng: random.Random,
    now: datetime,
    draws: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the publisher's own `build_sample` `draws` times; describe samples and parts.

    Returns (samples, parts). samples: one row per draw with `n` (rows
    published), `parts`, `max_part_bytes` and `error` (the OversizedRowError
    text when a single row cannot fit in a message of this size, else None).
    parts: one row per message with `sample`, `part`, `rows`, `bytes`.
    """
    import pandas as pd

    from pipeline.app.publisher import build_sample
    from pipeline.core.envelope import OversizedRowError

    samples: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for index in range(draws):
        try:
            envelopes = build_sample(dataset, settings, rng, now)
        except OversizedRowError as exc:
            samples.append({"sample": index, "n": 0, "parts": 0, "max_part_bytes": 0,
                            "error": str(exc)})
            continue
        sized = [(env, len(envelope.encode(env).encode("utf-8"))) for env in envelopes]
        for env, size in sized:
            parts.append({"sample": index, "part": env.part, "rows": len(env.rows),
                          "bytes": size})
        samples.append({
            "sample": index,
            "n": sum(len(env.rows) for env, _ in sized),
            "parts": len(sized),
            "max_part_bytes": max(size for _, size in sized),
            "error": None,
        })
    return (pd.DataFrame(samples, columns=["sample", "n", "parts", "max_part_bytes", "error"]),
            pd.DataFrame(parts, columns=["sample", "part", "rows", "bytes"]))


def split_table(profiles: dict[str, tuple[pd.DataFrame, pd.DataFrame, int]]) -> pd.DataFrame:
    """One row per message-size limit summarising `split_profile` results.

    `profiles` maps a label to (samples, parts, max_bytes).
    """
    import pandas as pd

    columns = {}
    for label, (samples, parts, max_bytes) in profiles.items():
        sent = samples[samples["error"].isna()]
        columns[label] = {
            "limit_bytes": max_bytes,
            "samples": len(samples),
            "samples_with_oversized_row": int(samples["error"].notna().sum()),
            "mean_n": float(sent["n"].mean()) if len(sent) else 0.0,
            "mean_parts": float(sent["parts"].mean()) if len(sent) else 0.0,
            "max_parts": int(sent["parts"].max()) if len(sent) else 0,
            "multi_part_share": float((sent["parts"] > 1).mean()) if len(sent) else 0.0,
            "median_part_bytes": float(parts["bytes"].median()) if len(parts) else 0.0,
            "max_part_bytes": int(parts["bytes"].max()) if len(parts) else 0,
            "median_fill": float((parts["bytes"] / max_bytes).median()) if len(parts) else 0.0,
        }
    return pd.DataFrame.from_dict(columns, orient="index").round(3)


def redraw_table(naive: dict[str, RedrawResult], published: Sequence[int]) -> pd.DataFrame:
    """Sample sizes that reach the queue: the project's split vs the naive re-draw per limit."""
    import numpy as np
    import pandas as pd

    def describe(sizes: Sequence[int], draws: float) -> dict[str, float]:
        values = np.asarray(sizes, dtype="float64")
        if values.size == 0:
            return {"samples": 0, "mean_n": 0.0, "median_n": 0.0, "max_n": 0.0,
                    "share_n_over_500": 0.0, "draws_per_sample": draws}
        return {
            "samples": int(values.size),
            "mean_n": float(values.mean()),
            "median_n": float(np.median(values)),
            "max_n": float(values.max()),
            "share_n_over_500": float((values > 500).mean()),
            "draws_per_sample": draws,
        }

    rows = {"split (project)": describe(published, 1.0)}
    for label, result in naive.items():
        mean_draws = float(np.mean(result.attempts)) if result.attempts else float("nan")
        rows[f"naive re-draw, {label}"] = describe(result.sizes, mean_draws)
    return pd.DataFrame.from_dict(rows, orient="index").round(3)


# ---------------------------------------------------------------------------
# Warehouse results.


def latency_summary(seconds: pd.Series) -> pd.Series:
    """Count, median, p95, p99 and max of a latency in seconds (NaN-safe, empty-safe)."""
    import pandas as pd

    values = pd.to_numeric(seconds, errors="coerce").dropna().astype("float64")
    if values.empty:
        return pd.Series({"count": 0, "p50_s": None, "p95_s": None, "p99_s": None,
                          "max_s": None}, dtype="object")
    return pd.Series({
        "count": len(values),
        "p50_s": float(values.quantile(0.50)),
        "p95_s": float(values.quantile(0.95)),
        "p99_s": float(values.quantile(0.99)),
        "max_s": float(values.max()),
    }, dtype="object")


# ---------------------------------------------------------------------------
# SQL cells.

# JupySQL's settings for the notebooks: results as DataFrames (`<<` stores one), no
# connection banner, and errors left to `_one_line_error`.
JUPYSQL_CONFIG: dict[str, Any] = {"autopandas": True, "displaycon": False, "feedback": 0}


def sql_cells(where: NotebookTarget, alias: str = "wh", shell: Any = None) -> Connection:
    """Make `%sql` / `%%sql` cells run on the warehouse `where` names; returns the connection.

    Loads JupySQL (`%load_ext sql`), opens `where.connect()` (the DataFrame connection,
    for `conn.query(...)` in Python cells) and registers its DB-API connection as
    `%sql <connection> --alias <alias>`, so a cell `%%sql tickers <<` stores a DataFrame.
    A DB-API error in any cell shows as one line, not a traceback; the cell still fails,
    so a papermill run still stops there.
    """
    from pipeline.analysis import dbapi
    from pipeline.core.errors import PipelineError

    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None:
        raise PipelineError("sql_cells needs an IPython kernel (a notebook, or IPython)")
    from IPython.utils.capture import capture_output

    conn = where.connect()
    # Loading prints JupySQL's hints about its own settings files; the settings that
    # matter here are set just below, so the hints would only clutter every report.
    with capture_output(display=True):
        shell.run_line_magic("load_ext", "sql")
    for name, value in JUPYSQL_CONFIG.items():
        shell.run_line_magic("config", f"SqlMagic.{name} = {value!r}")
    dbapi_connection = conn.dbapi  # noqa: F841 (read by the magic below from this scope)
    shell.run_line_magic("sql", f"dbapi_connection --alias {alias}")
    shell.set_custom_exc((dbapi.Error,), _one_line_error)
    return conn


def _one_line_error(shell: Any, etype: type, value: BaseException, tb: Any,
                    tb_offset: int | None = None) -> list[str]:
    """IPython's handler for DB-API errors: `ProgrammingError: relation ... does not exist`."""
    line = [f"{etype.__name__}: {value}"]
    shell._showtraceback(etype, value, line)
    return line
