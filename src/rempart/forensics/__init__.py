"""Forensics: event logs, Sigma rules, the timeline, and the evidence locker."""
