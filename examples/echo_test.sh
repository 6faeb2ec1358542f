#!/usr/bin/env bash
# echo_server end to end: it prints where it listens, echoes lines and a 1 MiB payload to two
# clients at once, and SIGTERM ends it with exit status 0. The backend comes from
# CORIO_BACKEND, as for every test, and is also passed with --backend.
#   echo_test.sh BIN_DIR WORK_DIR
set -euo pipefail
bin=$(cd "$1" && pwd)
work=$2
rm -rf "$work"
mkdir -p "$work"
cd "$work"

"$bin/echo_server" --port 0 ${CORIO_BACKEND:+--backend "$CORIO_BACKEND"} >server.out &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 200); do [ -s server.out ] && break; sleep 0.05; done
first=$(head -n 1 server.out)
if ! [[ $first =~ ^listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]]; then
    echo "FAILED: echo_server said '$first'" >&2
    exit 1
fi
port=${BASH_REMATCH[1]}

exec 3<>"/dev/tcp/127.0.0.1/$port"
exec 4<>"/dev/tcp/127.0.0.1/$port"
echo "first line" >&3
echo "second client" >&4
read -r a <&3
read -r b <&4
[ "$a" = "first line" ] && [ "$b" = "second client" ] || { echo "FAILED: got '$a' '$b'" >&2; exit 1; }

head -c 1048576 /dev/urandom >payload
# Write and read at once, so neither side's buffers fill up.
cat payload >&3 &
writer=$!
head -c 1048576 <&3 >echoed
wait $writer
cmp payload echoed || { echo "FAILED: the 1 MiB payload came back different" >&2; exit 1; }
exec 3>&- 4>&-

kill -TERM $server
if ! wait $server; then
    echo "FAILED: echo_server exited with $?" >&2
    exit 1
fi
echo "echo: lines and 1 MiB echoed, clean exit on SIGTERM"
