"""Reading what agents say, with plain data: provider limits and reset times, Claude Code's
stream-json events, the command lines we give ``claude``, and the templated CLIs' output.

The Claude fixtures are event lines captured from claude 2.1.328 (numbers varied where a
test needs them to differ).
"""
from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftctl.worker.agents import AgentOutcome, claude, codex
from shiftctl.worker.agents.auth import refused
from shiftctl.worker.agents.claude import READ_ONLY_TOOLS, WRITE_TOOLS, Stream
from shiftctl.worker.agents.limits import mentions_limit, reset_time
from shiftctl.worker.agents.templated import read_aider, read_gemini, read_opencode
from shiftctl.worker.main import decide
from shiftctl.worker.result import parse_status_block
from shiftctl.worker.spec import AgentSpec

# --- limits: the provider said no, not the task ---------------------------------------------


@pytest.mark.parametrize("text", [
    "Rate limit exceeded, please slow down",
    "rate_limit_error: Number of request tokens has exceeded your per-minute rate limit",
    "HTTP 429 Too Many Requests",
    "Claude AI usage limit reached|1767225600",
    "Quota exceeded for quota metric 'Generate Content API requests per minute'",
    "insufficient_quota: You exceeded your current quota",
    "Overloaded: the model is overloaded, try later",
    "API Error: 529 {\"type\":\"overloaded_error\"}",
])
def test_provider_limits_are_recognised_in_agents_words(text: str) -> None:
    assert mentions_limit(text)


@pytest.mark.parametrize("text", [
    "", "agent exited with code 1", "SyntaxError: invalid syntax in app.py",
    "4290 tests passed", "claude: error_max_turns",
])
def test_ordinary_failures_are_not_provider_limits(text: str) -> None:
    assert not mentions_limit(text)


def test_reset_time_reads_an_epoch_after_the_bar() -> None:
    now = 1_800_000_000.0
    assert reset_time(f"Claude AI usage limit reached|{int(now) + 3600}", now=now) == now + 3600


def test_a_reset_epoch_in_the_past_is_ignored() -> None:
    now = 1_800_000_000.0
    assert reset_time(f"usage limit reached|{int(now) - 60}", now=now) is None


@pytest.mark.parametrize("text, seconds", [
    ("Rate limited. Please try again in 20s.", 20.0),
    ("Quota exceeded. Please retry in 20.960174s.", 20.960174),
    ("overloaded; retry in 1.5 minutes", 90.0),
    ("Too many requests, try again in 250ms", 0.25),
    ("usage limit: resets in 2 hours", 7200.0),
    ("Try again in 30 seconds", 30.0),
])
def test_reset_time_reads_a_relative_delay(text: str, seconds: float) -> None:
    assert reset_time(text, now=1000.0) == pytest.approx(1000.0 + seconds)


@pytest.mark.parametrize("text", ["", "rate limit exceeded", "retry later", "try again in a bit"])
def test_no_stated_reset_time_is_none(text: str) -> None:
    assert reset_time(text, now=1000.0) is None


def test_reset_time_defaults_to_the_wall_clock() -> None:
    before = time.time()
    reset = reset_time("try again in 20s")
    assert reset is not None and before + 20 <= reset <= time.time() + 20


# --- claude: folding stream-json -------------------------------------------------------------

INIT = {"type": "system", "subtype": "init", "cwd": "/tmp/wt",
        "session_id": "0ed07097-ac8a-4927-ab88-d31b2201d219", "tools": ["Bash", "Edit", "Read",
                                                                        "Write"],
        "model": "claude-sonnet-5-5", "permissionMode": "acceptEdits",
        "apiKeySource": "ANTHROPIC_API_KEY", "claude_code_version": "2.1.328"}
TOOL_USE = {"type": "assistant", "message": {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-5-5",
    "content": [{"type": "tool_use", "id": "toolu_2", "name": "Write",
                 "input": {"file_path": "/tmp/wt/hello.txt", "content": "hi\n"}}],
    "stop_reason": None, "usage": {"input_tokens": 10, "output_tokens": 1}}, "session_id": "0ed0"}
TEXT = {"type": "assistant", "message": {
    "id": "msg_2", "type": "message", "role": "assistant", "model": "claude-sonnet-5-5",
    "content": [{"type": "text", "text": "Working on it."}]}, "session_id": "0ed0"}
