"""validate.py: checks a chat-completions request body against OpenAI's spec, as fake_llm.py
receives it.

The checks are hand-coded (fast: the fake must answer thousands of requests a second) from
the parts of shared/fixtures/llm/openai-openapi.yaml (OpenAPI 3.1.0, info.version 2.3.0) that
describe what arxdigest sends. SPEC below holds the numbers and names taken from that file;
check_schema.py re-reads the YAML and fails if any of them differs. On top of the spec, POLICY
rejects what the spec allows but arxdigest never means to send (streaming, tool messages,
content-part arrays), so a test can assert that the workers send only plain requests.

validate(body) returns a list of problems, each (reason, message, param, code): reason is a
short stable key counted in /_stats, message/param/code go into the OpenAI-style 400.
"""
import re

# Taken from openai-openapi.yaml; check_schema.py verifies every entry.
SPEC = {
    # components.schemas.CreateChatCompletionRequest.allOf[1].required
    "required": ("model", "messages"),
    # every property of CreateChatCompletionRequest, its allOf parts included
    # (CreateModelResponseProperties -> ModelResponseProperties); anything else is an
    # "Unrecognized request argument" at the real API
    "properties": frozenset((
        "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs",
        "max_completion_tokens", "max_tokens", "messages", "metadata", "modalities", "model",
        "moderation", "n", "parallel_tool_calls", "prediction", "presence_penalty",
        "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention",
        "reasoning_effort", "response_format", "safety_identifier", "seed", "service_tier",
        "stop", "store", "stream", "stream_options", "temperature", "tool_choice", "tools",
        "top_logprobs", "top_p", "user", "verbosity", "web_search_options")),
    # CreateChatCompletionRequest.messages: type array, minItems 1
    "messages_min_items": 1,
    # ChatCompletionRequestMessage: oneOf the six message schemas, discriminator "role";
    # each one's role enum
    "roles": frozenset(("developer", "system", "user", "assistant", "tool", "function")),
    # ChatCompletionRequest{System,Developer,User}Message.required
    "message_required": ("content", "role"),
    # ModelResponseProperties.temperature / top_p: anyOf [number min..max, null]
    "temperature": (0, 2),
    "top_p": (0, 1),
    # CreateChatCompletionRequest.{frequency,presence}_penalty, n, top_logprobs
    "frequency_penalty": (-2, 2),
    "presence_penalty": (-2, 2),
    "n": (1, 128),
    "top_logprobs": (0, 20),
    # CreateChatCompletionRequest.max_tokens / max_completion_tokens: integer, nullable
    "integer_fields": ("max_tokens", "max_completion_tokens", "n", "seed", "top_logprobs"),
    # CreateChatCompletionRequest.response_format: oneOf ResponseFormatText,
    # ResponseFormatJsonSchema, ResponseFormatJsonObject (discriminator "type")
    "response_format_types": frozenset(("text", "json_schema", "json_object")),
    # ResponseFormatJsonSchema.required and .json_schema.required
    "json_schema_outer_required": ("type", "json_schema"),
    "json_schema_required": ("name",),
    # StopConfiguration: string, or array of 1..4 strings
    "stop_max_items": 4,
}

# ResponseFormatJsonSchema.json_schema.name description: "Must be a-z, A-Z, 0-9, or contain
# underscores and dashes, with a maximum length of 64."
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# Policy: the roles arxdigest uses (no tool or function messages).
USED_ROLES = frozenset(("system", "user", "assistant", "developer"))

