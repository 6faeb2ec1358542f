#!/usr/bin/env bash
# The chat room end to end: chat_server and chat_client processes, each client's stdin a
# FIFO this script writes to. Every line each client printed is checked, in order; then a
# client that sends a line over 4 KiB is dropped while the others go on, and SIGTERM ends
# the server with exit status 0.
#   chat_test.sh BIN_DIR WORK_DIR
set -euo pipefail
bin=$(cd "$1" && pwd)
work=$2
rm -rf "$work"
mkdir -p "$work"
cd "$work"

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT

fail() {
    echo "FAILED: $*" >&2
    for f in *.out; do echo "--- $f" >&2; cat "$f" >&2; done
    exit 1
}

# Waits (up to 10 s) until FILE has the line LINE.
wait_for() {
    for _ in $(seq 200); do
        grep -qxF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "$1 never got the line '$2'"
}

"$bin/chat_server" --port 0 >server.out &
pids+=($!)
server=$!
for _ in $(seq 200); do [ -s server.out ] && break; sleep 0.05; done
first=$(head -n 1 server.out)
[[ $first =~ ^listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]] || fail "server said '$first'"
port=${BASH_REMATCH[1]}

# A client: NAME, its stdin a FIFO kept open on file descriptor FD. It must not inherit the
# other clients' FIFOs, or their stdin would never end.
join() {
    mkfifo "$1.in"
    "$bin/chat_client" --port "$port" --name "$1" <"$1.in" >"$1.out" 3>&- 4>&- 5>&- 6>&- &
    pids+=($!)
    eval "exec $2>$1.in"
    wait_for server.out "$1 joined"
}

join alice 3
join bob 4
join carol 5
echo "hi all" >&3
wait_for bob.out "alice: hi all"
wait_for carol.out "alice: hi all"
echo "hey alice" >&4
wait_for alice.out "bob: hey alice"
wait_for carol.out "bob: hey alice"

# A line over 4 KiB closes that connection only.
join dave 6
printf '%5000s\n' x >&6
wait_for alice.out "* dave left"
echo "still here" >&5
wait_for alice.out "carol: still here"
wait_for bob.out "carol: still here"

exec 5>&- # carol's stdin ends: she leaves
wait_for alice.out "* carol left"
wait_for bob.out "* carol left"
exec 3>&-
wait_for bob.out "* alice left"
exec 4>&- 6>&-
wait_for server.out "bob left"

kill -TERM "$server"
wait "$server" || fail "chat_server exited with $?"
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done

expect() {
    diff -u <(printf '%s\n' "${@:2}") "$1.out" >&2 || fail "$1 saw other lines"
}
expect alice "* bob joined" "* carol joined" "bob: hey alice" "* dave joined" "* dave left" \
    "carol: still here" "* carol left"
expect bob "* carol joined" "alice: hi all" "* dave joined" "* dave left" "carol: still here" \
    "* carol left" "* alice left"
expect carol "alice: hi all" "bob: hey alice" "* dave joined" "* dave left"
[ ! -s dave.out ] || fail "dave saw lines"
echo "chat: 4 clients, every line as expected"
