"""Escalation records: a row per red-flag message, and the notice sent to the clinic.

``store`` keeps the records (table ``escalations`` in the database at
``Settings.db_url``); ``notifier`` tells the clinic by webhook and/or email and
writes every outcome back to the record. The action server's
``action_record_escalation`` (actions/escalation.py) uses both.
"""
