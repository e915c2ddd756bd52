"""citybus: an event-driven data-exchange bus between city government platforms."""
from citybus.errors import CitybusError, ValidationError

__all__ = ["CitybusError", "ValidationError", "__version__"]
__version__ = "0.1.0"
