"""The pytest fixture and api.check take any module a test can build (issue 26, point 6): a
class defined inside the test function, a module of the test file holding a function a factory
made and a lambda, a module of torch's own that refuses pickling (a parametrized layer: its way
out is factory=), and an object that truly cannot travel (a lock: one line naming it). A real
pytest run of a user's test file, in a fresh process."""
import subprocess
import sys
import textwrap

USER_TESTS = textwrap.dedent('''
    import threading

    import torch
    from torch.nn.utils import parametrizations


    def scaled(k):
        def inner(t):
            return t * k
        return inner


    class Holder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(8, 8)
            self.act = scaled(2.0)  # a function a factory made
            self.post = lambda t: t + 1  # a lambda

        def forward(self, x):
            return self.post(self.act(self.lin(x)))


    OPTS = dict(modes=["default"], cudagraphs="off", device="cpu", call_patterns=["loop"])


    def test_class_defined_in_the_test(compilecheck):
        class Step(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = torch.nn.Linear(8, 8)

            def forward(self, x):
                return self.lin(x).relu()

        report = compilecheck(Step(), (torch.randn(4, 8),), **OPTS)
        assert report.verdict == "PASS"


    def test_module_holding_closures(compilecheck):
        compilecheck(Holder(), (torch.randn(4, 8),), **OPTS)


    def test_torch_parametrized_layer_through_a_factory(compilecheck):
        def build():
            return parametrizations.orthogonal(torch.nn.Linear(8, 8)), (torch.randn(4, 8),)
        compilecheck(factory=build, **OPTS)


    def test_torch_parametrized_layer_itself(compilecheck):
        compilecheck(parametrizations.orthogonal(torch.nn.Linear(8, 8)), (torch.randn(4, 8),),
                     **OPTS)


    def test_a_lock_cannot_travel(compilecheck):
        m = Holder()
        m.guard = threading.Lock()
        compilecheck(m, (torch.randn(4, 8),), **OPTS)
''')


def test_a_users_test_file_runs_its_modules_through_the_fixture(tmp_path):
    (tmp_path / "test_users_layers.py").write_text(USER_TESTS)
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider",
                        "test_users_layers.py"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=900)
    out = p.stdout
    assert "3 passed" in out and "2 failed" in out, out[-3000:]
    assert "Can't pickle" not in out and "torch/serialization" not in out
    refused = [line for line in out.splitlines() if line.startswith("FAILED")]
    assert any("parametrized_layer_itself" in line for line in refused)
    assert any("lock_cannot_travel" in line for line in refused)
    # each refusal is one paragraph naming what cannot travel and the way out, no traceback
    assert "`guard` (a lock) cannot be pickled" in out
    assert "Serialization of parametrized modules" in out and "factory=" in out
    assert "Traceback" not in out
