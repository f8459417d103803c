"""Adapters to AWS: settings, boto3 clients, S3, the Redshift Data API and its SQL."""