# OpenAI's message for a body that is not JSON (real API text).
NOT_JSON = ("We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
            "but what was sent was not valid JSON. If you have trouble figuring out how to fix "
            "this, please contact us through our help center at help.openai.com.)")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _range(body, name, out):
    """A nullable number within SPEC[name] (inclusive)."""
    if name not in body or body[name] is None:
        return
    lo, hi = SPEC[name]
    v = body[name]
    if not _is_num(v):
        out.append((f"{name}_type", f"Invalid type for '{name}': expected a number, but got "
                    f"{type(v).__name__} instead.", name, "invalid_type"))
    elif not lo <= v <= hi:
        what = "below minimum" if v < lo else "above maximum"
        out.append((f"{name}_range", f"Invalid '{name}': decimal {what} value. Expected a value "
                    f">= {lo} and <= {hi}, but got {v} instead.", name,
                    "decimal_below_min_value" if v < lo else "decimal_above_max_value"))


def _messages(msgs, out):
    """CreateChatCompletionRequest.messages and each ChatCompletionRequestMessage."""
    if not isinstance(msgs, list):
        out.append(("messages_type", "Invalid type for 'messages': expected an array of objects.",
                    "messages", "invalid_type"))
        return
    if len(msgs) < SPEC["messages_min_items"]:
        out.append(("messages_empty", "Invalid 'messages': empty array. Expected an array with "
                    "minimum length 1, but got an empty array instead.", "messages", "empty_array"))
        return
    for i, m in enumerate(msgs):
        p = f"messages[{i}]"
        if not isinstance(m, dict):
            out.append(("message_type", f"Invalid type for '{p}': expected an object.", p,
                        "invalid_type"))
            continue
        role = m.get("role")
        if role not in SPEC["roles"]:
            out.append(("message_role", f"Invalid value: '{role}'. Supported values are: 'system',"
                        " 'assistant', 'user', 'function', 'tool', and 'developer'.",
                        f"{p}.role", "invalid_value"))
            continue
        if role not in USED_ROLES:
            out.append(("policy_message_role", f"'{p}.role' is '{role}': arxdigest sends only "
                        "system, developer, user and assistant messages.", f"{p}.role",
                        "invalid_value"))
            continue
        c = m.get("content")
        if "content" not in m or (c is None and role != "assistant"):
            out.append(("message_content_missing", f"Missing required parameter: '{p}.content'.",
                        f"{p}.content", "missing_required_parameter"))
        elif isinstance(c, list):
            out.append(("policy_message_content_parts", f"'{p}.content' is an array of parts: "
                        "arxdigest sends plain strings.", f"{p}.content", "invalid_type"))
        elif not isinstance(c, str):
            out.append(("message_content_type", f"Invalid type for '{p}.content': expected one of"
                        " a string or array of objects, but got "
                        f"{type(c).__name__} instead.", f"{p}.content", "invalid_type"))
        if "name" in m and not isinstance(m["name"], str):
            out.append(("message_name_type", f"Invalid type for '{p}.name': expected a string.",
                        f"{p}.name", "invalid_type"))


def _response_format(rf, msgs, out):
    """CreateChatCompletionRequest.response_format (ResponseFormatText / JsonSchema / JsonObject)."""
    if rf is None:
        return
    if not isinstance(rf, dict):
        out.append(("response_format_type", "Invalid type for 'response_format': expected an "
                    "object.", "response_format", "invalid_type"))
        return
    t = rf.get("type")
    if t not in SPEC["response_format_types"]:
        out.append(("response_format_kind", f"Invalid value: '{t}'. Supported values are: "
                    "'text', 'json_object', and 'json_schema'.", "response_format.type",
                    "invalid_value"))
        return
    if t == "json_schema":
        js = rf.get("json_schema")
        if not isinstance(js, dict):
            out.append(("json_schema_missing", "Missing required parameter: "
                        "'response_format.json_schema'.", "response_format.json_schema",
                        "missing_required_parameter"))
            return
        name = js.get("name")
        if not isinstance(name, str):
            out.append(("json_schema_name", "Missing required parameter: "
                        "'response_format.json_schema.name'.", "response_format.json_schema.name",
                        "missing_required_parameter"))
        elif not _NAME_RE.match(name):
            out.append(("json_schema_name", f"Invalid 'response_format.json_schema.name': string "
                        f"does not match pattern. Expected a string that matches the pattern "
                        f"'^[a-zA-Z0-9_-]+$' (max 64), got '{name}'.",
                        "response_format.json_schema.name", "invalid_value"))
        # ResponseFormatJsonSchemaSchema: type object (additionalProperties: true)
        if "schema" in js and not isinstance(js["schema"], dict):
            out.append(("json_schema_schema", "Invalid type for "
                        "'response_format.json_schema.schema': expected an object.",
                        "response_format.json_schema.schema", "invalid_type"))
        if js.get("strict") is not None and not isinstance(js.get("strict"), bool):
            out.append(("json_schema_strict", "Invalid type for "
                        "'response_format.json_schema.strict': expected a boolean.",
                        "response_format.json_schema.strict", "invalid_type"))
    elif t == "json_object" and isinstance(msgs, list):
        # ResponseFormatJsonObject's description: the model will not produce JSON unless a
        # message asks for it; the real API answers this 400 when no message says "json".
        if not any(isinstance(m, dict) and isinstance(m.get("content"), str)
                   and "json" in m["content"].lower() for m in msgs):
            out.append(("json_object_without_json_word", "'messages' must contain the word "
                        "'json' in some form, to use 'response_format' of type 'json_object'.",
                        "messages", None))


