"""The incident workspace core: organisations, users, incidents, logbook, tasks, status."""
