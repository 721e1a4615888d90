# Sourced by the shell tests: start_server BINARY LOG [FLAGS...] starts
# lrsched-server on a free loopback port (keeping nothing unless FLAGS say
# otherwise), sets server_pid and port, and fails if it does not start.
start_server() {
  "$1" --listen=127.0.0.1:0 --state=:memory: "${@:3}" > "$2" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 500); do
    grep -q '(port [0-9]*)' "$2" 2>/dev/null && break
    sleep 0.01
  done
  port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$2")
  if [ -z "$port" ]; then
    echo "lrsched-server did not start:"
    cat "$2"
    return 1
  fi
}

# stop_server: kills the server started last, if any, and reaps it without
# the shell's report of the kill.
stop_server() {
  if [ -n "${server_pid:-}" ]; then
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
