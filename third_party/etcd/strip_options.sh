#!/usr/bin/env bash
# Writes an etcd .proto without what only Go needs: the gogoproto options and
# imports, and the google.api.http annotations (the grpc-gateway's REST
# routes) with their import. What remains (messages, fields, services) is
# unchanged, so the messages are etcd's wire format as they are; the test
# etcd_proto_strip_test checks that against the originals.
#
# Usage: strip_options.sh ORIGINAL.proto STRIPPED.proto
set -euo pipefail
mkdir -p "$(dirname "$2")"
awk '
  /^import "gogoproto\/gogo.proto";/ || /^import "google\/api\/annotations.proto";/ { next }
  /^option \(gogoproto\.[a-z_]+\) = (true|false);/ { next }
  # An annotation spans several lines, nested braces included; it ends with
  # the "};" that closes its outermost brace.
  /option \(google\.api\.http\) = \{/ { skipping = 1; depth = 0 }
  skipping {
    line = $0
    depth += gsub(/\{/, "{", line) - gsub(/\}/, "}", line)
    if (depth == 0 && $0 ~ /;[ \t]*$/) skipping = 0
    next
  }
  { print }
' "$1" > "$2.tmp"
mv "$2.tmp" "$2"
