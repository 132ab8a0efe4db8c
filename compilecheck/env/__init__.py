"""The environment: which variables the installed torch reads (the knob lint), the
environment block for a bug ticket, compilecheck's cache folder and atomic file writes.

May import: vocab."""
