"""`python -m pipeline.offline.load_replay`: the loader's statements timed one by one."""

from __future__ import annotations

import pytest

from pipeline.aws import sql
from pipeline.offline import load_replay

pytestmark = pytest.mark.integration


def test_the_replay_times_every_statement_of_a_load_and_the_checkpoint_after():
    figures = load_replay.replay(2, checkpoint_threshold="16MB")
    kinds = {load_replay._kind(s) for s in sql.render_load(
        "scraped", "s3://bucket/incoming/a.manifest", "s3://bucket/incoming/b.manifest",
        load_replay.ROLE)}
    assert set(figures["cpu_s"]) == kinds | {"COMMIT", "CHECKPOINT (what the close runs)"}
    assert figures["rows"] == 2 * load_replay.PARTS_PER_LOAD * load_replay.ROWS_PER_PART
    assert all(seconds > 0 for seconds in figures["cpu_s"].values())


def test_a_threshold_that_is_no_size_is_one_line_naming_the_option(capsys):
    with pytest.raises(SystemExit) as stop:
        load_replay.main(["--loads", "1", "--checkpoint-threshold", "lots"])
    assert stop.value.code == 2
    assert "--checkpoint-threshold 'lots' is not a size" in capsys.readouterr().err
