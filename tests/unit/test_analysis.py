"""The notebooks' pure helpers: profiling, reply threads, sampling simulations, summaries."""

import random
from datetime import UTC, datetime

import pandas as pd
import pytest

from pipeline.analysis import notebook as analysis
from pipeline.aws.settings import Settings
from pipeline.core import envelope
from pipeline.core.dataset import Dataset

pytestmark = pytest.mark.unit

BATCH = "0b6f2a52-8d0c-4c4e-9d1e-0f7a0f6b9a11"
PUBLISHED = "2024-07-01T00:00:00Z"


def record(i: int, text: str = "gm", reply: int | None = None, chat: int = -100) -> dict:
    return {
        "message_id": i,
        "message_timestamp": "2024-03-01T12:34:56Z",
        "message_content": text,
        "reply_message_id": reply,
        "trader_id": 7,
        "chat_link": chat,
        "processing_time": "2024-03-01T12:35:01Z",
    }


def frame(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    for name in ("message_id", "reply_message_id", "trader_id", "chat_link"):
        out[name] = out[name].astype("Int64")
    return out


# --- the dataset ------------------------------------------------------------------------


def test_schema_table_counts_nulls_and_distinct_values_per_column():
    table = analysis.schema_table(frame([record(1), record(2, reply=1), record(3, reply=1)]))
    assert table.loc["reply_message_id", "nulls"] == 1
    assert table.loc["reply_message_id", "null_rate"] == pytest.approx(1 / 3)
    assert table.loc["reply_message_id", "distinct"] == 1
    assert table.loc["reply_message_id", "dtype"] == "Int64"
    assert table.loc["message_id", "nulls"] == 0


def test_length_buckets_show_every_band_including_empty_and_over_5000():
    lengths = pd.Series([0, 0, 1, 50, 51, 200, 201, 1000, 1001, 5000, 5001, 44_169])
    buckets = analysis.length_buckets(lengths)
    assert buckets.to_dict() == {
        "0": 2, "1–50": 2, "51–200": 2, "201–1000": 2, "1001–5000": 2, ">5000": 2,
    }


def test_length_buckets_of_no_messages_are_all_zero():
    assert analysis.length_buckets(pd.Series([], dtype="int64")).sum() == 0


def test_length_profile_counts_bytes_not_characters_for_the_varchar_limit():
    text = pd.Series(["", "gm", "é" * 40_000, "x" * 5_001], dtype="string")
    profile = analysis.length_profile(text)
    assert profile["empty"] == 1
    assert profile["over_5000_chars"] == 2
    # 40,000 characters of 'é' are 80,000 UTF-8 bytes: over Redshift's 65,535-byte limit.
    assert profile["over_65535_bytes"] == 1
    assert profile["max_chars"] == 40_000
    assert profile["max_bytes"] == 80_000


def test_concentration_is_zero_for_an_even_spread_and_high_when_one_group_posts_all():
    even = analysis.concentration(pd.Series([10, 10, 10, 10]))
    assert even["gini"] == pytest.approx(0.0)
    assert even["top1_share"] == pytest.approx(0.25)
    skewed = analysis.concentration(pd.Series([1000, 0, 0, 0, 0, 0, 0, 0, 0, 0]))
    assert skewed["gini"] == pytest.approx(0.9)  # the maximum for 10 groups: 1 - 1/10
    assert skewed["top1_share"] == 1.0
    assert skewed["top10pct_share"] == 1.0
    assert analysis.concentration(pd.Series([], dtype="int64"))["groups"] == 0


def test_lorenz_curve_runs_from_origin_to_one_one_and_never_above_the_diagonal():
    x, y = analysis.lorenz_curve(pd.Series([5, 1, 3, 1]))
    assert (x[0], y[0]) == (0.0, 0.0)
    assert (x[-1], y[-1]) == pytest.approx((1.0, 1.0))
    assert all(b <= a + 1e-12 for a, b in zip(x, y, strict=True))


def test_activity_by_hour_and_weekday_include_empty_slots_in_order():
    times = pd.Series(pd.to_datetime(["2024-03-04 09:15Z", "2024-03-04 09:45Z",
                                      "2024-03-10 23:00Z"], utc=True))
    hours = analysis.activity_by_hour(times)
    assert list(hours.index) == list(range(24))
    assert hours[9] == 2 and hours[23] == 1 and hours.sum() == 3
    days = analysis.activity_by_weekday(times)
    assert list(days.index) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert days["Mon"] == 2 and days["Sun"] == 1


def test_daily_counts_fill_days_without_messages_with_zero():
    times = pd.Series(pd.to_datetime(["2024-03-01 10:00Z", "2024-03-03 11:00Z"], utc=True))
    daily = analysis.daily_counts(times)
    assert daily.tolist() == [1, 0, 1]


# --- reply threads ----------------------------------------------------------------------


def test_thread_depth_follows_reply_chains_within_a_chat():
    rows = [
        record(1),
        record(2, reply=1),
        record(3, reply=2),
        record(4, reply=1),
        # the same message id in another chat is another message
        record(2, chat=-200),
        record(5, reply=2, chat=-200),
    ]
    depths = analysis.thread_depths(frame(rows))
    assert depths.tolist() == [0, 1, 2, 1, 0, 1]


def test_a_reply_to_a_message_outside_the_data_has_depth_one():
    depths = analysis.thread_depths(frame([record(7, reply=999), record(8, reply=7)]))
    assert depths.tolist() == [1, 2]


def test_a_reply_cycle_ends_the_walk_instead_of_looping():
    depths = analysis.thread_depths(frame([record(1, reply=2), record(2, reply=1)]))
    assert len(depths) == 2
    assert all(d >= 1 for d in depths)


def test_reply_summary_counts_replies_and_parents_found():
    data = frame([record(1), record(2, reply=1), record(3, reply=1), record(4, reply=99)])
    summary = analysis.reply_summary(data)
    assert summary["replies"] == 3
    assert summary["parent_in_data"] == 2
    assert summary["distinct_parents"] == 2
    assert summary["max_depth"] == 1


# --- sampling ---------------------------------------------------------------------------


def test_sample_sizes_are_the_publishers_draws_within_bounds():
    sizes = analysis.sample_sizes(random.Random(1), 2_000, 1, 1000, 50_000)
    assert min(sizes) >= 1 and max(sizes) <= 1000
    assert analysis.sample_sizes(random.Random(1), 5, 1, 1000, 3) == [
        min(n, 3) for n in analysis.sample_sizes(random.Random(1), 5, 1, 1000, 50_000)
    ]


def test_uniformity_chi_square_accepts_uniform_draws_and_rejects_biased_ones():
    rng = random.Random(20261125)
    uniform = [rng.randint(1, 1000) for _ in range(20_000)]
    biased = [min(rng.randint(1, 1000), rng.randint(1, 1000)) for _ in range(20_000)]
    critical = analysis.chi_square_critical(9)
    assert analysis.uniformity_chi_square(uniform, 1, 1000, bins=10) < critical
    assert analysis.uniformity_chi_square(biased, 1, 1000, bins=10) > critical


def test_uniformity_chi_square_rejects_bins_that_do_not_divide_the_range():
    with pytest.raises(ValueError, match="evenly"):
        analysis.uniformity_chi_square([1, 2], 1, 1000, bins=7)
    with pytest.raises(ValueError, match="outside"):
        analysis.uniformity_chi_square([0], 1, 1000, bins=10)


@pytest.mark.parametrize(("df", "exact"), [(9, 27.877), (19, 43.820), (999, 1143.9)])
def test_chi_square_critical_value_is_within_one_percent_of_the_table(df, exact):
    assert analysis.chi_square_critical(df) == pytest.approx(exact, rel=0.01)


@pytest.mark.parametrize("n", [0, 1, 9, 10, 99, 100, 1000])
def test_single_message_bytes_is_the_exact_size_of_the_encoded_envelope(n):
    rows = [record(i, text="é" * (i % 7) + '"quoted", | piped') for i in range(n)]
    empty = analysis.empty_envelope_bytes(BATCH, PUBLISHED, "telegram-scraper")
    (one,) = envelope.split(rows, batch_id=BATCH, published_at=PUBLISHED,
                            source="telegram-scraper", max_bytes=1_048_576)
    assert analysis.single_message_bytes(analysis.row_bytes(rows), empty) == len(
        envelope.encode(one).encode("utf-8")
    )


def test_naive_redraw_with_a_roomy_limit_accepts_every_first_draw():
    sizes = [300] * 5_000
    empty = analysis.empty_envelope_bytes(BATCH, PUBLISHED, "s")
    result = analysis.naive_redraw(random.Random(3), sizes, empty, 1_048_576, samples=500)
    assert result.attempts == [1] * 500
    assert result.gave_up == 0
    assert 400 < sum(result.sizes) / len(result.sizes) < 600


def test_naive_redraw_with_a_small_limit_keeps_only_small_samples():
    sizes = [300] * 5_000
    empty = analysis.empty_envelope_bytes(BATCH, PUBLISHED, "s")
    limit = 65_536
    result = analysis.naive_redraw(random.Random(3), sizes, empty, limit, samples=300)
    fits = (limit - empty) // 301  # every row is 300 bytes plus a comma
    assert max(result.sizes) <= fits
    assert sum(result.attempts) > len(result.attempts)  # it had to re-draw
    assert sum(result.sizes) / len(result.sizes) < fits  # roughly uniform below the cap


def test_naive_redraw_gives_up_when_nothing_can_fit():
    result = analysis.naive_redraw(random.Random(1), [10_000] * 10, 200, 1_024, samples=3,
                                   low=2, high=5, max_attempts=4)
    assert result.gave_up == 3 and result.sizes == []


def test_acceptance_by_size_falls_from_one_to_zero_as_n_grows():
    sizes = [300] * 5_000
    empty = analysis.empty_envelope_bytes(BATCH, PUBLISHED, "s")
    fits = analysis.acceptance_by_size(random.Random(1), sizes, empty, 65_536,
                                       n_values=[10, 100, 500, 1000], trials=10)
    assert fits.tolist() == [1.0, 1.0, 0.0, 0.0]


def small_dataset(texts: list[str]) -> Dataset:
    return Dataset(records=[record(i, text=t) for i, t in enumerate(texts)], source="test")


def test_split_profile_runs_the_publisher_and_every_part_fits():
    data = small_dataset(["x" * (i % 300) for i in range(400)])
    settings = Settings(max_message_bytes=4_096, sample_min=1, sample_max=200)
    samples, parts = analysis.split_profile(
        data, settings, random.Random(2), datetime(2024, 7, 1, tzinfo=UTC), 20
    )
    assert len(samples) == 20 and samples["error"].isna().all()
    assert (parts["bytes"] <= 4_096).all()
    assert parts.groupby("sample")["rows"].sum().tolist() == samples["n"].tolist()
    assert samples["parts"].max() > 1  # the limit is small enough to need splitting
    table = analysis.split_table({"4 KiB": (samples, parts, 4_096)})
    assert table.loc["4 KiB", "samples"] == 20
    assert table.loc["4 KiB", "max_part_bytes"] <= 4_096


def test_split_profile_records_a_row_too_big_for_any_message_instead_of_dropping_it():
    data = small_dataset(["y" * 5_000])
    settings = Settings(max_message_bytes=4_096, sample_min=1, sample_max=1)
    samples, parts = analysis.split_profile(
        data, settings, random.Random(2), datetime(2024, 7, 1, tzinfo=UTC), 2
    )
    assert samples["error"].str.contains("encodes to").all()
    assert parts.empty


def test_redraw_table_compares_the_split_with_each_naive_limit():
    naive = {"64 KiB": analysis.RedrawResult(sizes=[10, 20, 30], attempts=[1, 3, 2], gave_up=0)}
    table = analysis.redraw_table(naive, [100, 900])
    assert table.loc["split (project)", "mean_n"] == 500
    assert table.loc["split (project)", "share_n_over_500"] == 0.5
    assert table.loc["naive re-draw, 64 KiB", "max_n"] == 30
    assert table.loc["naive re-draw, 64 KiB", "draws_per_sample"] == 2


# --- summaries --------------------------------------------------------------------------


def test_latency_summary_ignores_missing_values_and_handles_none_at_all():
    summary = analysis.latency_summary(pd.Series([1.0, None, 3.0, 2.0]))
    assert summary["count"] == 3
    assert summary["p50_s"] == 2.0
    assert summary["max_s"] == 3.0
    empty = analysis.latency_summary(pd.Series([], dtype="float64"))
    assert empty["count"] == 0 and empty["p95_s"] is None