FINAL = 'Done.\n\n```shiftctl\n{"status": "done", "summary": "wrote hello"}\n```'
SUCCESS = {"type": "result", "subtype": "success", "is_error": False, "duration_ms": 147,
           "num_turns": 3, "result": FINAL, "session_id": "0ed07097", "total_cost_usd": 0.0192,
           "usage": {"input_tokens": 3600, "cache_creation_input_tokens": 1200,
                     "cache_read_input_tokens": 24000, "output_tokens": 240},
           "permission_denials": [], "api_error_status": None, "terminal_reason": "completed"}


def retry(status: int, delay_ms: int, attempt: int = 1) -> dict[str, Any]:
    return {"type": "system", "subtype": "api_retry", "attempt": attempt, "max_retries": 2,
            "retry_delay_ms": delay_ms, "error_status": status,
            "error": "rate_limit" if status == 429 else "api_error", "session_id": "46ad05bd"}


LIMITED = {"type": "result", "subtype": "success", "is_error": True, "num_turns": 1,
           "result": "API Error: Request rejected (429) · Number of request tokens has exceeded "
                     "your rate limit", "session_id": "46ad", "total_cost_usd": 0,
           "usage": {"input_tokens": 0, "output_tokens": 0}, "api_error_status": 429,
           "terminal_reason": "api_error"}
OUTAGE = {"type": "result", "subtype": "success", "is_error": True, "num_turns": 1,
          "result": "API Error: 500 Internal server error. This is a server-side issue, usually "
                    "temporary", "total_cost_usd": 0, "api_error_status": 500,
          "terminal_reason": "api_error"}
MAX_TURNS = {"type": "result", "subtype": "error_max_turns", "duration_ms": 10895,
             "is_error": True, "num_turns": 2, "stop_reason": "tool_use",
             "session_id": "b1cacbdf", "total_cost_usd": 0.1657,
             "usage": {"input_tokens": 9386, "cache_creation_input_tokens": 1625,
                       "cache_read_input_tokens": 18206, "output_tokens": 410},
             "terminal_reason": "max_turns", "errors": ["Reached maximum number of turns (2)"]}


def fold(*events: dict[str, Any] | str, exit_code: int | None = 0,
         how: str = "exited") -> AgentOutcome:
    stream = Stream()
    for ev in events:
        stream.feed(ev if isinstance(ev, str) else json.dumps(ev))
    error = "" if not exit_code else f"agent exited with code {exit_code}"
    return stream.outcome(AgentOutcome(exit_code=exit_code, how=how, error=error))


def test_a_successful_result_reports_text_tokens_cost_and_session() -> None:
    out = fold(INIT, TOOL_USE, TEXT, SUCCESS)
    assert out.error == "" and not out.rate_limited
    assert out.final_text == FINAL
    assert parse_status_block(out.final_text).summary == "wrote hello"
    assert out.tokens_in == 3600 + 1200 + 24000  # fresh input plus cache writes and reads
    assert out.tokens_out == 240
    assert out.cost_usd == pytest.approx(0.0192)
    assert out.extra["session_id"] == "0ed07097"  # the result's own, over init's
    assert out.extra["num_turns"] == 3 and out.extra["model"] == "claude-sonnet-5-5"
    assert out.extra["tool_calls"] == 1 and out.extra["api_retries"] == 0


def test_noise_between_events_is_ignored() -> None:
    out = fold("", "warning: something on stdout", "{not json", "[1, 2]", INIT, SUCCESS)
    assert out.error == "" and out.final_text == FINAL


def test_a_429_result_is_rate_limited_until_the_providers_retry_after() -> None:
    before = time.time()
    out = fold(INIT, retry(429, 1200), retry(429, 31016, attempt=2), LIMITED, exit_code=1)
    assert out.rate_limited
    assert "429" in out.error and out.final_text == ""
    assert out.rate_limit_reset is not None
    assert before + 31.016 <= out.rate_limit_reset <= time.time() + 31.016  # the longest delay
    assert out.extra["api_retries"] == 2


def test_a_server_error_is_an_outage_without_a_reset_time() -> None:
    out = fold(INIT, retry(500, 1800), retry(500, 3900, attempt=2), OUTAGE, exit_code=1)
    assert out.rate_limited
    assert out.rate_limit_reset is None  # Claude Code's 5xx backoff is not the provider's word
    assert "500" in out.error


