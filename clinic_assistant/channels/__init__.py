"""The clinic's own Rasa input channels (named in credentials.yml)."""
