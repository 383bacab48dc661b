"""rempart: ransomware response kit for local authorities and their shared digital services."""

from rempart.errors import RempartError

__version__ = "0.1.0"
__all__ = ["RempartError", "__version__"]
