"""astro_lm: the reference language-model trainer that consumes astro-stream's datasets.

SFT from the traces' Parquet (`messages`, loss on the assistant turn only), GRPO-style RL from the
rollout groups in the TRL Parquet layout, GGUF export for llama.cpp's `llama-server`, policy
versions in the `astro.policy.v1` record format, and Countdown evaluation. `python -m astro_lm --help`.
"""

__version__ = "0.1.0"
