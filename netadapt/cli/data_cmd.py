"""``netadapt data``: list the data sources and download the ones that can be downloaded."""

from __future__ import annotations

import click

# source name -> module with URL, MD5 and download(directory, url, md5, progress)
DOWNLOADABLE = {"cifar10": "netadapt.data.cifar10"}


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
@click.argument("source", type=click.Choice(sorted(DOWNLOADABLE)))
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--url", default=None, help="Download from this URL (a mirror) instead of the official one.")
@click.option("--md5", default=None, help="The archive's expected MD5 (default: the official archive's).")
@click.option("--no-check", is_flag=True, help="Do not check the archive's MD5 (a mirror's own archive).")
def download(source, directory, url, md5, no_check):
    """Download SOURCE's official archive, check its MD5 and unpack it into DIRECTORY.

    Example: netadapt data download cifar10 ~/data/cifar10, then use --data cifar10:~/data/cifar10.
    """
    import importlib

    module = importlib.import_module(DOWNLOADABLE[source])
    folder = module.download(directory, url=url or module.URL, md5=None if no_check else (md5 or module.MD5))
    click.echo(f"{source} is in {folder}; use --data {source}:{directory}")
