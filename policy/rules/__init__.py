"""One folder per rule: ``rule.py`` (its ``POLICY``) and its allowed/disallowed samples."""