def test_running_out_of_turns_is_a_failure_not_a_limit() -> None:
    out = fold(INIT, TOOL_USE, MAX_TURNS, exit_code=1)
    assert not out.rate_limited and out.rate_limit_reset is None
    assert "error_max_turns" in out.error
    assert out.tokens_in == 9386 + 1625 + 18206 and out.cost_usd == pytest.approx(0.1657)
    # even with work committed, the attempt failed
    assert decide(out, None, "", ["abc123"]) == ("failed", out.error)


def test_an_error_result_is_a_failure_even_when_claude_exits_zero() -> None:
    out = fold(INIT, MAX_TURNS, exit_code=0)
    assert decide(out, None, "", ["abc123"])[0] == "failed"


def test_a_usage_limit_without_a_status_is_still_recognised() -> None:
    reset = int(time.time()) + 3600
    event = {"type": "result", "subtype": "success", "is_error": True, "num_turns": 1,
             "result": f"Claude AI usage limit reached|{reset}", "api_error_status": None}
    out = fold(INIT, event, exit_code=1)
    assert out.rate_limited and out.rate_limit_reset == reset


# what claude 2.1.x prints with no ANTHROPIC_API_KEY and no login (captured)
NOT_LOGGED_IN = {"type": "result", "subtype": "success", "is_error": True, "num_turns": 1,
                 "result": "Not logged in · Please run /login", "total_cost_usd": 0,
                 "api_error_status": None, "terminal_reason": "api_error"}


def test_not_logged_in_is_reported_as_what_it_is_never_as_success() -> None:
    out = fold(INIT, NOT_LOGGED_IN, exit_code=1)
    assert out.error == "claude: not logged in: Not logged in · Please run /login"
    assert "success" not in out.error and not out.rate_limited
    assert out.unauthenticated
    assert decide(out, None, "", ["abc123"]) == ("unauthenticated", out.error)
    assert "claude: error: API Error: 500" in fold(INIT, {**OUTAGE, "api_error_status": 400},
                                                   exit_code=1).error


@pytest.mark.parametrize("exit_code", [0, 1])
def test_no_result_event_is_an_error_that_says_so(exit_code: int) -> None:
    out = fold(INIT, TEXT, exit_code=exit_code)
    assert "without a result event" in out.error and f"exit code {exit_code}" in out.error
    assert out.final_text == "Working on it." and not out.rate_limited
    assert decide(out, None, "", ["abc123"])[0] == "failed"


def test_a_killed_process_keeps_the_processs_verdict() -> None:
    out = fold(INIT, TOOL_USE, exit_code=None, how="stalled")
    assert out.how == "stalled" and out.error == ""
    assert decide(out, None, "", [])[0] == "stalled"


# --- claude: the command line ----------------------------------------------------------------


def flag(argv: list[str], name: str) -> str:
    assert name in argv, f"{name} missing from {argv}"
    return argv[argv.index(name) + 1]


def test_a_work_profile_edits_and_runs_commands_with_nothing_asked() -> None:
    argv = claude.argv(AgentSpec(profile="claude", kind="claude", model="sonnet", max_turns=40))
    assert argv[:5] == ["claude", "-p", "--output-format", "stream-json", "--verbose"]
    assert flag(argv, "--model") == "sonnet" and flag(argv, "--max-turns") == "40"
    assert flag(argv, "--permission-mode") == "acceptEdits"
    tools = flag(argv, "--allowedTools").split(",")
    assert {"Bash", "Edit", "Write", "Read"} <= set(tools)
    assert "--disallowedTools" not in argv
    assert "--dangerously-skip-permissions" not in argv  # refused as root


def test_a_bare_profile_leaves_model_and_turns_to_the_cli() -> None:
    argv = claude.argv(AgentSpec(profile="c", kind="claude", argv=["/opt/claude/bin/claude"]))
    assert argv[0] == "/opt/claude/bin/claude"
    assert "--model" not in argv and "--max-turns" not in argv


def test_a_read_only_run_may_look_but_not_write() -> None:
    argv = claude.argv(AgentSpec(profile="claude", kind="claude", model="sonnet",
                                 read_only=True))
    assert flag(argv, "--permission-mode") == "dontAsk"
    tools = flag(argv, "--allowedTools").split(",")
    assert tools == list(READ_ONLY_TOOLS)
    assert not set(tools) & {"Bash", "Write", "Edit", "MultiEdit", "NotebookEdit"}
    assert all(t.startswith("Bash(") for t in tools if "Bash" in t)  # only listed commands
    assert set(flag(argv, "--disallowedTools").split(",")) == set(WRITE_TOOLS)


