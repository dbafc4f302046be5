"""Delivery: carrying out what a step decided to tell people.

What lives here: the transactional outbox and its deliverer (``outbox``), composing a
message from a definition's template (``message``), calendar invitations (``ics``) and
the channels that send (``channels``: SMTP, webhook, file).

May import: ``store``, ``engine``, ``definitions``, ``errors``, ``settings``, ``texts``.
Never ``cases``, ``privacy`` services, ``web``, ``orchestration`` or ``cli``.
"""
