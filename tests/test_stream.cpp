// SPDX-License-Identifier: MIT
// Streams: every reader (read, read_some, read_exactly, read_until, readline) with its end of
// stream and limit rules, writes of 1 byte and 16 MiB, half-close, resets, the
// one-reader-one-writer rule, close() with operations pending, back-pressure, and
// cancellation that loses no byte; how a stream's socket stays registered with an epoll loop.
#include <array>
#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>

#include <netinet/in.h>
#include <sys/socket.h>

#include "corio_test.hpp"

using namespace corio_test;

namespace {

// Two connected unix_streams over a socketpair.
struct stream_pair {
    corio::unix_stream a;
    corio::unix_stream b;
};

stream_pair make_pair(std::size_t limit = 65536) {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    return {corio::unix_stream(corio::unique_fd(fds[0]), {limit}),
            corio::unix_stream(corio::unique_fd(fds[1]), {limit})};
}

// Two connected tcp_streams on 127.0.0.1.
corio::task<std::pair<corio::tcp_stream, corio::tcp_stream>> make_tcp_pair() {
    corio::unique_fd listening(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    const corio::endpoint any("127.0.0.1", 0);
    REQUIRE(::bind(listening.get(), any.data(), any.size()) == 0);
    REQUIRE(::listen(listening.get(), 8) == 0);
    sockaddr_storage bound{};
    socklen_t size = sizeof bound;
    REQUIRE(::getsockname(listening.get(), reinterpret_cast<sockaddr*>(&bound), &size) == 0);
    const corio::endpoint address(reinterpret_cast<const sockaddr*>(&bound), size);
    auto client = corio::spawn(corio::open_connection("127.0.0.1", address.port()));
    corio::accepted server = co_await corio::get_running_loop().sock_accept(listening.get());
    co_return std::pair{co_await client, corio::tcp_stream(std::move(server.fd))};
}

std::string pattern(std::size_t size) {
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        data[i] = static_cast<char>(i * 131 % 251);
    return data;
}

corio::task<> write_slowly(corio::socket_stream& s, std::string data) {
    for (char c : data) {
        co_await s.write(std::string_view(&c, 1));
        co_await corio::sleep(0s);
    }
}

corio::task<> write_then_eof(corio::socket_stream& s, const std::string& data) {
    co_await s.write(data);
    co_await s.write_eof();
}

corio::task<std::string> read_all(corio::socket_stream& s) {
    std::string out;
    for (;;) {
        std::string chunk = co_await s.read(65536);
        if (chunk.empty())
            co_return out;
        out += chunk;
    }
}

// How many epoll instances of this process watch `fd` (/proc/self/fdinfo of each).
long epoll_registrations(int fd) {
    long count = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code ignored;
        if (std::filesystem::read_symlink(entry.path(), ignored) != "anon_inode:[eventpoll]")
            continue;
        std::ifstream info("/proc/self/fdinfo/" + entry.path().filename().string());
        for (std::string line; std::getline(info, line);) {
            std::istringstream fields(line);
            std::string tag;
            int target = -1;
            if (fields >> tag >> target && tag == "tfd:" && target == fd)
                ++count;
        }
    }
    return count;
}

} // namespace

TEST_CASE("read(n) returns what is buffered, up to n, without waiting for more", "[stream]") {
    auto body = []() -> corio::task<> {
        auto [a, b] = make_pair();
        co_await a.write("hello world");
        CHECK(co_await b.read(0) == "");
        CHECK(co_await b.read(5) == "hello");
        CHECK(co_await b.read(100) == " world");
        std::array<std::byte, 4> into{};
        auto late = corio::spawn(a.write("abcdef"));
        CHECK(co_await b.read_some(into) == 4);
        CHECK(std::string(reinterpret_cast<const char*>(into.data()), 4) == "abcd");
        CHECK(co_await b.read_some(std::span<std::byte>()) == 0);
        CHECK(co_await b.read(10) == "ef");
        co_await late;
        co_await a.write_eof();
        CHECK(co_await b.read(10) == "");
        CHECK(co_await b.read_some(into) == 0);
    };
    corio::run(body());
}

