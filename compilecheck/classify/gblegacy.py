"""torch's older wordings of today's graph-break types, mined from the sources of released
torches by scripts/gb_history.py (regenerate, do not edit): each row is today's break type,
the torch versions that raised the older message, and that message (`{}` for a value).
Today's side: torch 2.13.0; older: 2.0.1, 2.1.2, 2.2.2, 2.3.1, 2.4.1, 2.5.1, 2.6.0, 2.7.1, 2.8.0, 2.9.1."""

ROWS = """\
All __torch_function__ overrides returned NotImplemented due to TypeError from user code	2.2.2-2.7.1	All __torch_function__ overrides for call{}with args{}and kwargs{}returned NotImplemented
Assertion failed on symbolic shapes	2.3.1-2.6.0	Assertion failed on symbolic shapes. Did you make sure eager mode succeeds?
Attempted to a str() method implemented in C/C++	2.5.1-2.7.1	{}has a C/C++ based str method
Attempted to access non-callable attribute of TorchScript object	2.4.1-2.8.0	Only method calls on TorchScript objects can be supported safely. Please use method calls instead of attribute access.
Attempted to call a super() attribute that is not a function or method	2.0.1-2.7.1	non-function or method super:{}
Attempted to call function marked as skipped	2.6.0	Found an allow_in_graph decorator to a function which is created inside the parent function that is getting compiled. This is not supported for now.
Attempted to call function marked as skipped	2.4.1-2.6.0	Graph break due to unsupported Python builtin{}.{}. Please file an issue on GitHub so the PyTorch team can add support for it.
Attempted to call function marked as skipped	2.4.1-2.6.0	Graph break due to unsupported builtin{}.{}. This function is either a Python builtin (e.g. _warnings.warn) or a third-party C/C++ Python extension (perhaps created with pybind). If it is a Python builtin, please file an issue on GitHub so the PyTorch team can add support for it and see the next case for a workaround. If it is a third-party C/C++ Python extension, please either wrap it into a PyTorch-understood custom operator (see https://pytorch.org/tutorials/advanced/custom_ops_landing_page.html for more details) or, if it is traceable, use torch.compiler.allow_in_graph.
Attempted to guard on uninitialized nn.Module	2.0.1-2.6.0	Guard setup for uninitialized class{}
Attempted to pop from empty torch function mode stack	2.5.1-2.8.0	Popping from an empty torch function mode stack
Attempted to read a deleted variable	2.1.2-2.6.0	read deleted attribute
Attempted to read undefined local variable (implicit)	2.4.1-2.6.0	undefined LOAD_FAST (implicit)
Attempted to use `nested_tensor` with non-list input	2.4.1-2.8.0	nested_tensor with non-list input
Attempted to use `torch.nn.Parameter()` with export	2.5.1-2.8.0	nn parameter construction not supported with export
Attempted to use `torch.nn.functional.one_hot` with data-dependent output shape	2.4.1-2.8.0	torch.nn.functional.one_hot with data-dependent output shape
Attempted to use `torch.nn.modules.utils._ntuple` with unsupported argument type	2.2.2-2.8.0	torch.nn.modules.utils._ntuple({})
Attempted to use torch.nn.Parameter constructor with tensor subclass	2.5.1-2.8.0	Parameter constructor with tensor subclass NYI
Attempted to wrap strided NestedTensor	2.2.2-2.8.0	torch.compile does not support strided NestedTensor
Attempted to wrap torch._higher_order_ops.invoke_subgraph	2.6.0-2.7.1	Directly using invoke_subgraph is not supported. Use mark_compile_region
Attempted to wrap unbacked SymInt	2.7.1	unbacked symint input is not supported yet. If you need this feature, please file a github issue.
AutogradFunctionContextVariable escaped Dynamo-traced region	2.1.2-2.6.0	AutogradFunctionContextVariable escaped
BUILD_STRING key conflict	2.3.1-2.6.0	BUILD_STRING key conflict{}&{}
Backend compiler exception	2.5.1-2.6.0	Backend compiler failed with a fake tensor exception at{}Adding a graph break.
Bad import result	2.4.1-2.6.0	import a module that does not exist
Cannot check Tensor object identity without its fake value	2.2.2-2.6.0	Cannot check Tensor object identity without its fake value
Caught non-Exception value	2.4.1-2.6.0	except expects to recieve an object of exception type but received{}
Custom __getattribute__ in nn.Module attribute access	2.1.2-2.7.1	torch.nn.Module with a custom __getattribute__ defined
Data-dependent branching with non-constant __bool__	2.0.1-2.6.0	generic_jump on UserDefined with __bool__ returning non-constant
FSDP with use_orig_params=False	2.7.1	Dynamo only supports FSDP with use_orig_params=True
Fake tensor propagation exception	2.0.1-2.6.0	Unsupported:{}with fake tensor propagation.
FakeScriptObject missing method implementation	2.4.1-2.8.0	FakeScriptObject doesn't define method{}. Did you forget to implement it in the fake class?
Graph break under GenericContextWrappingVariable	2.2.2-2.6.0	Graph break under GenericContextWrappingVariable
HOP body output unsupported	2.7.1-2.9.1	HigherOrderOperator body's output must consist of tensors or ints only but got{}
HOP body taking non-Tensor as input	2.2.2	HigherOrderOperator with body that accepts non-Tensors as input that can't be lifted by tracer.
HOP body taking non-Tensor as input	2.1.2-2.2.2	HigherOrderOperator with body that accepts non-Tensors as input. Got:{}
HOP body taking non-Tensor as input	2.3.1-2.9.1	{}with body that accepts non-Tensors as input. Got:{}
HOP: Unsafe side effect	2.1.2-2.6.0	HigherOrderOperator: Mutating a variable not in the current scope (SideEffects)
HOP: non-callable variable	2.7.1-2.9.1	{}should be a Callable but is of type{}.
Illegal method invocation in strict mode	2.1.2-2.7.1	Illegal method invocation{}in strict mode
LOAD_FAST_CHECK on uninitialized variable	2.4.1-2.6.0	LOAD_FAST_CHECK on uninitialized variable
Missing CALL_INTRINSIC_1 handler	2.4.1-2.6.0	missing CALL_INTRINSIC_1 operand{}
Missing FakeTensor example value	2.2.2-2.6.0	`FakeTensor` example value was required but not available
Module-level backwards hooks require compiled autograd.	2.3.1-2.6.0	module-level backwards hooks require compiled autograd
Non-function or method in subclass of torch.autograd.Function	2.0.1-2.7.1	non-function or method in subclass of torch.autograd.Function:{}
Read uninitialized cell	2.6.0	cannot read uninitialized cell
Side effect on existing deque with limited maxlen	2.6.0	side effect on existing deque with limited maxlen
Skip inlining `torch.compiler.disable()`d function	2.1.2-2.6.0	call torch._dynamo.disable() wrapped function{}
Storing Tensor hook handle in globals	2.2.2-2.6.0	Storing handles in globals - NYI
Strict mode banned op	2.7.1	Getattr invocation{}in strict mode is not supported
Strict mode banned op	2.1.2-2.6.0	Illegal getattr invocation{}in strict mode
Tensor subclass overridden method call	2.2.2-2.7.1	Calling overridden method{}on a tensor subclass with a __torch_function__ override is not supported
Tensor.numpy() with trace_numpy=False	2.3.1-2.7.1	Tensor.numpy(). config.trace_numpy is False
Tensor.numpy() without NumPy installed	2.3.1-2.7.1	Tensor.numpy(). NumPy is not available
Tensor.retain_grad() with AOTDispatcher	2.7.1	retain_grad does not work with AOTDispatcher
Tensor.tolist() with non-integer tensor	2.3.1-2.7.1	Input tensor for tolist must be an integer tensor
TypedDict with optional keys	2.6.0-2.8.0	TypedDict with optional keys not supported
Unable to resolve super getattr	2.5.1-2.7.1	Unable to resolve super getattr
Unexpected failure during itertools.groupby() iteration	2.3.1-2.7.1	Unexpected failure in invoking function during accumulate. Failed running func{}({}{})
Unexpected failure during itertools.groupby() iteration	2.3.1-2.7.1	Unexpected failure when calling itertools.groupby
Unexpected type in sourceless builder	2.4.1-2.7.1	Unexpected type in sourceless builder{}.{}
Unexpected type of data placeholder op for parameter construction	2.4.1-2.8.0	Unexpected type of data placeholder op for parameter construction
Uninitialized nn.Module	2.4.1-2.6.0	uninitialized nn.Module:{}
Unreachable sub-generator code	2.1.2-2.6.0	Unreachable sub-generator code
UnspecializedNNModuleVariable missing method	2.0.1-2.7.1	UnspecializedNNModuleVariable missing{}
Unsupported autograd.Function context method	2.1.2-2.7.1	autograd.Function context method:{}
Unsupported autograd.Function method	2.1.2-2.2.2	backward is a non-function or method:{}
Unsupported event method	2.2.2-2.6.0	event method{}unsupported
Unsupported functorch tracing attempt	2.5.1-2.6.0	If you are reaching here, it means dynamo failed for one of the following reasons: - Calling torch.func.{}(compiled_fn) function from eager mode is not supported. Ensure that torch.func.{}is also wrapped within a torch.compile function. For more information, see PyTorch issue #128711. - torch.func.{}(fn) requires the function to be inlined by dynamo
Unsupported functorch tracing attempt	2.3.1-2.4.1	torch.func.{}(fn) requires the function to be inlined by dynamo
Unsupported ndarray method call	2.2.2-2.4.1	tobytes is not modelled in torch._numpy
Unsupported ndarray method call	2.5.1-2.7.1	{}is not modelled in torch._numpy
Unsupported super().__init__() call	2.1.2-2.7.1	super() nn.Module.__init__
Unsupported tensor subclass overridden attribute access	2.2.2-2.7.1	Accessing overridden method/attribute{}on a tensor subclass with a __torch_function__ override is not supported
Unsupported torch._C._ImperativeEngine method	2.5.1-2.7.1	torch._C._ImperativeEngine method:{}
Unsupported torch._C._ImperativeEngine.queue_callback()	2.5.1-2.7.1	queue_callback() is only supported when Compiled Autograd is enabled with fullgraph=True
WrapHigherOrderVariable: kwargs unexpected	2.9.1	kwargs should have been flattened into lifted args
Write to immutable cell	2.6.0	Dynamo currently doesn't support writing to such cell
`torch.from_numpy` with NumPy unavailable	2.4.1-2.8.0	torch.from_numpy. NumPy is not available
`torch.nn.Parameter()` with unsupported data type	2.3.1-2.8.0	Parameter(data={}) not implemented
assert with non-string message	2.4.1-2.7.1	assert with non-string message
async_op=True for distributed collectives	2.1.2-2.6.0	CollectiveFunctionRewriteVariable can't support async_op=True for{}
attempted to call sourceless user-defined object as a method	2.4.1-2.8.0	Sourceless UserDefinedObjectVariable method not supported
attempted to trace contextlib.contextmanager	2.7.1-2.8.0	contextlib.contextmanager
attempted to trace numpy function unsupported by PyTorch	2.1.2-2.9.1	Can't find numpy function{}in torch._numpy. Please file an issue to request support for this function.
backward_state does not support export	2.3.1-2.6.0	backward_state does not support export
bad args to builtin cast()	2.1.2-2.7.1	unsupported args to builtin cast():{}{}
builtin isinstance() cannot determine type of argument	2.3.1-2.7.1	isinstance({},{}): can't determine type of{}
call `torch.from_numpy` with `torch._dynamo.config.trace_numpy=False`	2.4.1-2.8.0	torch.from_numpy. config.trace_numpy is False
cannot reconstruct NullVariable in Python < 3.11	2.1.2-2.9.1	cannot reconstruct NullVariable in < Python 3.11
constant fold exception	2.4.1-2.7.1	constant fold exception:{}
dataclass fields failure	2.0.1-2.7.1	Dataclass fields handling fails for type{}
dtype mismatch between tensor and its gradient	2.5.1-2.7.1	Inconsistent dtype between tensor and its gradient. This can happen in FSDP and crashes meta tensor creation. This is potentially a workaround. Fixing it correctly requires some design around FSDP + torch.compile.
failed to call str() on user defined object	2.5.1-2.7.1	user defined object has no __str__ or __repr__ method
functools.partial() with non-literal keyword	2.3.1-2.7.1	functools.partial with non-literal keyword
getattr with no source	2.0.1-2.7.1	GETATTR with no source
hints_wrapper: improper args/kwargs	2.9.1	Expected 3 arguments but got{}. Usage: hints_wrapper(body_fn, args, kwargs, hints). kwargs required to be provided explicitly.
invalid set_subgraph_inputs and sub_kwargs settings	2.3.1-2.9.1	Use `set_subgraph_inputs=automatic` when passing `sub_kwargs`.
logging.Logger method not supported for non-export cases	2.4.1-2.5.1	Logger not supported for non-export cases
logging.Logger method not supported for non-export cases	2.6.0-2.9.1	Logger not supported for non-export cases. To avoid graph breaks caused by logger in compile-mode, it is recommended to disable logging by adding logging methods to config.ignore_logger_methods
mapping proxy cannot be reconstructed	2.7.1	Can't reconstruct an existing mapping variable because the connection to the original dict will be lost
missing args to functools.partial	2.3.1-2.8.0	functools.partial malformed
non-const argument in nn.Module method	2.0.1-2.7.1	non-const NNModule method{}
non-const keys in dict_keys	2.7.1	dict_keys with non-constant keys are not supported
non-const keys in mappingproxy	2.7.1	mapping proxy type supports only const keys
non-const setattr name on user-defined object	2.4.1-2.8.0	non-const setattr name:{}
non-constant `requires_grad` argument to `torch.nn.Parameter`	2.3.1-2.8.0	Parameter(requires_grad=...) not constant
numpy function that produces a const collection type encountered non-const arguments	2.1.2-2.3.1	numpy dtype function is not supported yet. Got type{}.
sort with non-constant keys	2.6.0-2.7.1	sort with non-constant keys
strict_mode: improper args	2.9.1	strict_mode HOO only works for flat inputs for now
strict_mode: unexpected kwargs	2.9.1	strict_mode HOO received unexpected kwargs:{}
torch.associative_scan: combine_fn improper number of leaves	2.9.1	combine_fn needs to produce one pytree for the output but combine_fn produces the pytree{}.
torch.associative_scan: improper args	2.9.1	Expected 2 positional arguments but got{}. Usage: associative_scan(combine_fn, xs)
torch.associative_scan: mismatched input/output tree structure	2.9.1	The tree structure of the xs and the outs of the combine_fn are are expected to be identical, but got xs:{}vs output:{}.
torch.associative_scan: zero-sized tensor	2.9.1	associative_scan() operator doesn't support zero-sized tensors during tracing.
torch.autograd._unsafe_preserve_version_counter escaped from compiled region	2.3.1-2.6.0	torch.autograd._unsafe_preserve_version_counter with graph break
torch.cond: differing branch outputs	2.9.1	Expected branches to return the same pytree structure.
torch.cond: improper args/kwargs	2.9.1	Expected 4 arguments but got{}. Usage: cond(pred, true_fn, false_fn, operands)
torch.cond: improper operands contents	2.9.1	Expect operands to be a tuple of pytrees that only consists of tensor leaves.
torch.cond: improper predicate	2.9.1	Expected pred to be bool or a boolean tensor with single item but got{}with original python type{}.
torch.cond: unsupported branch return type	2.9.1	Expected branches to return a possibly nested pytree of tensors or constant ints but it consists of others.
torch.cond: unsupported branch return type	2.9.1	Expected branches to return a possibly nested pytree of tensors or constant ints but it consists of others{}.
torch.distributed package is not available!	2.1.2-2.6.0	torch.distributed package is not available!
torch.map: improper inputs	2.9.1	map() operator doesn't support scalar or zero-sized tensors during tracing.
torch.nn.Module with a non-function custom __getattr__	2.1.2-2.7.1	torch.nn.Module with a non-function custom __getattr__
torch.scan: improper combine_fn	2.9.1	Expected combine_fn to be wrapped as functools.partial in scan user-facing api or a graph module if we're re-exporting but got{}. Please report an issue to PyTorch if you're seeing this.
torch.scan: improper combine_fn number of returns	2.9.1	Expect combine_fn to return a tuple (next_carry, y) but got{}
torch.scan: improper init	2.9.1	Expected init to be a list/tuple with at least one element but got{}. It seems to be an internal error, please report an issue to PyTorch.
torch.scan: no init leaves	2.9.1	scan() operator requires init leaves. It seems to be an internal error, please report an issue to PyTorch.
torch.scan: zero-sized tensor	2.9.1	NYI: scan() operator doesn't support zero scan_length.
torch.while_loop: improper additional_inputs	2.9.1	Expected additional_inputs to be a list/tuple but got{}. It seems to be an internal error, please report an issue to PyTorch.
torch.while_loop: improper args/kwargs	2.9.1	Expected 4 arguments but got{}. Usage: while_loop(cond_fn, body_fn, operands)
torch.while_loop: infinite loop detected	2.9.1	Infinite loop detected because while_loop's cond_fn always returns the same value{}
torch.while_loop: unsupported cond_fn return type	2.9.1	Expected cond_fn to return a scalar tensor or a bool but got{}
unsupported contextlib.* API	2.7.1-2.8.0	{}not supported. This may be due to its use of context-specific operations that are not supported in Dynamo yet (i.e. Exception handling)
unsupported grid type for triton hop check_grid	2.5.1-2.6.0	grid for the triton kernel is{}
unsupported method call on `typing` variable	2.6.0-2.9.1	unsupported method call on typing variablel
wrap_with_autocast: expected constant arg	2.6.0-2.9.1	device_type, dtype, enabled, cache_enabled must be constants
wrap_with_autocast: unexpected freevars	2.6.0-2.9.1	wrap_with_autocast: Got unexpected freevars{}
wrap_with_set_grad_enabled: non-constant grad_enabled	2.5.1-2.9.1	grad_enabled must be a constant
wrap_with_set_grad_enabled: unexpected freevars	2.5.1-2.9.1	wrap_with_set_grad_enabled: Got unexpected freevars{}
"""
