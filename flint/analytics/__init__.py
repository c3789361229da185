"""Analytics: tearsheet metrics, Monte Carlo confidence intervals, correlations."""
