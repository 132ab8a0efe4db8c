"""Options into cells: the user's inputs checked (options), the probes that can be named
(built-in, files, entry points), the cells of the matrix, the ladder and the call patterns
(cells), the plain cell description that crosses to a worker (spec), and the run order (schedule).

May import: vocab, env, observe."""
