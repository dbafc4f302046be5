"""The web app: server-rendered pages for staff, and ``/api`` as a mounted JSON sub-app.

What lives here: the application and its wiring (``app``, ``context``), identity and
sessions (``identity``), pages (``pages``, ``referral_pages``, ``privacy_pages``,
``login_pages``), forms, rendering and the app's words (``i18n`` looks words up in
``workflow.texts``), and the API (``api*``).

May import: ``runtime`` and everything below it. Never ``orchestration`` or ``cli``:
the app only commits; steps are carried out by whoever the runtime was given.
"""
