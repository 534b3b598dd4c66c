"""Who may call: API keys, their scopes and the principal a request acts as."""
