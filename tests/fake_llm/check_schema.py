#!/usr/bin/python3
"""check_schema.py: proves that validate.SPEC says what openai-openapi.yaml says.

Loads the spec with PyYAML (Debian's python3-yaml, C loader) and derives every constant in
validate.SPEC from components.schemas; prints "schema ok" or the differences and exits 1.
Usage: check_schema.py PATH/TO/openai-openapi.yaml
"""
import os
import sys

import yaml

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import validate  # noqa: E402


def main():
    with open(sys.argv[1], "rb") as f:
        doc = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    S = doc["components"]["schemas"]

    def ref(o):
        return S[o["$ref"].split("/")[-1]] if "$ref" in o else o

    def parts(name):
        """The object parts of a schema, allOf references followed."""
        s = S[name]
        out = []
        for p in s.get("allOf", [s]):
            if "$ref" in p:
                out += parts(p["$ref"].split("/")[-1])
            else:
                out.append(p)
        return out

    def prop(name, key):
        """A property of a schema, the last allOf part that defines it winning."""
        found = None
        for p in parts(name):
            if key in p.get("properties", {}):
                found = p["properties"][key]
        return found

    def bounds(p):
        """(minimum, maximum) of a number/integer property, through anyOf [x, null]."""
        for alt in p.get("anyOf", [p]):
            if "minimum" in alt or "maximum" in alt:
                return (alt.get("minimum"), alt.get("maximum"))
        return None

    req = "CreateChatCompletionRequest"
    got = {}
    got["required"] = tuple(r for p in parts(req) for r in p.get("required", []))
    got["properties"] = frozenset(k for p in parts(req) for k in p.get("properties", {}))
    got["messages_min_items"] = prop(req, "messages")["minItems"]
    msg = S["ChatCompletionRequestMessage"]
    got["roles"] = frozenset(e for alt in msg["oneOf"] for e in ref(alt)["properties"]["role"]["enum"])
    got["message_required"] = tuple(S["ChatCompletionRequestSystemMessage"]["required"])
    for n in ("ChatCompletionRequestUserMessage", "ChatCompletionRequestDeveloperMessage"):
        if tuple(S[n]["required"]) != got["message_required"]:
            got["message_required"] = ("differs in " + n,)
    for name in ("temperature", "top_p", "frequency_penalty", "presence_penalty", "n", "top_logprobs"):
        got[name] = bounds(prop(req, name))
    ints = []
    for name in validate.SPEC["integer_fields"]:
        p = prop(req, name)
        types = {a.get("type") for a in p.get("anyOf", [p])}
        if "integer" in types:
            ints.append(name)
    got["integer_fields"] = tuple(ints)
    rf = prop(req, "response_format")
    got["response_format_types"] = frozenset(
        e for alt in rf["oneOf"] for e in ref(alt)["properties"]["type"]["enum"])
    js = S["ResponseFormatJsonSchema"]
    got["json_schema_outer_required"] = tuple(js["required"])
    got["json_schema_required"] = tuple(js["properties"]["json_schema"]["required"])
    stop = S["StopConfiguration"]
    got["stop_max_items"] = next(a["maxItems"] for a in stop["oneOf"] if a.get("type") == "array")
    # the json_schema name rule quoted in validate._NAME_RE
    desc = " ".join(js["properties"]["json_schema"]["properties"]["name"]["description"].split())
    name_rule_ok = "a-z, A-Z, 0-9, or contain underscores and dashes, with a maximum length of 64" in desc
    # the 429 Retry-After header: integer, minimum 1
    ra = doc["components"]["responses"]["TooManyRequests"]["headers"]["Retry-After"]["schema"]
    retry_after_ok = ra.get("type") == "integer" and ra.get("minimum") == 1

    bad = [k for k in validate.SPEC if got.get(k) != validate.SPEC[k]]
    for k in bad:
        print(f"MISMATCH {k}: validate.py has {validate.SPEC[k]!r}, the spec says {got.get(k)!r}")
    if not name_rule_ok:
        print("MISMATCH json_schema.name description changed:", desc)
    if not retry_after_ok:
        print("MISMATCH TooManyRequests Retry-After schema:", ra)
    if bad or not name_rule_ok or not retry_after_ok:
        sys.exit(1)
    print(f"schema ok: {len(validate.SPEC)} constants match {os.path.basename(sys.argv[1])}")


if __name__ == "__main__":
    main()
