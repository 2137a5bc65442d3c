"""Stock-analysis agent: LangGraph pipeline served on Amazon Bedrock AgentCore Runtime."""

__version__ = "0.1.0"
