"""A scripted model server for tests: the real agent CLIs talk to it on 127.0.0.1."""
from __future__ import annotations

from model_server.script import (
                                 Conversation,
                                 Fault,
                                 Script,
                                 ToolCall,
                                 Turn,
                                 act,
                                 finish,
                                 hang,
                                 plan,
                                 rate_limited,
                                 say,
                                 server_error,
                                 status_block,
                                 tool,
                                 unauthorized,
                                 verdict,
)
from model_server.server import ModelServer

__all__ = ["Conversation", "Fault", "ModelServer", "Script", "ToolCall", "Turn", "act", "finish",
           "hang", "plan", "rate_limited", "say", "server_error", "status_block", "tool",
           "unauthorized", "verdict"]
