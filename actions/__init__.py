"""Custom actions that the rasa-sdk action server runs (`rasa run actions --actions actions`)."""
