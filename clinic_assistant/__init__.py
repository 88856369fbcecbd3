"""The clinic assistant's own Python code that Rasa and the action server load."""
