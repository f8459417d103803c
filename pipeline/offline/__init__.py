"""The offline twin: embedded AWS, scheduler, event source, run, bench, embedded warehouse."""