TEST_CASE("read_exactly waits for every byte and throws incomplete_read_error at the end",
          "[stream]") {
    auto body = []() -> corio::task<> {
        auto [a, b] = make_pair();
        auto writer = corio::spawn(write_slowly(a, "0123456789"));
        CHECK(co_await b.read_exactly(4) == "0123");
        CHECK(co_await b.read_exactly(0) == "");
        co_await writer;
        co_await a.write_eof();
        CHECK(co_await b.read_exactly(3) == "456");
        try {
            co_await b.read_exactly(5);
            FAIL("read_exactly past the end");
        } catch (const corio::incomplete_read_error& e) {
            CHECK(e.partial() == "789");
            CHECK(e.expected() == std::optional<std::size_t>(5));
        }
        CHECK(co_await b.read(1) == "");
    };
    corio::run(body());
}

TEST_CASE("read_until takes a multi-byte delimiter, readline keeps its newline", "[stream]") {
    auto body = []() -> corio::task<> {
        auto [a, b] = make_pair();
        auto writer = corio::spawn(write_slowly(a, "GET / HTTP/1.1\r\nHost: x\r\n\r\nline\nrest"));
        CHECK(co_await b.read_until("\r\n") == "GET / HTTP/1.1\r\n");
        CHECK(co_await b.read_until("\r\n\r\n") == "Host: x\r\n\r\n");
        CHECK(co_await b.readline() == "line\n");
        co_await writer;
        co_await a.write_eof();
        CHECK(co_await b.readline() == "rest"); // the unterminated rest, then ""
        CHECK(co_await b.readline() == "");
        try {
            co_await b.read_until("x");
            FAIL("read_until at the end");
        } catch (const corio::incomplete_read_error& e) {
            CHECK(e.partial() == "");
            CHECK_FALSE(e.expected().has_value());
        }
        CHECK_THROWS_AS(b.read_until(""), std::invalid_argument);
    };
    corio::run(body());
}

TEST_CASE("read_until throws at the end of the stream with the rest as partial", "[stream]") {
    auto body = []() -> corio::task<> {
        auto [a, b] = make_pair();
        co_await a.write("no delimiter here");
        co_await a.write_eof();
        try {
            co_await b.read_until("\n");
            FAIL("read_until without its delimiter");
        } catch (const corio::incomplete_read_error& e) {
            CHECK(e.partial() == "no delimiter here");
        }
    };
    corio::run(body());
}

TEST_CASE("a line past the limit: readline drops it, read_until keeps it buffered", "[stream]") {
    auto body = []() -> corio::task<> {
        auto [a, b] = make_pair(16);
        co_await a.write(std::string(40, 'x') + "\nshort\n");
        CHECK_THROWS_AS(co_await b.readline(), corio::limit_overrun_error);
        CHECK(co_await b.readline() == "short\n"); // the long line went, up to its '\n'

        co_await a.write(std::string(20, 'y') + "|tail|");
        CHECK_THROWS_AS(co_await b.read_until("|"), corio::limit_overrun_error);
        CHECK(co_await b.read_exactly(20) == std::string(20, 'y')); // still buffered
        CHECK(co_await b.read_until("|") == "|");
        CHECK(co_await b.read_until("|") == "tail|");

        // Without a delimiter in sight: limit bytes buffered is enough to give up.
        // The rest of a refused line is dropped when it arrives, even in pieces.
        co_await a.write(std::string(100, 'z'));
        CHECK_THROWS_AS(co_await b.readline(), corio::limit_overrun_error);
        auto next = corio::spawn(b.readline());
        co_await a.write(std::string(50, 'z'));
        co_await settle();
        co_await a.write("z\nok\n");
        CHECK(co_await next == "ok\n");
    };
    corio::run(body());
}

TEST_CASE("1-byte writes and a 16 MiB write arrive whole over TCP", "[stream]") {
    auto body = []() -> corio::task<> {
        auto [client, server] = co_await make_tcp_pair();
        CHECK(client.remote_endpoint() == server.local_endpoint());
        CHECK(server.remote_endpoint() == client.local_endpoint());
        auto writer = corio::spawn(write_slowly(client, "one byte at a time\n"));
        CHECK(co_await server.readline() == "one byte at a time\n");
        co_await writer;

        const std::string big = pattern(16 << 20);
        auto sender = corio::spawn(client.write(big));
        CHECK((co_await server.read_exactly(big.size()) == big));
        co_await sender;
        auto back = corio::spawn(write_then_eof(server, big)); // and back, read piece by piece
        CHECK((co_await read_all(client) == big));
        co_await back;
    };
    corio::run(body());
}

