"""`workflow cpr ...`: the keys that encrypt CPR numbers at rest, and their rotation."""

from __future__ import annotations

import typer

from workflow.errors import WorkflowError

app = typer.Typer(help="Keys that encrypt CPR numbers in the store.", no_args_is_help=True)


@app.command("new-key")
def new_key() -> None:
    """Print a new key (on stdout; what to do with it on stderr)."""
    from workflow.privacy.cpr import KEY_FILE, KEYS_SETTING, CprCipher

    typer.echo(CprCipher.generate_key())
    typer.echo(
        f"Put it first in {KEYS_SETTING}, keeping the current keys after it "
        f"({KEYS_SETTING}=NEW_KEY,OLD_KEY; without the setting: the first key line of "
        f"{KEY_FILE} in WORKFLOW_HOME), restart every process, then run "
        "`workflow cpr rotate`; remove the old key only after that.",
        err=True,
    )


@app.command("rotate")
def rotate(
    batch: int = typer.Option(500, min=1, max=100_000, help="Rows per transaction."),
) -> None:
    """Re-encrypt every stored CPR number under the first key (plaintext is encrypted)."""
    from workflow.privacy.cpr import rotate_store
    from workflow.runtime import get_runtime

    try:
        runtime = get_runtime()
        count = rotate_store(runtime.sessions, runtime.cipher, batch)
    except WorkflowError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"rotated {count.rotated}, encrypted {count.encrypted} plaintext "
        f"({count.current} already under the first key)"
    )
