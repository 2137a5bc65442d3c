"""The HTTP server: the AgentCore entrypoint, its front door, its limits, run notifications."""
