#!/usr/bin/env bash
# An independent client (buf curl) against a server that serves TLS and
# requires a token: through reflection over TLS, a call with the token gets
# through, one without it is UNAUTHENTICATED, one from a viewer's token that
# may not create is PERMISSION_DENIED, and plaintext gets nowhere.
#
# Usage: secure_buf_curl_test.sh SERVER_BINARY BUF_BINARY MAKE_CERTS
set -euo pipefail
server_binary=$1
buf=$2
make_certs=$3

work=$(mktemp -d)
server_pid=""
source "$(dirname "$0")/../testing/start_server.sh"
trap 'stop_server; rm -rf "$work"' EXIT
fail() {
  echo "secure_buf_curl_test: $*" >&2
  exit 1
}

"$make_certs" "$work/certs" > /dev/null
cat > "$work/tokens.yaml" <<'YAML'
callers:
  - {name: ops, role: operator, token: operator-token-0123456789}
  - {name: dashboard, role: viewer, token: viewer-token-0123456789}
YAML
start_server "$server_binary" "$work/server.log" --tls_cert_file="$work/certs/server.pem" \
  --tls_key_file="$work/certs/server.key" --auth_tokens_file="$work/tokens.yaml"

# curl METHOD DATA [buf curl flags...]: the answer (or error) in $work/out.
curl() {
  local method=$1 data=$2
  shift 2
  "$buf" curl --protocol grpc --cacert "$work/certs/ca.pem" "$@" --data "$data" \
    "https://127.0.0.1:$port/lrsched.v1.SchedulerService/$method" > "$work/out" 2>&1
}
create='{"job_id": "t", "base_lrs": [0.1], "spec": {"step_lr": {"step_size": 2}}}'

curl CreateJob "$create" -H "authorization: Bearer operator-token-0123456789" ||
  fail "CreateJob with the operator's token: $(cat "$work/out")"
grep -q '"jobId": "t"' "$work/out" || fail "no job in the answer: $(cat "$work/out")"

if curl ListJobs '{}'; then fail "ListJobs without a token was answered"; fi
grep -q '"code": "unauthenticated"' "$work/out" || fail "not UNAUTHENTICATED: $(cat "$work/out")"

curl ListJobs '{}' -H "authorization: Bearer viewer-token-0123456789" ||
  fail "ListJobs as a viewer: $(cat "$work/out")"
grep -q '"jobId": "t"' "$work/out" || fail "the viewer does not see the job: $(cat "$work/out")"
if curl DeleteJob '{"job_id": "t"}' -H "authorization: Bearer viewer-token-0123456789"; then
  fail "a viewer deleted a job"
fi
grep -q '"code": "permission_denied"' "$work/out" || fail "not PERMISSION_DENIED: $(cat "$work/out")"

if "$buf" curl --protocol grpc --http2-prior-knowledge --data '{}' \
     -H "authorization: Bearer operator-token-0123456789" \
     "http://127.0.0.1:$port/lrsched.v1.SchedulerService/ListJobs" > "$work/out" 2>&1; then
  fail "plaintext was answered: $(cat "$work/out")"
fi
echo "secure_buf_curl_test: TLS with tokens through buf curl as expected"
