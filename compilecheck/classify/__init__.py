"""Raw worker results into findings: one detector per finding class (detectors, call-pattern
checks, state consequences, slow compile, torch's graph-break registry), and the report's cells
with their status and, where a cell could not run, what CUDA graphs would do (cells).

May import: vocab, env, observe, plan, run."""
