"""The project's error classes: the loader decides retry versus reject from the class alone."""


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose."""


class ConfigError(PipelineError, ValueError):
    """A setting is missing or malformed; the message names the variable."""


class TransientError(PipelineError):
    """Worth retrying: the message goes back to the queue (throttling, timeouts, lock conflicts)."""


class TerminalError(PipelineError):
    """Retrying cannot help: the record is rejected or, after the redrive count, dead-lettered."""


class PoisonMessageError(TerminalError):
    """An SQS body that cannot be decoded as an envelope at all."""


class WarehouseError(PipelineError):
    """A warehouse statement failed; carries the statement id and the warehouse's own message."""

    def __init__(
        self,
        message: str,
        *,
        statement_id: str | None = None,
        sub_statement: str | None = None,
        details: list[dict[str, object]] | None = None,
    ) -> None:
        parts = [message]
        if statement_id:
            parts.append(f"statement {statement_id}")
        if sub_statement:
            parts.append(f"failing sub-statement {sub_statement}")
        super().__init__(" | ".join(parts))
        self.error = message
        self.statement_id = statement_id
        self.sub_statement = sub_statement
        self.details = details or []


class TransientWarehouseError(WarehouseError, TransientError):
    """A warehouse failure worth retrying (serializable isolation 1023, throttling, resets)."""


class TerminalWarehouseError(WarehouseError, TerminalError):
    """A warehouse failure retrying cannot fix (bad SQL, a COPY that rejects the file)."""


class QueueError(TransientError):
    """An SQS call failed as a whole (throttled, unreachable, refused); the message says which."""


class MissingQueueError(QueueError, TerminalError):
    """The queue named does not exist (a wrong URL or a deleted stack): retrying cannot help."""


class MissingObjectError(TerminalWarehouseError):
    """A statement named a schema or relation the warehouse does not have (nothing loaded yet).

    The warehouse adapter decides this once, from the warehouse's own error; callers
    act on the class (an empty ledger, say), never on the message's words.
    """
