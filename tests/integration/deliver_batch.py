"""Run as a separate process: deliver the given outbox rows as one batch (``deliver_many``).

Used by the batch kill test: the process is killed (SIGKILL) while the SMTP server holds
one of the batch's mails.
"""

from __future__ import annotations

import sys

from workflow.runtime import get_runtime


def main() -> None:
    rows = [int(row) for row in sys.argv[1:]]
    get_runtime().deliverer.deliver_many(rows)


if __name__ == "__main__":
    main()
