#!/usr/bin/env bash
# The peers' side of W1, W2, W3 and W6: Python asyncio on its own loop and on uvloop (Debian's
# python3 and python3-uvloop; `make deps-bench` installs them). A missing peer gets one line
# naming its package instead of figures.
#   peers.sh [W1|W2|W3|W6]...  (all when none is named)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x /usr/bin/python3 ]; then
    echo "# asyncio, uvloop: not installed (apt-get install python3 python3-uvloop)"
    exit 0
fi
for loop in asyncio uvloop; do
    /usr/bin/python3 "$here/asyncio_bench.py" --loop "$loop" "$@"
done
