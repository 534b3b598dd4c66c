"""Discovery and recommendations: items, the interaction log and its features (decision 029)."""
