"""The ``netadapt`` command: a thin click group whose sub-commands load lazily.

Each sub-command lives in its own module and is imported only when used, so ``netadapt --help``
stays fast (torch is not imported) and one broken plug-in cannot take the whole CLI down.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

import click

from netadapt.errors import MissingData, UserError

# command name -> "module:attribute"
COMMANDS = {
    "devices": "netadapt.cli.devices_cmd:devices",
    "profile": "netadapt.cli.profile_cmd:profile",
    "lut": "netadapt.cli.lut_cmd:lut",
    "models": "netadapt.cli.models_cmd:models",
    "train": "netadapt.cli.train_cmd:train",
    "export": "netadapt.cli.export_cmd:export",
    "run": "netadapt.cli.run_cmd:run",
    "verify": "netadapt.cli.verify_cmd:verify",
    "amc": "netadapt.cli.amc_cmd:amc",
    "report": "netadapt.cli.report_cmd:report",
    "sensitivity": "netadapt.cli.sensitivity_cmd:sensitivity",
    "prune": "netadapt.cli.prune_cmd:prune",
    "lottery": "netadapt.cli.lottery_cmd:lottery",
    "data": "netadapt.cli.data_cmd:data",
    "agent": "netadapt.cli.agent_cmd:agent",
}


def _available(target: str) -> bool:
    return importlib.util.find_spec(target.split(":")[0]) is not None


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(name for name, target in COMMANDS.items() if _available(target))

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None or not _available(target):
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="netadapt")
def cli():
    """Latency-aware NetAdapt: profile a device, then shrink a network until it meets a budget."""


def _can_ask() -> bool:
    """Whether a person is at the terminal to answer a question (never in CI)."""
    return sys.stdin.isatty() and sys.stderr.isatty() and not os.environ.get("CI")


def _offer_download(exc: MissingData) -> bool:
    """Ask whether to download missing data; True when it was downloaded, False when nobody can
    answer (the error is then reported as usual)."""
    if not _can_ask():
        return False
    click.echo(f"Error: {exc}", err=True)
    if not click.confirm(f"Download {exc.what} now?", default=False, err=True):
        sys.exit(2)  # the error is already on the screen
    exc.download()
    click.echo("Downloaded. Running the command again.", err=True)
    return True


def main(argv=None):
    """Entry point: user errors become one line on stderr and exit status 2.

    When data is missing and can be downloaded, a person at the terminal is asked whether to
    download it, and the command runs again once it is there.
    """
    try:
        try:
            cli.main(args=argv, prog_name="netadapt", standalone_mode=False)
        except MissingData as exc:
            if not _offer_download(exc):
                raise
            cli.main(args=argv, prog_name="netadapt", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Interrupted. Re-run the same command to resume where it stopped.", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("Interrupted. Re-run the same command to resume where it stopped.", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        click.echo(f"Error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except UserError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(0)
