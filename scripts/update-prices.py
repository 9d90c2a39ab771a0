#!/usr/bin/env python3
"""Refresh src/prices/snapshot.json from a local copy of LiteLLM's price map.

LiteLLM (MIT, see src/prices/NOTICE) publishes `model_prices_and_context_window.json`
in the BerriAI/litellm repository; the same file ships inside the `litellm` Python
package as `litellm/model_prices_and_context_window_backup.json`. Get a copy either way,
then:

    python3 scripts/update-prices.py PATH/TO/model_prices_and_context_window.json \
        --version 'litellm 1.110.2' [--date YYYY-MM-DD]

The snapshot keeps only chat (and Responses) models of the providers the gateway
serves -- anthropic `claude-*`; openai `gpt-*`, `o1*`, `o3*`, `o4*`, `chatgpt-*`,
`codex*`; gemini `gemini-*` -- and only the prices cost is computed from, converted
from USD per token to USD per million tokens:

- input, output, cache_read, cache_write (Anthropic's 5-minute cache write);
- a long-context tier (`*_above_NNNk_tokens`) where LiteLLM has one.

A missing cache price means the provider gives no discount: a cache read or write is
priced as input (OpenAI and Gemini publish no cache-write price; their cached tokens
are never written at a premium). A dated variant whose prices equal its undated name's
is dropped: the gateway looks a dated name up without its date. Standard library only.
"""

import argparse
import datetime
import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "prices" / "snapshot.json"

# provider -> name prefixes served by the gateway
PROVIDERS = {
    "anthropic": ("claude-",),
    "openai": ("gpt-", "o1", "o3", "o4", "chatgpt-", "codex"),
    "gemini": ("gemini-",),
}
MODES = {"chat", "responses"}
# Not text chat, even when LiteLLM files them under mode "chat".
EXCLUDE = re.compile(r"audio|tts|realtime|image|transcribe")
TIER = re.compile(r"^input_cost_per_token_above_(\d+)k_tokens$")
DATE_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2})$")


def per_mtok(value):
    """USD per token -> USD per million tokens, without float noise (3e-06 -> 3.0)."""
    return round(float(value) * 1_000_000, 9)


def price_of(entry):
    """The gateway's price record for one LiteLLM entry, or None if it has no token prices."""
    if entry.get("input_cost_per_token") is None or entry.get("output_cost_per_token") is None:
        return None
    inp = per_mtok(entry["input_cost_per_token"])
    out = per_mtok(entry["output_cost_per_token"])
    cr = entry.get("cache_read_input_token_cost")
    cw = entry.get("cache_creation_input_token_cost")
    price = {
        "provider": entry["litellm_provider"],
        "input": inp,
        "output": out,
        "cache_read": per_mtok(cr) if cr is not None else inp,
        "cache_write": per_mtok(cw) if cw is not None else inp,
    }
    tiers = sorted(int(m.group(1)) for f in entry for m in [TIER.match(f)] if m)
    if tiers:
        k = tiers[0]
        if len(tiers) > 1:
            print(f"note: several tiers {tiers}, keeping {k}k", file=sys.stderr)
        suffix = f"_above_{k}k_tokens"
        t_in = per_mtok(entry["input_cost_per_token" + suffix])
        t_out = entry.get("output_cost_per_token" + suffix)
        t_cr = entry.get("cache_read_input_token_cost" + suffix)
        t_cw = entry.get("cache_creation_input_token_cost" + suffix)
        price["long_context"] = {
            "threshold_tokens": k * 1000,
            "input": t_in,
            "output": per_mtok(t_out) if t_out is not None else out,
            # No tier price for the cache: the base one (or the tier's input, as above).
            "cache_read": per_mtok(t_cr) if t_cr is not None else (per_mtok(cr) if cr is not None else t_in),
            "cache_write": per_mtok(t_cw) if t_cw is not None else (per_mtok(cw) if cw is not None else t_in),
        }
    return price


def trim(source):
    """{bare model name: price} for the models the gateway serves."""
    models = {}
    prefixed = set()
    for key, entry in source.items():
        if not isinstance(entry, dict):
            continue
        provider = entry.get("litellm_provider")
        if provider not in PROVIDERS or entry.get("mode") not in MODES:
            continue
        name = key.split("/", 1)[1] if key.startswith(provider + "/") else key
        if "/" in name or not name.startswith(PROVIDERS[provider]) or EXCLUDE.search(name):
            continue
        price = price_of(entry)
        if price is None:
            continue
        # LiteLLM lists some Gemini models twice (`gemini/x` and `x`): the prefixed one,
        # the Gemini API's own namespace, wins.
        if name in models and (name in prefixed or key == name):
            continue
        models[name] = price
        if key != name:
            prefixed.add(name)
    # A dated variant priced like its undated name adds nothing: lookups strip dates.
    for name in list(models):
        base = DATE_SUFFIX.sub("", name)
        if base != name and models.get(base) == models[name]:
            del models[name]
    return dict(sorted(models.items()))


def render(models, version, date):
    """Compact JSON: one model per line, so a refresh reads as a diff of prices."""
    head = {
        "source": "LiteLLM model_prices_and_context_window.json (MIT, see NOTICE)",
        "source_version": version,
        "date": date,
        "unit": "USD per million tokens",
    }
    lines = ["{"]
    for k, v in head.items():
        lines.append(f"  {json.dumps(k)}: {json.dumps(v)},")
    lines.append('  "models": {')
    items = list(models.items())
    for i, (name, price) in enumerate(items):
        comma = "," if i + 1 < len(items) else ""
        lines.append(f"    {json.dumps(name)}: {json.dumps(price, separators=(',', ':'))}{comma}")
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", type=Path, help="a local copy of LiteLLM's price map")
    ap.add_argument("--version", required=True, help="where it came from, e.g. 'litellm 1.110.2'")
    ap.add_argument("--date", default=datetime.date.today().isoformat(), help="snapshot date [today]")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    datetime.date.fromisoformat(args.date)
    models = trim(json.loads(args.source.read_text()))
    if not models:
        sys.exit("no models kept: is this LiteLLM's price map?")
    args.out.write_text(render(models, args.version, args.date))
    counts = {}
    for p in models.values():
        counts[p["provider"]] = counts.get(p["provider"], 0) + 1
    print(f"{args.out}: {len(models)} models {counts}, {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
