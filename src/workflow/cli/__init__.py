"""The ``workflow`` command line."""