TEST_CASE("write_eof half-closes: the peer sees the end and can still answer", "[stream]") {
    auto body = []() -> corio::task<> {
        auto [client, server] = co_await make_tcp_pair();
        co_await client.write("request");
        co_await client.write_eof();
        co_await client.write_eof(); // a second one does nothing
        CHECK_THROWS_AS(co_await client.write("more"), corio::invalid_state_error);
        CHECK((co_await read_all(server) == "request"));
        co_await server.write("answer");
        co_await server.close();
        CHECK((co_await read_all(client) == "answer"));
    };
    corio::run(body());
}

TEST_CASE("write_eof waits for a running write, while another task reads", "[stream]") {
    auto body = []() -> corio::task<> {
        auto [a, b] = make_pair();
        auto reader = corio::spawn(a.read(10)); // pending all along
        const std::string big = pattern(8 << 20);
        auto writer = corio::spawn(a.write(big));
        co_await settle();
        REQUIRE_FALSE(writer.done());
        auto eof = corio::spawn(a.write_eof());
        co_await settle();
        CHECK_FALSE(eof.done());              // the write is still running
        CHECK((co_await read_all(b) == big)); // every byte, then the end of stream
        co_await writer;
        co_await eof;
        co_await b.write("late");
        CHECK(co_await reader == "late");
    };
    corio::run(body());
}

TEST_CASE("a reset throws connection_reset, and again on every later read", "[stream]") {
    auto body = []() -> corio::task<> {
        auto [client, server] = co_await make_tcp_pair();
        const linger abort_on_close{1, 0};
        REQUIRE(::setsockopt(server.native_handle(),
                             SOL_SOCKET,
                             SO_LINGER,
                             &abort_on_close,
                             sizeof abort_on_close) == 0);
        co_await server.close(); // sends RST
        for (int i = 0; i < 2; ++i) {
            try {
                co_await client.read(10);
                FAIL("read after a reset");
            } catch (const std::system_error& e) {
                CHECK(e.code() == std::errc::connection_reset);
            }
        }
        try {
            co_await client.write(pattern(1 << 20));
            FAIL("write after a reset");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::connection_reset);
        }
    };
    corio::run(body());
}

TEST_CASE("writing to a peer that left throws broken_pipe or connection_reset, no SIGPIPE",
          "[stream]") {
    auto body = []() -> corio::task<> {
        auto [a, b] = make_pair();
        co_await b.close();
        try {
            co_await a.write(pattern(1 << 20));
            FAIL("write to a closed peer");
        } catch (const std::system_error& e) {
            CHECK((e.code() == std::errc::broken_pipe || e.code() == std::errc::connection_reset));
        }
    };
    corio::run(body());
}

TEST_CASE("a second reader or writer at the same time is refused", "[stream]") {
    auto body = []() -> corio::task<> {
        auto [a, b] = make_pair();
        auto reader = corio::spawn(b.read(10));
        co_await settle();
        CHECK_THROWS_AS(co_await b.read(10), corio::invalid_state_error);
        CHECK_THROWS_AS(co_await b.readline(), corio::invalid_state_error);
        co_await a.write("x");
        CHECK(co_await reader == "x");

        auto writer = corio::spawn(a.write(pattern(8 << 20))); // more than the kernel holds
        co_await settle();
        CHECK_FALSE(writer.done());
        CHECK_THROWS_AS(co_await a.write("y"), corio::invalid_state_error);
        CHECK((co_await b.read_exactly(8 << 20)).size() == (8u << 20));
        co_await writer;
    };
    corio::run(body());
}

