"""Bridges between Proctor and other guardrail frameworks, each in its own subpackage.

Nothing is imported here: an adapter's third-party library is an optional extra, loaded only
when that adapter is used.
"""
