#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seed inputs cut from the repository's test
# fixtures (tests/fixtures/...), so no large corpus is committed. Idempotent:
# each seed is named by its hash. fuzz/seeds/<target>/ holds the few
# hand-written seeds that have no fixture to come from.
set -euo pipefail
fuzz="$(cd "$(dirname "$0")" && pwd)"
fixtures="$fuzz/../tests/fixtures"
command -v jq >/dev/null || { echo "seed.sh needs jq (apt-get install jq)" >&2; exit 1; }

# put TARGET < bytes: stores one seed.
put() {
  local dir="$fuzz/corpus/$1" tmp
  mkdir -p "$dir"
  tmp="$(mktemp)"
  cat >"$tmp"
  mv "$tmp" "$dir/seed-$(sha1sum "$tmp" | cut -c1-16)"
}

for f in "$fixtures"/providers/anthropic/*.sse; do put anthropic <"$f"; put sse <"$f"; done
for f in "$fixtures"/providers/openai/*.sse; do put openai <"$f"; put sse <"$f"; done
for f in "$fixtures"/providers/openai-responses/*.sse; do put openai_responses <"$f"; put sse <"$f"; done
for f in "$fixtures"/providers/google/*.sse; do put google <"$f"; put sse <"$f"; done

# One chunk per line; chat inputs (`.in` records) go to the same target.
for f in "$fixtures"/chunks/*.jsonl; do
  while IFS= read -r line; do [ -n "$line" ] && printf '%s' "$line" | put chunk; done <"$f"
done
jq -c '.[]' "$fixtures/roundtrip/chat-inputs.json" | while IFS= read -r line; do printf '%s' "$line" | put chunk; done

# Head-start bodies around every UI message fixture; URLs from their file parts.
for f in "$fixtures"/ui-messages/*.json "$fixtures/roundtrip/ui-messages.json"; do
  jq -c '{chatId: "chat_1", trigger: "submit-message", headStartMessages: (if type == "array" then . else .messages end)}' "$f" | put head_start
  jq -r '.. | objects | .url? // empty | strings' "$f" | while IFS= read -r url; do printf '%s' "$url" | put url; done
done

count() { find "$fuzz/corpus/$1" -type f 2>/dev/null | wc -l; }
for t in sse anthropic openai openai_responses google chunk head_start url; do echo "seeded $t: $(count "$t") inputs"; done