def test_a_profiles_permission_mode_and_tools_override_the_defaults() -> None:
    spec = AgentSpec(profile="c", kind="claude", permission_mode="plan",
                     allowed_tools=["Read", "Bash(make:*)"])
    argv = claude.argv(spec)
    assert flag(argv, "--permission-mode") == "plan"
    assert flag(argv, "--allowedTools") == "Read,Bash(make:*)"
    spec.read_only = True
    argv = claude.argv(spec)
    assert flag(argv, "--permission-mode") == "plan"
    assert flag(argv, "--allowedTools") == "Read,Bash(make:*)"
    assert "Write" in flag(argv, "--disallowedTools")  # still never writes


# --- templated CLIs: their own output formats ------------------------------------------------

BLOCK = '```shiftctl\n{"status": "done", "summary": "did it"}\n```'


def test_aider_tokens_are_summed_over_exchanges_and_cost_is_the_session_total() -> None:
    out = ("Editing hello.py\n"
           "Tokens: 2.1k sent, 340 received. Cost: $0.01 message, $0.01 session.\n"
           f"Applied edit to hello.py\nAll done.\n{BLOCK}\n"
           "Tokens: 12k sent, 1.5k received. Cost: $0.0042 message, $0.0142 session.\n")
    r = read_aider(out)
    assert (r.tokens_in, r.tokens_out) == (2100 + 12000, 340 + 1500)
    assert r.cost_usd == pytest.approx(0.0142)
    assert parse_status_block(r.final_text).summary == "did it"


def test_aider_token_lines_with_prompt_cache_counts_are_read() -> None:
    out = ("Tokens: 4.2k sent, 3.8k cache write, 310 received. Cost: $0.02 message, "
           "$0.02 session.\n"
           "Tokens: 5.0k sent, 3.8k cache hit, 120 received. Cost: $0.01 message, "
           "$0.03 session.\n")
    r = read_aider(out)
    assert (r.tokens_in, r.tokens_out) == (4200 + 5000, 310 + 120)
    assert r.cost_usd == pytest.approx(0.03)


def gemini_json(response: str, models: dict[str, tuple[int, int]]) -> str:
    stats = {"models": {name: {"api": {"totalRequests": 1, "totalErrors": 0},
                               "tokens": {"prompt": p, "candidates": c, "total": p + c,
                                          "cached": 0, "thoughts": 0, "tool": 0}}
                        for name, (p, c) in models.items()},
             "tools": {"totalCalls": 1}}
    return json.dumps({"session_id": "s-1", "response": response, "stats": stats}, indent=2)


def test_gemini_json_gives_the_response_and_tokens_of_every_model() -> None:
    out = gemini_json(f"Done.\n\n{BLOCK}", {"gemini-2.5-pro": (24939, 20),
                                            "gemini-2.5-flash": (1000, 7)})
    r = read_gemini(out)
    assert (r.tokens_in, r.tokens_out) == (25939, 27) and r.cost_usd == 0.0
    assert parse_status_block(r.final_text).summary == "did it" and r.error == ""


def test_gemini_json_after_text_on_the_same_line_is_read() -> None:
    r = read_gemini("Loaded cached credentials. " + gemini_json("hi", {"gemini-2.5-pro": (5, 1)}))
    assert (r.final_text, r.tokens_in, r.tokens_out) == ("hi", 5, 1)


def test_gemini_error_json_names_the_error() -> None:
    out = json.dumps({"error": {"type": "FatalInputError", "message": "No input provided",
                                "code": 42}}, indent=2)
    r = read_gemini(out)
    assert r.error.startswith("gemini: FatalInputError") and "No input provided" in r.error


def test_gemini_error_with_a_429_code_reads_as_a_limit() -> None:
    out = json.dumps({"error": {"type": "ApiError", "code": 429,
                                "message": "Resource has been exhausted (e.g. check quota)."}})
    assert mentions_limit(read_gemini(out).error)


