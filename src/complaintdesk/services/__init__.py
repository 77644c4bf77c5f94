"""Service layer: one function per user action, working on a RegisterStore."""
from .common import Summary  # noqa: F401
