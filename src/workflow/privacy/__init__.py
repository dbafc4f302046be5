"""Privacy: who may see and do what, and the record that they did.

What lives here: accounts and their sessions (``accounts``), the access rule applied to a
stored case (``authorisation``), consents (``consents``), legal-basis grants
(``grants``), the audit log's own uses — export, the citizen's access log, pruning
(``audit``), retention and deletion of closed cases (``retention``) and CPR numbers
encrypted at rest (``cpr``). The audit *writer* is ``workflow.store.audit``, and the pure
access rule is ``workflow.engine.access``.

May import: ``store``, ``engine``, ``definitions``, ``errors``, ``settings``, ``texts``.
Never ``cases`` (the case service uses this package, not the other way round).
"""
