"""The words every stage shares: finding classes, ladder rungs, call patterns, torch's own
messages, and the records a diagnosis is made of (a cell's result, a rung's verdict).

Owns: plain data and registries, one small entry per class, rung or pattern.
May import: nothing of compilecheck but the package root's constants."""
