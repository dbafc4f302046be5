"""The ``workflow`` command line: definitions, cases, accounts, privacy, operations.

The outermost layer: may import anything in ``workflow``.
"""
