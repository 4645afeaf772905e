"""``netadapt data``: list the data sources and download the ones that can be downloaded."""

from __future__ import annotations

import click

from netadapt.cli.settings import options_of, settings_from
from netadapt.config.data import DOWNLOADABLE, DownloadSettings


@click.group()
def data():
    """Data sources: list them, download CIFAR-10."""


@data.command("sources")
def sources():
    """List the data sources and how to name each one."""
    from netadapt.data import list_sources

    for usage in list_sources():
        click.echo(usage)


@data.command("download")
@options_of(DownloadSettings)
def download(**options):
    """Download SOURCE's official archive, check its MD5 and unpack it into DIRECTORY.

    Example: netadapt data download cifar10 ~/data/cifar10, then use --data cifar10:~/data/cifar10.
    """
    import importlib

    s = settings_from(DownloadSettings, options)
    module = importlib.import_module(DOWNLOADABLE[s.source])
    folder = module.download(s.directory, url=s.url or module.URL,
                             md5=None if s.no_check else (s.md5 or module.MD5))
    click.echo(f"{s.source} is in {folder}; use --data {s.source}:{s.directory}")