def validate(body):
    """Problems with a parsed request body (empty list: valid)."""
    out = []
    if not isinstance(body, dict):
        return [("body_not_object", NOT_JSON, None, None)]
    for k in body:
        if k not in SPEC["properties"]:
            out.append(("unknown_argument", f"Unrecognized request argument supplied: {k}",
                        None, None))
    if "model" not in body:
        out.append(("model_missing", "you must provide a model parameter", None, None))
    elif not isinstance(body["model"], str) or not body["model"]:
        # ModelIdsShared: anyOf [string, string enum]
        out.append(("model_type", "Invalid type for 'model': expected a non-empty string.",
                    "model", "invalid_type"))
    if "messages" not in body:
        out.append(("messages_missing", "Missing required parameter: 'messages'.", "messages",
                    "missing_required_parameter"))
    else:
        _messages(body["messages"], out)
    for name in ("temperature", "top_p", "frequency_penalty", "presence_penalty"):
        _range(body, name, out)
    for name in SPEC["integer_fields"]:
        v = body.get(name)
        if v is None:
            continue
        if not _is_int(v):
            out.append((f"{name}_type", f"Invalid type for '{name}': expected an integer, but got "
                        f"{type(v).__name__} instead.", name, "invalid_type"))
        elif name in ("max_tokens", "max_completion_tokens") and v < 1:
            # the spec says only "integer"; the real API rejects 0 and negatives
            out.append((f"{name}_range", f"Invalid '{name}': integer below minimum value. "
                        f"Expected a value >= 1, but got {v} instead.", name,
                        "integer_below_min_value"))
        elif name in ("n", "top_logprobs") and not SPEC[name][0] <= v <= SPEC[name][1]:
            out.append((f"{name}_range", f"Invalid '{name}': expected a value >= {SPEC[name][0]} "
                        f"and <= {SPEC[name][1]}, but got {v} instead.", name, "invalid_value"))
    st = body.get("stream")
    if st is not None and not isinstance(st, bool):
        out.append(("stream_type", "Invalid type for 'stream': expected a boolean.", "stream",
                    "invalid_type"))
    elif st:
        out.append(("policy_stream", "'stream' is true: arxdigest reads whole answers and this "
                    "server does not stream.", "stream", "invalid_value"))
    stop = body.get("stop")
    if stop is not None and not isinstance(stop, str) and not (
            isinstance(stop, list) and 1 <= len(stop) <= SPEC["stop_max_items"]
            and all(isinstance(s, str) for s in stop)):
        out.append(("stop_type", "Invalid 'stop': expected a string or an array of 1 to 4 "
                    "strings.", "stop", "invalid_value"))
    _response_format(body.get("response_format"), body.get("messages"), out)
    return out
