"""The web app: server-rendered pages for staff, and ``/api`` as a mounted JSON sub-app.

What lives here: the application (``app``: the pages, with the API mounted at ``/api``;
``api``: the API sub-app), what handlers receive (``dependencies``: the services, the
caller and checked form posts as FastAPI dependencies, over the shared ``context``),
how errors are answered (``error_answers``: one table, rendered as a page or as JSON),
identity and sessions (``identity``), pages (``pages``, ``task_pages``,
``referral_pages``, ``privacy_pages``, ``login_pages``, sharing ``page_support``; a case's
meetings and tasks in words: ``meetings``, ``task_views``), forms and rendering
(the app's words are in ``workflow.texts``; ``definition_texts`` picks a definition's
text in the reader's language), and the API's routes
(``api_account``, ``api_cases``, ``api_privacy``, ``api_tasks``, sharing ``api_support``
and ``api_models``).

Handlers that reach the store or hash a password are plain ``def`` functions, which
FastAPI runs in its threadpool: the event loop only reads requests and writes answers.

May import: ``runtime`` and everything below it. Never ``orchestration`` or ``cli``:
the app only commits; steps are carried out by whoever the runtime was given.
"""
