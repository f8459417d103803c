"""The Redshift SQL conformance table: fixture rows, cases and the runner shared by its tests."""
