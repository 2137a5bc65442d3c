"""Post-training of the reasoning core: LoRA adapters for gpt-oss-20b (SFT, DPO, GRPO)."""
