// SPDX-License-Identifier: MIT
// echo_server: the smallest useful server, and the one the benchmark suite measures. Every
// connection gets back what it sends until it ends the stream.
//
//   echo_server [--host 127.0.0.1] [--port 8888] [--backend epoll|io_uring]
//
// Prints "listening on HOST:PORT" first (port 0 picks a free one), serves until SIGINT or
// SIGTERM, then closes every connection and exits 0.
#include <corio/corio.hpp>

#include <array>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <fmt/core.h>
#include <string>
#include <string_view>
#include <system_error>

#include "options.hpp"
#include "termination.hpp"

// Until the client ends the stream. A client that resets the connection is no failure of
// the server's: that connection just ends.
corio::task<> echo(corio::tcp_stream stream) {
    std::array<std::byte, 65536> buffer;
    try {
        for (;;) {
            const std::size_t n = co_await stream.read_some(buffer);
            if (n == 0)
                co_return;
            co_await stream.write(std::span(buffer.data(), n));
        }
    } catch (const std::system_error& e) {
        if (e.code() != std::errc::connection_reset && e.code() != std::errc::broken_pipe)
            throw;
    }
}

corio::task<> serve(termination_signal& termination, std::string host, std::uint16_t port) {
    corio::server server = co_await corio::start_server(echo, host, port);
    co_await serve_until_terminated(server, host, termination);
}

int main(int argc, char** argv) {
    try {
        termination_signal termination; // first: before any thread starts
        const example_options options(argc, argv, {"--host", "--port", "--backend"});
        corio::run_options run;
        run.loop.backend = options.backend();
        corio::run(serve(termination, options.get("--host", "127.0.0.1"), options.port()), run);
        return 0;
    } catch (const std::exception& e) {
        fmt::print(stderr, "echo_server: {}\n", e.what());
        return 1;
    }
}
