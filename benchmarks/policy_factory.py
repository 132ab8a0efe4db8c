"""The built-in pi0-shaped policy as a user's own factory (`--probe benchmarks/policy_factory.py:tiny`):
what bench_policy.py diagnoses to measure a user's policy through --probe, not --policy."""
from compilecheck import probes


def tiny():
    return probes.build_policy("tiny", "deployed", probes.DuQuantConfig.from_env(), 0)


def tiny_2x():
    return probes.build_policy("tiny-2x", "deployed", probes.DuQuantConfig.from_env(), 0)
