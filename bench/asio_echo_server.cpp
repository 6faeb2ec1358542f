// SPDX-License-Identifier: MIT
// asio_echo_server: the Asio peer of c_echo_server and echo_server for W4 and W5, with Asio's
// C++20 coroutines: one thread, one io_context, a coroutine per connection that reads into
// its own 64 KiB buffer and writes back what it got before reading again (the same
// back-pressure as the others: while a write waits, that connection reads nothing).
//
//   asio_echo_server [PORT=0]
//
// Prints "listening on 127.0.0.1:PORT" and serves until SIGINT or SIGTERM, then exits 0.

// Asio 1.22 turns co_await support on for clang only when libc++'s <experimental/coroutine>
// exists, so clang with libstdc++ would get no asio::awaitable at all; clang 14 compiles
// Asio's coroutines on libstdc++'s <coroutine>, which Asio then picks.
#if defined(__clang__) && defined(__cpp_impl_coroutine) && !defined(ASIO_HAS_CO_AWAIT)
#define ASIO_HAS_CO_AWAIT 1
#endif

#include <array>
#include <asio.hpp>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fmt/core.h>
#include <string_view>
#include <system_error>

using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr int backlog = 1024; // c_echo_server.c's listen() backlog

// How a client ending its side shows; nothing the server did wrong, so no line for it.
bool quiet_end(const asio::error_code& ec) {
    return ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe || ec == asio::error::operation_aborted;
}

// Error codes instead of exceptions: every connection ends in one, and the others' servers
// pay nothing for that either.
asio::awaitable<void> echo(tcp::socket socket) {
    std::array<char, 64 * 1024> buffer; // in the coroutine frame: one allocation per connection
    asio::error_code ec;
    for (;;) {
        const std::size_t n = co_await socket.async_read_some(
            asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
        if (ec)
            break;
        co_await asio::async_write(
            socket, asio::buffer(buffer.data(), n), asio::redirect_error(asio::use_awaitable, ec));
        if (ec)
            break;
    }
    if (!quiet_end(ec))
        fmt::print(stderr, "asio_echo_server: connection: {}\n", ec.message());
}

asio::awaitable<void> accept_all(tcp::acceptor& acceptor) {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer pause(ex);
    asio::error_code last_logged;
    for (;;) {
        asio::error_code ec;
        tcp::socket socket =
            co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted)
            co_return;
        if (ec) {
            // Out of descriptors (EMFILE) the listener stays readable, so the failure would
            // repeat at once: one line per kind of failure, and a pause for connections to
            // close, instead of a flood of lines and a spinning loop.
            if (ec != last_logged)
                fmt::print(stderr, "asio_echo_server: accept: {}\n", ec.message());
            last_logged = ec;
            pause.expires_after(10ms);
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        last_logged.clear();
        // 64-byte requests must not wait for Nagle, as in the C servers. A connection that is
        // already gone fails here too; its first read tells the coroutine.
        socket.set_option(tcp::no_delay(true), ec);
        asio::co_spawn(ex, echo(std::move(socket)), asio::detached);
    }
}

bool parse_port(std::string_view text, std::uint16_t& port) {
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
    return error == std::errc{} && end == text.data() + text.size();
}

} // namespace

int main(int argc, char** argv) {
    std::uint16_t port = 0;
    if (argc > 2 || (argc == 2 && !parse_port(argv[1], port))) {
        fmt::print(stderr, "usage: asio_echo_server [PORT=0]\n");
        return 2;
    }
    try {
        asio::io_context ctx(1); // one thread, as the C servers
        // Before the "listening" line: a bench script may send SIGTERM as soon as it has read
        // it, and from here on the signal is caught and queued for the wait below.
        asio::signal_set stop(ctx, SIGINT, SIGTERM);
        stop.async_wait([&ctx](const asio::error_code&, int) { ctx.stop(); });

        tcp::acceptor acceptor(ctx);
        const tcp::endpoint address(asio::ip::address_v4::loopback(), port);
        acceptor.open(address.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        acceptor.bind(address);
        acceptor.listen(backlog);
        fmt::print("listening on 127.0.0.1:{}\n", acceptor.local_endpoint().port());
        std::fflush(stdout);

        asio::co_spawn(ctx, accept_all(acceptor), asio::detached);
        ctx.run();
        return 0;
    } catch (const std::exception& e) {
        fmt::print(stderr, "asio_echo_server: {}\n", e.what());
        return 1;
    }
}
