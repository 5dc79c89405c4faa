"""Helpers the rules share: property access, messages, settings, resource type tokens."""
