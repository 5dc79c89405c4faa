"""The ``seeding-contract`` CrossGuard pack: one folder per contract rule under ``rules/``.

Only ``__main__.py`` serves the pack (constructing ``PolicyPack`` serves forever); everything
else imports cleanly, so the rules are unit-tested in-process. Modules here import only the
standard library and ``pulumi_policy``: the pack runs in its own virtualenv, not the program's.
"""
