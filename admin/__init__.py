"""The control plane: CLI, config, the cycle and its ladder, planning, review, integration."""
