"""The dataset as a pandas DataFrame, for notebooks: built from the publisher's typed records.

`pipeline.core.dataset.load_dataset` reads and types `telegram.csv` once (standard
library only, so it ships to Lambda without a layer); this module turns those same
records into typed columns, so a notebook and the publisher can never disagree on a
value.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.core.columns import Kind, of_kind
from pipeline.core.dataset import COLUMNS, Dataset, load_dataset

if TYPE_CHECKING:
    import pandas as pd

ID_COLUMNS = of_kind(Kind.INT64)
TIME_COLUMNS = of_kind(Kind.TIMESTAMP)


def load_frame(path: str | Path) -> pd.DataFrame:
    """Read the dataset into a DataFrame for notebooks.

    Ids are `Int64` (nullable), times `datetime64[ns, UTC]`, the text `string`.
    Raises ValueError naming file, line and column of a bad value, as `load_dataset` does.
    """
    return frame_of(load_dataset(path))


def frame_of(dataset: Dataset) -> pd.DataFrame:
    """The typed DataFrame of an already loaded `Dataset` (columns in `COLUMNS` order)."""
    import pandas as pd

    records = dataset.records
    data: dict[str, pd.Series] = {}
    for name in COLUMNS:
        values = [r[name] for r in records]
        if name in ID_COLUMNS:
            data[name] = pd.Series(pd.array(values, dtype="Int64"), name=name)
        elif name in TIME_COLUMNS:
            times = pd.to_datetime(pd.Series(values, dtype="string"), utc=True, format="ISO8601")
            data[name] = times.astype("datetime64[ns, UTC]")
        else:
            data[name] = pd.Series(values, dtype="string", name=name)
    return pd.DataFrame(data, columns=list(COLUMNS))
