"""Service layer: one function per user action, working on a RegisterStore."""
