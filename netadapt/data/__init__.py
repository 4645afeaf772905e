"""Data sets as in-memory tensors: sources by name, a train/holdout/test bundle, fast batch loaders."""

from netadapt.data.bundle import DataBundle
from netadapt.data.loader import BatchLoader, make_loader
from netadapt.data.registry import list_sources, load_data, register_source

__all__ = ["BatchLoader", "DataBundle", "list_sources", "load_data", "make_loader", "register_source"]
