"""Publish, load and operate, written against the ports in `app.ports`."""
