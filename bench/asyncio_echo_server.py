#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""asyncio's echo server for workloads W4 and W5 of docs/benchmarks.md, the peer of corio's
examples/echo_server and of bench/c_echo_server.c, on asyncio's own loop or on uvloop's.

    asyncio_echo_server.py [--loop asyncio|uvloop] [PORT]  (PORT 0, the default: any free one)

It uses asyncio's streams, the counterpart of corio's: one task per connection reads up to
64 KiB and writes back what it got, waiting in drain() while the peer is not reading
(back-pressure, as echo_server). Prints "listening on 127.0.0.1:PORT" first, serves until
SIGINT or SIGTERM, then closes every connection and exits 0. Without the uvloop module,
--loop uvloop says which package to install and exits 1.
"""
import argparse
import asyncio
import signal
import sys

HOST = "127.0.0.1"
BACKLOG = 1024  # c_echo_server.c's listen() backlog
CHUNK = 65536  # the 64 KiB buffer of the other servers


async def echo(reader, writer, open_writers):
    # TCP_NODELAY is not set here as c_echo_server.c sets it: both loops already set it on
    # every TCP transport they create (asyncio's selector transport in its constructor,
    # uvloop's TCP transport on the libuv handle), so one more setsockopt would be a no-op.
    open_writers.add(writer)
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        writer.close()
        await writer.wait_closed()
    except (ConnectionResetError, BrokenPipeError):
        # A client that resets the connection is no failure of the server's: that
        # connection just ends.
        writer.close()
    finally:
        open_writers.discard(writer)


async def serve(port):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    # Kept so that a stop can end the connections too: Server.close() only stops accepting
    # (and from Python 3.12 on wait_closed() waits for every connection to end).
    open_writers = set()
    server = await asyncio.start_server(
        lambda r, w: echo(r, w, open_writers), HOST, port, backlog=BACKLOG)
    bound = server.sockets[0].getsockname()[1]
    print(f"listening on {HOST}:{bound}", flush=True)

    await stop.wait()
    server.close()
    for writer in list(open_writers):
        writer.close()
    await server.wait_closed()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("port", nargs="?", type=int, default=0)
    args = parser.parse_args()
    loop_factory = None
    if args.loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            # Unlike asyncio_bench.py this is an error: the bench script that started the
            # server would otherwise wait for a "listening on" line that never comes.
            print("asyncio_echo_server: no uvloop module (apt-get install python3-uvloop)",
                  file=sys.stderr)
            sys.exit(1)
        loop_factory = uvloop.new_event_loop
    # Leaving the Runner cancels the connections' tasks that are still running.
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve(args.port))


if __name__ == "__main__":
    main()
