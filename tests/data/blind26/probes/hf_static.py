"""transformers TorchExportableModuleWithStaticCache over a tiny Llama (the ExecuTorch serving wrapper):
a static KV cache registered as buffers, written in place at cache_position every call."""
import torch
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.generation import GenerationConfig
from transformers.integrations.executorch import TorchExportableModuleWithStaticCache


def factory():
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32)
    model = LlamaForCausalLM(cfg).eval()
    model.generation_config = GenerationConfig(use_cache=True, cache_implementation="static",
                                               cache_config={"batch_size": 1, "max_cache_len": 16})
    m = TorchExportableModuleWithStaticCache(model, batch_size=1, max_cache_len=16).eval()
    return m, (torch.tensor([[5]]), None, torch.tensor([3]))
