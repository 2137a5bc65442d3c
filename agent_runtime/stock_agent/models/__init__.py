"""The reasoning model behind the agent.

Shared types at the bottom (types), one module per provider, the factory (client).
"""
