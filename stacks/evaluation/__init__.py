"""Online evaluation of the deployed agent: AgentCore Evaluations on the runtime endpoint."""
