"""lerobot 0.4.4 Diffusion Policy (Chi et al.), tiny and random: the module its owners compile.

lerobot/policies/diffusion/modeling_diffusion.py, DiffusionModel.__init__:
    if config.compile_model:
        self.unet = torch.compile(self.unet, mode=config.compile_mode)   # compile_mode "reduce-overhead"
and conditional_sample() calls self.unet(sample, t, global_cond=...) once per denoising step.
So the factory returns the policy's own `diffusion.unet` (DiffusionConditionalUnet1d, no wrapper)
with the arguments of one denoising step. State-only observations (no camera: the RGB encoder
needs pretrained-free resnet weights only, but is not what gets compiled)."""
import torch
from lerobot.configs.types import FeatureType, PolicyFeature
from lerobot.policies.diffusion.configuration_diffusion import DiffusionConfig
from lerobot.policies.diffusion.modeling_diffusion import DiffusionPolicy


def build():
    cfg = DiffusionConfig(
        input_features={
            "observation.state": PolicyFeature(type=FeatureType.STATE, shape=(4,)),
            "observation.environment_state": PolicyFeature(type=FeatureType.ENV, shape=(6,)),
        },
        output_features={"action": PolicyFeature(type=FeatureType.ACTION, shape=(2,))},
        n_obs_steps=2, horizon=16, n_action_steps=8,
        down_dims=(32, 64), kernel_size=3, n_groups=4, diffusion_step_embed_dim=32,
        num_inference_steps=10, device="cpu",
    )
    return DiffusionPolicy(cfg).eval()


def factory():
    torch.manual_seed(0)
    policy = build()
    unet = policy.diffusion.unet
    x = torch.randn(1, 16, 2)                        # noisy action chunk (B, horizon, action_dim)
    t = torch.full((1,), 90, dtype=torch.long)       # denoising timestep, as conditional_sample builds it
    global_cond = torch.randn(1, 2 * (4 + 6))        # (B, n_obs_steps * (state + env_state))
    return unet, (x, t, global_cond)
