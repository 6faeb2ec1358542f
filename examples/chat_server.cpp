// SPDX-License-Identifier: MIT
// chat_server: the tutorial's chat room. Every connection is a task on one loop, on one
// thread. Any line client can join (netcat, a Python asyncio client, chat_client):
//   - the first line a client sends is its name; the others get "* NAME joined";
//   - each further line goes to everyone else as "NAME: TEXT";
//   - when its connection ends, the others get "* NAME left";
//   - a line over 4 KiB closes that client's connection, and only that one.
//
//   chat_server [--host 127.0.0.1] [--port 8888]
//
// Prints "listening on HOST:PORT" first (port 0 picks a free one), then a line per join and
// leave; serves until SIGINT or SIGTERM, then closes every connection and exits 0.
#include <corio/corio.hpp>

#include <cstddef>
#include <cstdio>
#include <exception>
#include <fmt/core.h>
#include <list>
#include <string>
#include <string_view>

#include "options.hpp"
#include "termination.hpp"

// The longest line a client may send, its '\n' included.
constexpr std::size_t max_line = 4096;

// The lines waiting for one member's connection. A member who does not keep up is dropped
// rather than allowed to hold the room's memory.
constexpr std::size_t max_backlog = 1024;

struct member {
    explicit member(std::string n) : name(std::move(n)) {}

    std::string name;
    corio::queue<std::string> outbox{max_backlog};
};

class room {
public:
    std::list<member>::iterator join(std::string name) {
        say_to_others(members_.end(), "* " + name + " joined\n");
        log(name + " joined");
        return members_.emplace(members_.end(), std::move(name));
    }

    static void log(const std::string& what) {
        fmt::print("{}\n", what);
        std::fflush(stdout);
    }

    void leave(std::list<member>::iterator who) {
        const std::string name = who->name;
        members_.erase(who);
        say_to_others(members_.end(), "* " + name + " left\n");
        log(name + " left");
    }

    // To every member but `from`: a member whose outbox is full is disconnected.
    void say_to_others(std::list<member>::iterator from, const std::string& line) {
        for (auto it = members_.begin(); it != members_.end(); ++it) {
            if (it == from)
                continue;
            try {
                it->outbox.put_nowait(line);
            } catch (const corio::queue_full&) {
                it->outbox.shutdown(true);            // its writer ends, and with it the connection
            } catch (const corio::queue_shut_down&) { // leaving already
            }
        }
    }

private:
    std::list<member> members_;
};

// Drops the line ending: "\n", or "\r\n" from a Windows client.
std::string_view text_of(std::string_view line) {
    if (line.ends_with('\n'))
        line.remove_suffix(1);
    if (line.ends_with('\r'))
        line.remove_suffix(1);
    return line;
}

// Sends the member's lines, in order, until its outbox shuts down; then closes the stream,
// which also ends relay()'s readline.
corio::task<> deliver(corio::tcp_stream& stream, member& m) {
    std::exception_ptr failure;
    try {
        for (;;)
            co_await stream.write(co_await m.outbox.get());
    } catch (const corio::queue_shut_down&) {
    } catch (...) { // a reset, a cancellation
        failure = std::current_exception();
    }
    co_await stream.close();
    if (failure)
        std::rethrow_exception(failure);
}

// Reads the member's lines and passes them on until the client leaves; then shuts the
// outbox, so that deliver() ends once it has sent what was queued (at once on a failure).
corio::task<> relay(corio::tcp_stream& stream, room& chat, std::list<member>::iterator me) {
    try {
        for (std::string line; !(line = co_await stream.readline()).empty();)
            chat.say_to_others(me, me->name + ": " + std::string(text_of(line)) + "\n");
    } catch (...) { // a line over the limit, a reset, a cancellation
        me->outbox.shutdown(true);
        throw;
    }
    me->outbox.shutdown();
}

corio::task<> client(room& chat, corio::tcp_stream stream) {
    const std::string name(text_of(co_await stream.readline()));
    if (name.empty())
        co_return;
    const auto me = chat.join(name);
    std::exception_ptr failure;
    try {
        co_await corio::gather(relay(stream, chat, me), deliver(stream, *me));
    } catch (const corio::limit_overrun_error&) {
        room::log(name + " sent a line over " + std::to_string(max_line) + " bytes");
    } catch (...) {
        failure = std::current_exception();
    }
    chat.leave(me);
    if (failure) // the server reports it; only this connection ends
        std::rethrow_exception(failure);
}

corio::task<> serve(termination_signal& termination, std::string host, std::uint16_t port) {
    room chat;
    corio::server server = co_await corio::start_server(
        [&chat](corio::tcp_stream stream) { return client(chat, std::move(stream)); },
        host,
        port,
        {.limit = max_line});
    co_await serve_until_terminated(server, host, termination);
}

int main(int argc, char** argv) {
    try {
        termination_signal termination; // first: before any thread starts
        const example_options options(argc, argv, {"--host", "--port"});
        corio::run(serve(termination, options.get("--host", "127.0.0.1"), options.port()));
        return 0;
    } catch (const std::exception& e) {
        fmt::print(stderr, "chat_server: {}\n", e.what());
        return 1;
    }
}
