#!/usr/bin/env bash
# W4 and W5 against each echo server: the plain C ones (epoll, io_uring), then corio's
# echo_server on each backend. Each server runs alone, started fresh; the load generators
# report the server's CPU time from /proc, so client and server sharing the CPUs does not
# blur it.
#   echo_bench.sh BUILD_DIR [ROUNDS=3]
set -euo pipefail
build=$(cd "$1" && pwd)
rounds=${2:-3}

# Starts SERVER_COMMAND..., runs the generators against it, stops it.
measure() {
    local impl=$1
    shift
    local out
    out=$(mktemp)
    "$@" >"$out" &
    local server=$!
    for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.05; done
    local port
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")
    if [ -z "$port" ]; then
        echo "# $impl: the server did not start ($(cat "$out"))"
        kill "$server" 2>/dev/null || true
        rm -f "$out"
        return
    fi
    "$build/bench/echo_load" "$impl" 127.0.0.1 "$port" "$server"
    "$build/bench/echo_stream" "$impl" 127.0.0.1 "$port" "$server"
    kill -TERM "$server"
    wait "$server" || echo "# $impl: the server exited with status $?"
    rm -f "$out"
}

# Rounds interleave the servers, so the machine's drift hits them alike.
for round in $(seq "$rounds"); do
    echo "# W4/W5 round $round of $rounds"
    measure c-epoll "$build/bench/c_echo_server" 0
    if [ -x "$build/bench/c_uring_echo_server" ]; then
        measure c-io_uring "$build/bench/c_uring_echo_server" 0 plain
        measure c-io_uring-multishot "$build/bench/c_uring_echo_server" 0 multishot
    elif [ "$round" = 1 ]; then
        echo "# c-io_uring: not built (corio was built without liburing-dev)"
    fi
    for backend in epoll io_uring; do
        measure "corio-$backend" "$build/examples/echo_server" --port 0 --backend "$backend"
    done
done
