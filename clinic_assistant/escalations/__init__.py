"""Escalations: what happens after a patient reports a danger sign.

``model.Escalation`` is the one type (a conversation's escalation, repeats merged);
``service.EscalationService`` validates, records and notifies in the background
and gives staff acknowledge/resolve; ``store`` keeps the ``escalations`` table in
the database at ``Settings.db_url``; ``notifier`` tells the clinic (signed webhook,
email over STARTTLS) and writes the outcome back. The action server's
``action_record_escalation`` (actions/escalation.py) is a thin adapter to the service.
"""
