"""Running cells: the pool of isolated worker processes, the worker's loop, one cell inside
a worker (audit, eager reference, compile, calls, measurements), the subject it builds, the
policy steps called the pattern's way, and steady-state timing.

May import: vocab, env, observe, plan."""
