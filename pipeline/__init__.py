"""Telegram trading-chat ingest: publisher, loader, warehouse and the offline twin they run on."""

__version__ = "0.1.0"
