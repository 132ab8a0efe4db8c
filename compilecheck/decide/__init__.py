"""From judged cells to advice: the ladder (each rung judged from its own cells), the
recommendation's rules, and the whole-policy estimate.

May import: vocab, env, observe, plan, run, classify."""
