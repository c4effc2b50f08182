"""Catalogs: facts with units and sources, loaded and validated from ``catalogs/*.csv``."""

from planner.catalog.load import Catalogs, default_catalog_dir, load_catalogs

__all__ = ["Catalogs", "default_catalog_dir", "load_catalogs"]
