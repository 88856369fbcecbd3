"""The website side of the assistant: the demo clinic page and the chat widget's assets.

``python -m clinic_assistant.web.build`` installs the pinned front-end packages
(web/package-lock.json) and copies the socket.io browser client into web/vendor/;
``python -m clinic_assistant.web.server`` serves web/ on WEB_PORT (8080).
"""
