"""The contract: columns, limits, identifiers, envelope, rows, entities, sampling, staging
keys, errors. Pure: no I/O, no boto3, no environment."""
