"""Domain layer: pure Python (stdlib only), no I/O. `now` and the calendar are passed in."""
