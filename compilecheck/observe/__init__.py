"""What a cell sees while it runs: torch's own records (logged messages, counters,
compilation metrics), the compile profile (FX graphs and their user sources), where code lives,
and the state audit (the walk of a module's state, the recording instruments, the audit).

May import: vocab, env."""
