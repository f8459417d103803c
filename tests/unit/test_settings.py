"""The settings per audience: each `PIPELINE_*` name belongs to one, and each reads its own."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pipeline.aws.settings import (
    ENV_BATCH_SIZE,
    ENV_FIELDS,
    ENV_SCHEMA,
    ENV_WAREHOUSE_PATH,
    LocalOptions,
    RuntimeSettings,
    Settings,
    env_names,
)
from pipeline.core.errors import ConfigError

pytestmark = pytest.mark.unit


def test_every_variable_belongs_to_exactly_one_audience_and_settings_is_both() -> None:
    runtime, local = env_names(RuntimeSettings), env_names(LocalOptions)
    assert runtime & local == set()
    assert runtime | local == set(ENV_FIELDS) == env_names(Settings)
    names = [f.name for f in dataclasses.fields(Settings)]
    assert sorted(names) == sorted(ENV_FIELDS.values()), "a field without a variable"


def test_a_lambda_reads_its_own_names_and_passes_over_a_local_runs() -> None:
    env = {ENV_SCHEMA: "other", ENV_WAREHOUSE_PATH: "x.duckdb", ENV_BATCH_SIZE: "7"}
    runtime = RuntimeSettings.from_env(env)
    assert runtime.schema == "other" and not hasattr(runtime, "warehouse_path")
    both = Settings.from_env(env)
    assert (both.schema, both.warehouse_path, both.batch_size) == ("other", Path("x.duckdb"), 7)


@pytest.mark.parametrize("audience", [RuntimeSettings, Settings])
def test_a_name_no_audience_knows_is_refused_by_each(audience: type[RuntimeSettings]) -> None:
    with pytest.raises(ConfigError, match=r"unknown setting.*PIPELINE_SCHEME"):
        audience.from_env({"PIPELINE_SCHEME": "typo"})


def test_settings_validate_both_parts() -> None:
    with pytest.raises(ConfigError, match=ENV_SCHEMA):
        Settings(schema="not a name")
    with pytest.raises(ConfigError, match=ENV_BATCH_SIZE):
        Settings(batch_size=0)


def test_to_env_round_trips_each_audience() -> None:
    settings = Settings(schema="s2", batch_size=9, seed=3)
    assert Settings.from_env(settings.to_env()) == settings
    runtime = RuntimeSettings(schema="s2", seed=3)
    assert set(runtime.to_env()) <= env_names(RuntimeSettings)
    assert RuntimeSettings.from_env(runtime.to_env()) == runtime


# Lambda: "When you set BatchSize to a value greater than 10, you must set
# MaximumBatchingWindowInSeconds to at least 1."
# https://docs.aws.amazon.com/lambda/latest/dg/API_EventSourceMappingConfiguration.html
@pytest.mark.parametrize(
    ("batch_size", "window_s", "accepted"),
    [
        (1, 0, True),
        (10, 0, True),  # Lambda's default batch size, no window: accepted
        (11, 0, False),  # the first size that needs a window
        (100, 0, False),  # the deployed batch size without its window
        (11, 1, True),
        (100, 5, True),  # the deployed defaults
        (10_000, 1, True),
    ],
)
def test_a_batch_over_ten_without_a_batching_window_is_refused_as_lambda_refuses_it(
    tmp_path, batch_size, window_s, accepted
):
    from pipeline.aws.settings import batching_refusal
    from pipeline.offline.runtime import SqsEventSource

    def build():
        return Settings(warehouse_path=tmp_path / "w.duckdb", batch_size=batch_size,
                        batching_window_s=window_s)

    def source():
        return SqsEventSource(queue=None, queue_arn="arn", handler=dict, region="us-east-1",
                              batch_size=batch_size, batching_window_s=window_s)

    assert (batching_refusal(batch_size, window_s) is None) is accepted
    if accepted:
        assert build().batch_size == batch_size and source().batch_size == batch_size
        return
    with pytest.raises(ConfigError, match=r"PIPELINE_BATCH_SIZE=.* PIPELINE_BATCHING_WINDOW_S"):
        build()
    with pytest.raises(ConfigError, match="needs a batching window of at least 1 s"):
        source()
