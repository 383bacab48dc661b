"""Contain: plan, apply, verify and undo containment actions (hosts, egress, accounts)."""
