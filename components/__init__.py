"""One ComponentResource per concern, each configured from the typed stack config."""
