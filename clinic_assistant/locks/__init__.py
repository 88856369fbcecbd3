"""Conversation locks that hold across replicas (Rasa's RedisLockStore does not, #9213)."""
