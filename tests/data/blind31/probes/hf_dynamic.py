"""transformers DynamicCache in a hand-written one-token decode step over a tiny LlamaForCausalLM
(2 layers, hidden 32, 1 KV head): the step keeps the cache on the module and passes it as
`cache=` every call, as a manual generation loop does; the cache grows by one position
per call (keys/values concatenated)."""
import torch
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.cache_utils import DynamicCache


class DecodeStep(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model
        self.cache = DynamicCache(config=model.config)

    def forward(self, input_ids):
        out = self.model(input_ids=input_ids, cache=self.cache, use_cache=True)
        return out.logits


def factory():
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64)
    model = LlamaForCausalLM(cfg).eval()
    return DecodeStep(model).eval(), (torch.tensor([[5]]),)