TEST_CASE("close() ends a pending read with end of stream and a pending write with "
          "invalid_state_error",
          "[stream]") {
    auto body = []() -> corio::task<> {
        auto [a, b] = make_pair();
        auto reader = corio::spawn(b.read(10));
        auto writer = corio::spawn(b.write(pattern(8 << 20))); // a never reads
        co_await settle();
        REQUIRE_FALSE(reader.done());
        REQUIRE_FALSE(writer.done());
        const corio::endpoint local = b.local_endpoint();
        co_await b.close();
        CHECK(reader.done()); // close returned once both had let go
        CHECK(writer.done());
        CHECK(co_await reader == "");
        CHECK_THROWS_AS(co_await writer, corio::invalid_state_error);
        CHECK_THROWS_AS(co_await b.read(1), corio::invalid_state_error);
        CHECK_THROWS_AS(co_await b.write("x"), corio::invalid_state_error);
        CHECK(b.local_endpoint() == local); // kept after close
        co_await b.close();                 // a second close does nothing
        CHECK((co_await read_all(a)).size() < (8u << 20));
    };
    corio::run(body());
}

TEST_CASE("a stream receives only while a task reads: a slow reader holds the writer back",
          "[stream]") {
    auto body = []() -> corio::task<> {
        auto [a, b] = make_pair(1024);
        const std::string big = pattern(16 << 20);
        auto writer = corio::spawn(a.write(big));
        CHECK(co_await b.read(1) == big.substr(0, 1));
        co_await corio::sleep(20ms);
        CHECK_FALSE(writer.done()); // the kernel's buffers are full, nothing more is read
        std::string rest;
        while (rest.size() < big.size() - 1)
            rest += co_await b.read(1 << 20);
        CHECK((rest == big.substr(1)));
        co_await writer;
    };
    corio::run(body());
}

TEST_CASE("a cancelled read_exactly or readline keeps every byte for the next read", "[stream]") {
    auto body = []() -> corio::task<> {
        auto [a, b] = make_pair();
        co_await a.write("abc");
        CHECK_THROWS_AS(co_await corio::wait_for(b.read_exactly(5), 10ms), corio::timeout_error);
        co_await a.write("de");
        CHECK(co_await b.read_exactly(5) == "abcde");

        co_await a.write("partial ");
        CHECK_THROWS_AS(co_await corio::wait_for(b.readline(), 10ms), corio::timeout_error);
        co_await a.write("line\n");
        CHECK(co_await b.readline() == "partial line\n");
    };
    corio::run(body());
}

TEST_CASE("a write cancelled midway leaves the write side unusable and the read side working",
          "[stream]") {
    auto body = []() -> corio::task<> {
        auto [a, b] = make_pair();
        // Cancelled midway: some bytes went, so the write side is gone.
        auto filler = corio::spawn(a.write(pattern(8 << 20)));
        co_await settle();
        REQUIRE_FALSE(filler.done());
        filler.cancel();
        CHECK(co_await ended_cancelled(filler));
        CHECK_THROWS_AS(co_await a.write("x"), corio::invalid_state_error);
        CHECK_THROWS_AS(co_await a.write_eof(), corio::invalid_state_error);
        co_await b.write("still readable");
        CHECK(co_await a.read(100) == "still readable");
        co_await a.close();

        // Cancelled before the kernel took a byte (its buffer was full): the stream is usable.
        auto [c, d] = make_pair();
        const std::string chunk(65536, 'f');
        std::size_t stuffed = 0;
        for (;;) {
            const ssize_t n = ::send(c.native_handle(), chunk.data(), chunk.size(), MSG_DONTWAIT);
            if (n < 0)
                break;
            stuffed += static_cast<std::size_t>(n);
        }
        auto blocked = corio::spawn(c.write("after"));
        co_await settle();
        REQUIRE_FALSE(blocked.done());
        blocked.cancel();
        CHECK(co_await ended_cancelled(blocked));
        CHECK((co_await d.read_exactly(stuffed)).size() == stuffed);
        co_await c.write("fine");
        CHECK(co_await d.read(10) == "fine");
    };
    corio::run(body());
}

