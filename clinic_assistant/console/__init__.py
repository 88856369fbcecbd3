"""The staff console: clinic staff review conversations in a browser, escalations first.

A small Starlette app (``app.py``) served by uvicorn on ``STAFF_PORT`` (8090), on the
assistant's own database: it reads Rasa's tracker store (``events``) and the
escalation records, and keeps its own tables (``tables.py``) beside them: accounts,
sessions, the append-only audit log, escalation states, review states, tags, labels
and a summary index of the conversations that keeps the pages fast.
"""
