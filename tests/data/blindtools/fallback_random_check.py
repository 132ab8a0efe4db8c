"""dynamo_check.py with torch._inductor.config.fallback_random=True (eager RNG inside inductor graphs).
Usage: python tests/data/blindtools/fallback_random_check.py PROBE"""
import runpy, sys, torch._inductor.config as c
c.fallback_random = True
sys.argv = ["dynamo_check.py", sys.argv[1], "inductor", "3"]
runpy.run_path("tools/dynamo_check.py", run_name="__main__")
