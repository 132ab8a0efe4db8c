"""loralib (microsoft LoRA) Linear adapter, r=4, training mode (unmerged): forward adds the low-rank path."""
import torch
import loralib as lora


def factory():
    torch.manual_seed(0)
    m = lora.Linear(16, 8, r=4, lora_alpha=8)
    torch.nn.init.normal_(m.lora_B, std=0.02)  # non-zero B so the adapter path is exercised
    m.train()
    return m, (torch.randn(4, 16),)
