"""The participant registry and topic catalog (`topics/`), as data."""
from citybus.catalog.load import default_catalog, load_catalog
from citybus.catalog.model import Catalog, City, ConsumerGroupLevel, TopicSpec

__all__ = ["Catalog", "City", "ConsumerGroupLevel", "TopicSpec", "default_catalog", "load_catalog"]
