"""For analysts and validation runs: connect(), notebook helpers, smoke checks, validate."""
