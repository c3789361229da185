"""Parameter optimisation (Optuna) and walk-forward analysis."""