TEST_CASE("a stream is an AsyncResource, move-only, and closes when destroyed", "[stream]") {
    auto body = []() -> corio::task<> {
        auto [a, b] = make_pair();
        co_await corio::with(
            a, [](corio::unix_stream& s) -> corio::task<> { co_await s.write("inside"); });
        CHECK_THROWS_AS(co_await a.write("after"), corio::invalid_state_error);
        CHECK((co_await read_all(b)) == "inside");

        auto [c, d] = make_pair();
        corio::unix_stream moved = std::move(c);
        CHECK_THROWS_AS(c.local_endpoint(), corio::invalid_state_error);
        auto reader = corio::spawn(d.read(10));
        co_await settle();
        { corio::unix_stream gone = std::move(moved); } // destroyed: the peer sees the end
        CHECK(co_await reader == "");
    };
    corio::run(body());
}

TEST_CASE("bad arguments to a stream throw std::invalid_argument", "[stream]") {
    CHECK_THROWS_AS(corio::unix_stream(corio::unique_fd()), std::invalid_argument);
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    corio::unique_fd keep(fds[1]);
    CHECK_THROWS_AS(corio::unix_stream(corio::unique_fd(fds[0]), {0}), std::invalid_argument);
    CHECK_THROWS_AS(corio::tcp_stream(std::move(keep)), std::system_error); // not TCP
}

TEST_CASE("an epoll loop keeps a stream's socket registered between reads, until it closes",
          "[stream]") {
    auto body = []() -> corio::task<> {
        const long kept = corio::get_running_loop().backend_name() == "epoll" ? 1 : 0;
        auto [a, b] = make_pair();
        const int fd = b.native_handle();
        auto reader = corio::spawn(b.read(10));
        co_await settle();
        CHECK(epoll_registrations(fd) == kept);
        co_await a.write("one");
        CHECK(co_await reader == "one");
        CHECK(epoll_registrations(fd) == kept); // no reader now, still registered
        co_await b.close();
        CHECK(epoll_registrations(fd) == 0);
    };
    corio::run(body());
}

TEST_CASE("wait_readable on a stream's socket sees bytes that came while nobody waited",
          "[stream]") {
    auto body = []() -> corio::task<> {
        auto [a, b] = make_pair();
        auto first = corio::spawn(b.read(10)); // waits: the socket is registered
        co_await corio::sleep(10ms);
        co_await a.write("1");
        CHECK(co_await first == "1");
        co_await a.write("2");
        co_await corio::sleep(10ms); // the loop saw them arrive, with no operation waiting
        co_await corio::wait_for(corio::wait_readable(b.native_handle()), 5s);
        CHECK(co_await b.read(10) == "2");
        auto third = corio::spawn(b.read(10));
        co_await corio::sleep(10ms);
        co_await a.write("3");
        CHECK(co_await corio::wait_for(std::move(third), 5s) == "3");
    };
    corio::run(body());
}

TEST_CASE("a closed stream's fd number serves a new stream", "[stream]") {
    auto body = [](bool by_close) -> corio::task<> {
        auto [a, b] = make_pair();
        const int number = b.native_handle();
        auto first = corio::spawn(b.read(1)); // waits: the socket is registered
        co_await corio::sleep(10ms);
        co_await a.write("x");
        CHECK(co_await first == "x");
        if (by_close)
            co_await b.close();
        else
            corio::unix_stream gone = std::move(b);
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
        if (fds[0] == number) // the kernel gave the lowest free number: the old one
            std::swap(fds[0], fds[1]);
        if (fds[1] != number) {
            REQUIRE(::dup3(fds[1], number, O_CLOEXEC) == number);
            ::close(fds[1]);
        }
        corio::unix_stream c{corio::unique_fd(fds[0])};
        corio::unix_stream d{corio::unique_fd(number)};
        auto reader = corio::spawn(d.read(10));
        co_await corio::sleep(10ms);
        co_await c.write("y");
        CHECK(co_await corio::wait_for(std::move(reader), 5s) == "y");
    };
    corio::run(body(true));
    corio::run(body(false));
}

TEST_CASE("a stream outlives the loop it was made on, and works on the next", "[stream]") {
    stream_pair pair = corio::run([]() -> corio::task<stream_pair> {
        stream_pair p = make_pair();
        co_await p.a.write("first");
        CHECK(co_await p.b.read(10) == "first");
        co_return p;
    }());
    corio::run([](stream_pair& p) -> corio::task<> {
        co_await p.a.write("second");
        CHECK(co_await p.b.read(10) == "second");
    }(pair));
}
