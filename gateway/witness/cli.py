"""``gateway witness``: make a witness key, trust logs, serve the witness."""

from __future__ import annotations

import logging
from pathlib import Path

import click
import uvicorn

from gateway.audit.cosignatures import Cosigner
from gateway.audit.notes import NoteError, Verifier
from gateway.witness.keys import WitnessKeyExists, create_cosigner, load_cosigner
from gateway.witness.routes import create_witness_app
from gateway.witness.service import Witness
from gateway.witness.store import WitnessStore

_DIR = click.option(
    "--dir",
    "folder",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The witness's folder: its key and its store.",
)


@click.group("witness")
def witness_group() -> None:
    """Run a witness that cosigns checkpoints of logs it trusts (C2SP tlog-witness)."""


@witness_group.command("init")
@_DIR
@click.option("--name", required=True, help="The witness's name, e.g. dpo.example.org/witness.")
def init_command(folder: Path, name: str) -> None:
    """Make the witness key and store; print its verifier key (give it to the log's operator)."""
    try:
        cosigner = create_cosigner(folder, name)
    except WitnessKeyExists:
        raise click.ClickException(f"{folder} has a witness key already") from None
    except NoteError as bad:
        raise click.ClickException(str(bad)) from None
    WitnessStore.in_folder(folder)
    click.echo(cosigner.key.vkey())


@witness_group.command("key")
@_DIR
def key_command(folder: Path) -> None:
    """Print the witness's verifier key."""
    click.echo(_cosigner(folder).key.vkey())


@witness_group.command("add-log")
@_DIR
@click.option(
    "--vkey",
    "vkey_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The log's checkpoint verifier key (gateway audit key); its name is the origin.",
)
def add_log_command(folder: Path, vkey_file: Path) -> None:
    """Trust a log's checkpoint key; the log's origin is the key's name."""
    _cosigner(folder)
    try:
        verifier = Verifier.from_vkey(vkey_file.read_text())
    except NoteError as bad:
        raise click.ClickException(f"{vkey_file}: {bad}") from None
    added = WitnessStore.in_folder(folder).add_log(verifier)
    state = "now trusted" if added else "already trusted"
    click.echo(f"log {verifier.name} (key {verifier.id.hex()}) {state}")


@witness_group.command("serve")
@_DIR
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8100, show_default=True, type=int)
def serve_command(folder: Path, host: str, port: int) -> None:
    """Serve add-checkpoint and the cosigned checkpoints over HTTP."""
    witness = Witness(_cosigner(folder), WitnessStore.in_folder(folder))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_witness_app(witness), host=host, port=port, server_header=False)


def _cosigner(folder: Path) -> Cosigner:
    try:
        return load_cosigner(folder)
    except FileNotFoundError:
        raise click.ClickException(
            f"no witness key in {folder}: run gateway witness init"
        ) from None
