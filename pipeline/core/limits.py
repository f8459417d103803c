"""Limits the contract is built around, each defined once (AWS's with where AWS states them)."""

# SQS: a message body (and a whole SendMessageBatch) is at most 1 MiB, at least 1 KiB as a
# queue setting; a batch call takes at most 10 entries.
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
SQS_MIN_MESSAGE_BYTES = 1_024
SQS_MAX_MESSAGE_BYTES = 1_048_576
SQS_MAX_BATCH_ENTRIES = 10

# Lambda: a synchronous invocation's payload (so an SQS event source batch) is at most 6 MB.
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
LAMBDA_MAX_INVOKE_PAYLOAD = 6 * 1024 * 1024

# Redshift: VARCHAR, and a string inside SUPER, hold at most 65,535 bytes.
# https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html
REDSHIFT_MAX_VARCHAR_BYTES = 65_535

# Redshift BIGINT (and so every id column) is a signed 64-bit integer.
# https://docs.aws.amazon.com/redshift/latest/dg/r_Numeric_types201.html
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1

# The contract's own bound on timestamps (not an AWS limit): a year outside it is a
# scraper's or a parser's mistake, rejected with the reason rather than loaded.
EARLIEST_YEAR, LATEST_YEAR = 1970, 2100