def test_gemini_error_is_found_after_the_retry_chatter_on_stderr() -> None:
    final = {"session_id": "s-1", "error": {
        "type": "ApiError", "code": 429,
        "message": "Quota exceeded for quota metric 'Generate Content API requests per minute'. "
                   "Please retry in 20.5s."}}
    err = ("Loaded cached credentials.\n"
           "Attempt 1 failed with status 429. Retrying with backoff... ApiError: "
           '{"error":{"code":429,"message":"Resource exhausted","status":"RESOURCE_EXHAUSTED"}}\n'
           "    at GoogleGenAI.generateContent (file:///gemini.js:1:1)\n"
           + json.dumps(final, indent=2) + "\n")
    r = read_gemini(err)
    assert r.error.startswith("gemini: ApiError (429): Quota exceeded")
    assert reset_time(r.error, now=0.0) == pytest.approx(20.5)


def opencode_events(*texts: str, steps: list[tuple[int, int, float]]) -> str:
    lines = [{"type": "step_start", "timestamp": 1, "sessionID": "ses_1",
              "part": {"type": "step-start"}}]
    lines += [{"type": "text", "timestamp": 2, "sessionID": "ses_1",
               "part": {"type": "text", "text": t}} for t in texts]
    lines += [{"type": "step_finish", "timestamp": 3, "sessionID": "ses_1",
               "part": {"type": "step-finish", "reason": "stop", "cost": cost,
                        "tokens": {"input": i, "output": o, "reasoning": 0,
                                   "cache": {"read": 0, "write": 0}}}} for i, o, cost in steps]
    return "\n".join(json.dumps(x) for x in lines) + "\n"


def test_opencode_events_give_text_tokens_cost_and_session() -> None:
    r = read_opencode(opencode_events("Done.\n\n", BLOCK, steps=[(1000, 50, 0.01),
                                                                 (2000, 70, 0.02)]))
    assert (r.tokens_in, r.tokens_out) == (3000, 120)
    assert r.cost_usd == pytest.approx(0.03)
    assert parse_status_block(r.final_text).summary == "did it"
    assert r.extra["session_id"] == "ses_1" and r.error == ""


def test_opencode_error_event_names_the_error() -> None:
    out = json.dumps({"type": "error", "sessionID": "ses_1", "error": {
        "name": "APIError", "data": {"message": "Rate limit exceeded", "statusCode": 429}}})
    r = read_opencode(out)
    assert r.error == "opencode: Rate limit exceeded" and mentions_limit(r.error)


# --- nothing an agent prints crashes the reading of it ---------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=25)
EVENT_KEYS = ["type", "subtype", "message", "content", "result", "is_error", "usage",
              "total_cost_usd", "session_id", "num_turns", "api_error_status", "retry_delay_ms",
              "error_status", "permission_denials", "model", "text", "input_tokens",
              "output_tokens", "cache_read_input_tokens", "part", "tokens", "cost", "error",
              "response", "stats", "models", "input", "output", "prompt", "candidates", "data",
              "sessionID", "name"]
EVENT_TYPES = ["system", "assistant", "result", "init", "api_retry", "tool_use", "text",
               "step_finish", "error", "success"]


def shaped(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Objects with the keys agents use, holding anything."""
    return st.dictionaries(st.sampled_from(EVENT_KEYS),
                           st.sampled_from(EVENT_TYPES) | inner, max_size=6)


events = st.recursive(json_values, shaped, max_leaves=30).map(json.dumps)
lines = st.text(max_size=200) | events | st.builds(
    lambda depth, tail: "{\"a\":" + "[" * depth + tail, st.integers(0, 50_000),
    st.sampled_from(["", "]" * 50_000 + "}"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=8), st.sampled_from([0, 1, None]))
def test_any_stream_folds_without_raising(feed: list[str], exit_code: int | None) -> None:
    stream = Stream()
    for line in feed:
        stream.feed(line)
    out = stream.outcome(AgentOutcome(exit_code=exit_code))
    assert out.tokens_in >= 0 and out.tokens_out >= 0
    assert math.isfinite(out.cost_usd) and out.cost_usd >= 0
    assert out.rate_limit_reset is None or math.isfinite(out.rate_limit_reset)
    json.dumps(out.extra)  # lands in result.json


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=6).map("\n".join))
def test_any_cli_output_is_read_without_raising(out: str) -> None:
    for read in (read_aider, read_gemini, read_opencode):
        r = read(out)
        assert r.tokens_in >= 0 and r.tokens_out >= 0
        assert math.isfinite(r.cost_usd) and r.cost_usd >= 0


numbers = st.from_regex(r"\A[0-9.]{1,400}\Z")
units = st.sampled_from(["s", "ms", "m", "h", " seconds", " minutes", " hours", "sec", ""])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.builds(lambda w, n, u: f"{w} in {n}{u}",
                                         st.sampled_from(["try again", "retry", "resets"]),
                                         numbers, units)
       | st.builds(lambda n: f"limit reached|{n}", numbers))
def test_any_text_gives_a_finite_reset_time_or_none(text: str) -> None:
    reset = reset_time(text, now=1000.0)
    assert reset is None or (math.isfinite(reset) and reset >= 1000.0)
    assert isinstance(mentions_limit(text), bool)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_aider_lines_with_odd_numbers_are_read_without_raising(noise: str) -> None:
    for odd in (".", "1.2.3", "..5", "7"):
        r = read_aider(f"{noise}\nTokens: {odd}k sent, {odd} received. "
                       f"Cost: ${odd} message, ${odd} session.\n")
        assert r.tokens_in >= 0 and math.isfinite(r.cost_usd)


def test_aider_reporting_a_provider_limit_is_an_error_that_names_it() -> None:
    out = ("Working on it.\nlitellm.RateLimitError: AnthropicException - "
           '{"type":"rate_limit_error","message":"Number of request tokens has exceeded"}\n')
    error = read_aider(out).error
    assert error.startswith("aider: litellm.RateLimitError") and mentions_limit(error)
    assert read_aider("Done.\nTokens: 1k sent, 2 received.\n").error == ""


def test_a_context_or_size_limit_is_not_mistaken_for_a_rate_limit() -> None:
    for text in ("context limit reached", "output limit reached: file too large",
                 "max turns limit reached"):
        assert not mentions_limit(text), text


# --- refused credentials: no retry can help until a person fixes them -----------------------

# what codex 0.169 says of a key the provider refuses (captured against the model server)
CODEX_401 = ("unexpected status 401 Unauthorized: Incorrect API key provided: sk-test-***. You "
             "can find your API key at https://platform.openai.com/account/api-keys., url: "
             "http://127.0.0.1:46119/v1/responses")


@pytest.mark.parametrize("text", [
    "Not logged in · Please run /login",
    "Invalid API key · Please run /login",
    "API Error: 401 {\"type\":\"error\",\"error\":{\"type\":\"authentication_error\"}}",
    "OAuth token has expired. Please obtain a new token or refresh your existing token.",
    CODEX_401,
    "Error: 401 Unauthorized",
    "invalid_api_key: Incorrect API key provided",
    "x-api-key header is required",
])
def test_refused_credentials_are_recognised_in_agents_words(text: str) -> None:
    assert refused(text)


@pytest.mark.parametrize("text", [
    "tests failed: AssertionError in test_auth.py::test_login",
    "Reached maximum number of turns (2)",
    "API Error: 403 Forbidden: this model is not available to your organisation",
    "the agent changed nothing (no commits): not a success",
    "Rate limit exceeded (429)",
    "",
])
def test_ordinary_failures_are_not_refused_credentials(text: str) -> None:
    assert not refused(text)


def test_a_401_status_is_refused_whatever_the_words() -> None:
    assert refused("API Error", status=401) and not refused("API Error", status=500)


def test_a_claude_401_result_is_unauthenticated_not_a_limit() -> None:
    event = {**OUTAGE, "result": "Invalid API key · Please run /login", "api_error_status": 401}
    out = fold(INIT, event, exit_code=1)
    assert out.unauthenticated and not out.rate_limited
    assert decide(out, None, "", [])[0] == "unauthenticated"


def test_a_limit_is_never_mistaken_for_refused_credentials() -> None:
    out = fold(INIT, LIMITED, exit_code=1)
    assert out.rate_limited and not out.unauthenticated


def test_codex_refused_key_is_unauthenticated() -> None:
    stream = codex.Stream()
    stream.feed(json.dumps({"type": "turn.failed", "error": {"message": CODEX_401}}))
    out = stream.outcome(AgentOutcome(exit_code=1, error="agent exited with code 1"))
    assert out.unauthenticated and not out.rate_limited
    assert out.error.startswith("codex: unexpected status 401")
