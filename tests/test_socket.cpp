// SPDX-License-Identifier: MIT
// Sockets: endpoint and unique_fd; the loop's sock_* operations over TCP, UDP and Unix
// sockets; failures (refused, reset, not a socket); a cancellation storm that must not lose
// a byte; 100,000 operations at once; a loop closed with operations in flight; and, on the
// scripted backend, each race of the cancellation protocol on a real socket.
#include <corio/fmt.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <system_error>
#include <unistd.h>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

#include "corio_test.hpp"

using namespace corio_test;

namespace {

corio::event_loop& loop() {
    return corio::get_running_loop();
}

corio::unique_fd new_socket(int family, int type) {
    corio::unique_fd fd(::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    REQUIRE(fd);
    return fd;
}

corio::endpoint local_endpoint(int fd) {
    sockaddr_storage address{};
    socklen_t size = sizeof address;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0);
    return corio::endpoint(reinterpret_cast<const sockaddr*>(&address), size);
}

// A TCP socket listening on 127.0.0.1 at a port the kernel picked.
struct listener {
    corio::unique_fd fd = new_socket(AF_INET, SOCK_STREAM);
    corio::endpoint address;
    listener() {
        const corio::endpoint any("127.0.0.1", 0);
        REQUIRE(::bind(fd.get(), any.data(), any.size()) == 0);
        REQUIRE(::listen(fd.get(), 1024) == 0);
        address = local_endpoint(fd.get());
    }
};

std::span<const std::byte> bytes_of(const std::string& s) {
    return std::as_bytes(std::span(s));
}

std::string text_of(std::span<const std::byte> b) {
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

long open_fds() {
    return static_cast<long>(std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                                           std::filesystem::directory_iterator{}));
}

// The errno of the std::system_error `t` ends with, 0 when it ends well.
template <class T>
corio::task<int> errno_of(T awaitable) {
    try {
        co_await std::move(awaitable);
    } catch (const std::system_error& e) {
        co_return e.code().value();
    }
    co_return 0;
}

// A connected TCP pair on 127.0.0.1: the client's socket and the one the server accepted.
struct tcp_pair {
    corio::unique_fd client;
    corio::accepted server;
};

corio::task<corio::accepted> accept_one(int listening) {
    co_return co_await loop().sock_accept(listening);
}

corio::task<tcp_pair> connect_pair(const listener& l) {
    auto accepting = corio::spawn(accept_one(l.fd.get()));
    tcp_pair pair{new_socket(AF_INET, SOCK_STREAM), {}};
    co_await loop().sock_connect(pair.client.get(), l.address);
    pair.server = co_await accepting;
    co_return pair;
}

// Reads exactly `n` bytes, or fewer if the stream ends first.
corio::task<std::string> receive_exactly(int fd, std::size_t n) {
    std::string out(n, '\0');
    std::size_t have = 0;
    while (have < n) {
        const std::size_t got =
            co_await loop().sock_recv(fd, std::as_writable_bytes(std::span(out)).subspan(have));
        if (got == 0)
            break;
        have += got;
    }
    out.resize(have);
    co_return out;
}

} // namespace

TEST_CASE("endpoint parses and prints IPv4, IPv6 and Unix addresses", "[socket]") {
    const corio::endpoint v4("127.0.0.1", 8080);
    CHECK(v4.family() == AF_INET);
    CHECK(v4.address() == "127.0.0.1");
    CHECK(v4.port() == 8080);
    CHECK(v4.to_string() == "127.0.0.1:8080");
    CHECK(v4.size() == sizeof(sockaddr_in));
    CHECK(v4.data()->sa_family == AF_INET);

    const corio::endpoint v6("::1", 443);
    CHECK(v6.family() == AF_INET6);
    CHECK(v6.to_string() == "[::1]:443");
    CHECK(corio::endpoint("fe80::1%7", 1).address() == "fe80::1%7");

    const auto path = corio::endpoint::unix_path("/tmp/corio.sock");
    CHECK(path.family() == AF_UNIX);
    CHECK(path.to_string() == "/tmp/corio.sock");
    CHECK(path.port() == 0);
    CHECK(corio::endpoint::unix_path(std::string_view("\0corio", 6)).to_string() == "@corio");

    CHECK(v4 == corio::endpoint("127.0.0.1", 8080));
    CHECK_FALSE(v4 == corio::endpoint("127.0.0.1", 8081));
    CHECK_FALSE(v4 == v6);
    CHECK(path == corio::endpoint::unix_path("/tmp/corio.sock"));
    CHECK(corio::endpoint().family() == AF_UNSPEC);
    CHECK(corio::endpoint().to_string().empty());
    CHECK(fmt::format("{}|{:>16}", v6, v4) == "[::1]:443|  127.0.0.1:8080");
}

TEST_CASE("endpoint rejects names, bad scopes and over-long paths, naming them", "[socket]") {
    CHECK_THROWS_WITH(corio::endpoint("localhost", 80), Catch::Contains("'localhost'"));
    CHECK_THROWS_AS(corio::endpoint("1.2.3.256", 80), std::invalid_argument);
    CHECK_THROWS_AS(corio::endpoint("fe80::1%no-such-interface", 80), std::invalid_argument);
    CHECK_THROWS_WITH(corio::endpoint::unix_path(std::string(200, 'x')), Catch::Contains("200"));
    CHECK_THROWS_AS(corio::endpoint::unix_path(""), std::invalid_argument);
}

TEST_CASE("unique_fd owns, releases, resets and moves", "[socket]") {
    const long before = open_fds();
    {
        corio::unique_fd a(::dup(0));
        REQUIRE(a);
        CHECK(open_fds() == before + 1);
        corio::unique_fd b = std::move(a);
        CHECK_FALSE(a);
        CHECK(a.get() == -1);
        b.reset(::dup(0)); // the first closes
        CHECK(open_fds() == before + 1);
        const int raw = b.release();
        CHECK_FALSE(b);
        corio::unique_fd c(raw);
        c = corio::unique_fd();
        CHECK(open_fds() == before);
    }
    CHECK(open_fds() == before);
}

TEST_CASE("TCP ping-pong through sock_sendall and sock_recv on 127.0.0.1", "[socket]") {
    auto body = []() -> corio::task<> {
        listener l;
        tcp_pair pair = co_await connect_pair(l);
        CHECK(pair.server.peer == local_endpoint(pair.client.get()));
        CHECK(pair.server.peer.address() == "127.0.0.1");
        const std::string ping(64, 'p');
        for (int i = 0; i < 200; ++i) {
            co_await loop().sock_sendall(pair.client.get(), bytes_of(ping));
            const std::string got = co_await receive_exactly(pair.server.fd.get(), 64);
            REQUIRE(got == ping);
            co_await loop().sock_sendall(pair.server.fd.get(), bytes_of(got));
            REQUIRE(co_await receive_exactly(pair.client.get(), 64) == ping);
        }
        pair.client.reset(); // the server sees the end of the stream
        std::array<std::byte, 16> buffer;
        CHECK(co_await loop().sock_recv(pair.server.fd.get(), buffer) == 0);
    };
    corio::run(body());
}

corio::task<> send_pattern(int fd, std::size_t size) {
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        data[i] = static_cast<char>(i * 131 % 251);
    co_await loop().sock_sendall(fd, bytes_of(data));
    ::shutdown(fd, SHUT_WR);
}

TEST_CASE("1 byte and 16 MiB cross a TCP connection intact", "[socket]") {
    const std::size_t size = GENERATE(std::size_t{1}, std::size_t{16} << 20);
    auto body = [](std::size_t size) -> corio::task<> {
        listener l;
        tcp_pair pair = co_await connect_pair(l);
        auto sending = corio::spawn(send_pattern(pair.client.get(), size));
        const std::string got = co_await receive_exactly(pair.server.fd.get(), size + 1);
        co_await sending;
        REQUIRE(got.size() == size);
        for (std::size_t i = 0; i < size; ++i)
            if (got[i] != static_cast<char>(i * 131 % 251))
                FAIL("byte " << i << " differs");
    };
    corio::run(body(size));
}

TEST_CASE("a UDP round trip through sock_sendto and sock_recvfrom", "[socket]") {
    auto body = []() -> corio::task<> {
        auto a = new_socket(AF_INET, SOCK_DGRAM);
        auto b = new_socket(AF_INET, SOCK_DGRAM);
        const corio::endpoint any("127.0.0.1", 0);
        REQUIRE(::bind(a.get(), any.data(), any.size()) == 0);
        REQUIRE(::bind(b.get(), any.data(), any.size()) == 0);
        const std::string hello = "hello, datagram";
        CHECK(co_await loop().sock_sendto(a.get(), bytes_of(hello), local_endpoint(b.get())) ==
              hello.size());
        std::array<std::byte, 64> buffer;
        corio::received_from r = co_await loop().sock_recvfrom(b.get(), buffer);
        CHECK(text_of(std::span(buffer).first(r.size)) == hello);
        CHECK(r.peer == local_endpoint(a.get()));
        // The answer goes back to whoever asked; an over-long datagram is truncated.
        co_await loop().sock_sendto(b.get(), bytes_of(hello), r.peer);
        std::array<std::byte, 5> small;
        r = co_await loop().sock_recvfrom(a.get(), small);
        CHECK(text_of(std::span(small).first(r.size)) == "hello");
    };
    corio::run(body());
}

corio::task<int> accept_and_close(int listening, int n) {
    int accepted = 0;
    for (int i = 0; i < n; ++i) {
        corio::accepted c = co_await loop().sock_accept(listening);
        accepted += c.fd ? 1 : 0;
    }
    co_return accepted;
}

TEST_CASE("1,000 connections accepted in a loop leave no descriptor behind", "[socket]") {
    auto body = []() -> corio::task<> {
        const long before = open_fds();
        {
            listener l;
            auto server = corio::spawn(accept_and_close(l.fd.get(), 1000));
            for (int i = 0; i < 1000; ++i) {
                auto client = new_socket(AF_INET, SOCK_STREAM);
                co_await loop().sock_connect(client.get(), l.address);
            }
            CHECK(co_await server == 1000);
        }
        CHECK(open_fds() == before);
    };
    corio::run(body());
}

TEST_CASE("a refused connection throws errc::connection_refused", "[socket]") {
    auto body = []() -> corio::task<> {
        corio::endpoint closed_port;
        {
            listener l; // a port that was just free and is again
            closed_port = l.address;
        }
        auto s = new_socket(AF_INET, SOCK_STREAM);
        try {
            co_await loop().sock_connect(s.get(), closed_port);
            FAIL("connected to a closed port");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::connection_refused);
            CHECK_THAT(e.what(), Catch::Contains("sock_connect"));
        }
    };
    corio::run(body());
}

corio::task<int> send_until_it_fails(int fd) {
    const std::string chunk(64 << 10, 'x');
    for (int i = 0; i < 1000; ++i) {
        try {
            co_await loop().sock_sendall(fd, bytes_of(chunk));
        } catch (const std::system_error& e) {
            co_return e.code().value();
        }
    }
    co_return 0;
}

TEST_CASE("sending to a peer that reset throws system_error and raises no SIGPIPE", "[socket]") {
    auto body = []() -> corio::task<> {
        listener l;
        tcp_pair pair = co_await connect_pair(l);
        const linger abort_on_close{1, 0};
        REQUIRE(::setsockopt(pair.server.fd.get(),
                             SOL_SOCKET,
                             SO_LINGER,
                             &abort_on_close,
                             sizeof abort_on_close) == 0);
        pair.server.fd.reset(); // sends RST
        const int error = co_await send_until_it_fails(pair.client.get());
        CHECK((error == ECONNRESET || error == EPIPE));
        std::array<std::byte, 8> buffer;
        const int after = co_await errno_of(loop().sock_recv(pair.client.get(), buffer));
        CHECK((after == 0 || after == ECONNRESET));
    };
    corio::run(body()); // a SIGPIPE would have killed the test binary
}

TEST_CASE("socket operations on what is not a socket throw a clear system_error", "[socket]") {
    auto body = []() -> corio::task<> {
        pipe_pair p;
        std::array<std::byte, 8> buffer;
        try {
            co_await loop().sock_recv(p.read_end, buffer);
            FAIL("sock_recv on a pipe");
        } catch (const std::system_error& e) {
            CHECK(e.code().value() == ENOTSOCK);
            CHECK_THAT(e.what(), Catch::Contains("sock_recv on fd " + std::to_string(p.read_end)));
        }
        CHECK(co_await errno_of(loop().sock_sendall(p.write_end, buffer)) == ENOTSOCK);
        CHECK(co_await errno_of(loop().sock_accept(p.read_end)) == ENOTSOCK);
        CHECK(co_await errno_of(loop().sock_recv(-1, buffer)) == EBADF);
        auto unbound = new_socket(AF_INET, SOCK_STREAM); // not listening
        CHECK(co_await errno_of(loop().sock_accept(unbound.get())) == EINVAL);
    };
    corio::run(body());
}

TEST_CASE("sock_recv and sock_sendall on a Unix socketpair; sendall of nothing returns",
          "[socket]") {
    auto body = []() -> corio::task<> {
        socket_pair s;
        co_await loop().sock_sendall(s.a, {});
        co_await loop().sock_sendall(s.a, bytes_of("abc"));
        CHECK(co_await receive_exactly(s.b, 3) == "abc");
    };
    corio::run(body());
}

corio::task<> receive_into(int fd, std::span<std::byte> buffer) {
    co_await loop().sock_recv(fd, buffer);
}

TEST_CASE("dump_tasks says what operation a task waits on", "[socket]") {
    auto body = []() -> corio::task<> {
        socket_pair s;
        std::vector<std::byte> buffer(65536);
        auto h = corio::spawn(receive_into(s.a, buffer));
        co_await settle();
        std::ostringstream out;
        loop().dump_tasks(out);
        CHECK_THAT(out.str(),
                   Catch::Contains("sock_recv on fd " + std::to_string(s.a) + ", 64 KiB"));
        h.cancel();
        CHECK(co_await ended_cancelled(h));
    };
    corio::run(body());
}

// One receive, recorded before any other suspension: a cancel that arrives after the bytes
// did is delivered at the sleep, and the bytes are counted already.
corio::task<> receive_once(int fd, std::size_t& received) {
    std::array<std::byte, 7> buffer;
    received += co_await loop().sock_recv(fd, buffer);
    co_await corio::sleep(0s);
}

corio::task<> settle_randomly(std::mt19937& random) {
    const auto rounds = random() % 4;
    for (unsigned i = 0; i < rounds; ++i)
        if (random() % 3 == 0)
            co_await corio::sleep(100us); // lets the loop look at I/O
        else
            co_await corio::sleep(0s);
}

TEST_CASE("a storm of 10,000 receives cancelled at random moments loses no byte", "[socket]") {
    auto body = []() -> corio::task<> {
        socket_pair s;
        std::mt19937 random(20261201);
        std::size_t sent = 0;
        std::size_t received = 0;
        for (int round = 0; round < 100; ++round) {
            std::vector<corio::task_handle<>> receivers;
            for (int i = 0; i < 100; ++i)
                receivers.push_back(corio::spawn(receive_once(s.b, received)));
            for (int burst = 0; burst < 4; ++burst) {
                co_await settle_randomly(random);
                const std::string data(random() % 200, 'd');
                REQUIRE(::send(s.a, data.data(), data.size(), 0) ==
                        static_cast<ssize_t>(data.size()));
                sent += data.size();
                for (int c = 0; c < 30; ++c)
                    receivers[random() % receivers.size()].cancel();
            }
            for (auto& h : receivers) {
                h.cancel();
                co_await ended_cancelled(h);
            }
        }
        std::array<std::byte, 4096> rest;
        for (ssize_t n; (n = ::recv(s.b, rest.data(), rest.size(), MSG_DONTWAIT)) > 0;)
            received += static_cast<std::size_t>(n);
        CHECK(sent > 10000);
        CHECK(received == sent);
    };
    corio::run(body());
}

corio::task<unsigned> receive_one_byte(int fd) {
    std::byte b{};
    const std::size_t n = co_await loop().sock_recv(fd, std::span(&b, 1));
    co_return n == 1 ? static_cast<unsigned>(b) : 1000u;
}

TEST_CASE("100,000 receives in flight on one socket all complete", "[socket]") {
    auto body = []() -> corio::task<> {
        constexpr std::size_t n = 100'000;
        socket_pair s;
        std::vector<corio::task_handle<unsigned>> receivers;
        receivers.reserve(n);
        for (std::size_t i = 0; i < n; ++i)
            receivers.push_back(corio::spawn(receive_one_byte(s.b)));
        co_await settle(1);
        std::string data(n, '\0');
        unsigned long expected = 0;
        for (std::size_t i = 0; i < n; ++i) {
            data[i] = static_cast<char>(i % 251);
            expected += i % 251;
        }
        co_await loop().sock_sendall(s.a, bytes_of(data));
        unsigned long sum = 0;
        for (auto& h : receivers)
            sum += co_await h;
        CHECK(sum == expected);
    };
    corio::run(body());
}

TEST_CASE("a loop destroyed with operations in flight lets go of them first", "[socket]") {
    socket_pair s;
    listener l;
    std::size_t seen = 0;
    {
        corio::event_loop loop;
        auto main = [&]() -> corio::task<> {
            for (int i = 0; i < 100; ++i)
                corio::spawn(receive_one_byte(s.a));
            corio::spawn(accept_one(l.fd.get()));
            co_await settle();
            seen = loop.backend().in_flight();
        };
        loop.run_until_complete(main());
    } // the frames and their buffers go here, after the backend let go of their operations
    CHECK(seen == 101);
    REQUIRE(::send(s.b, "z", 1, 0) == 1); // nothing registered any more reads it
    char c = 0;
    CHECK(::recv(s.a, &c, 1, MSG_DONTWAIT) == 1);
}

// --- the protocol's races, scripted on a real socketpair ---

namespace {

corio::detail::scripted_backend& script() {
    return static_cast<corio::detail::scripted_backend&>(corio::get_running_loop().backend());
}

struct receive_log {
    std::size_t bytes = 0;
    bool returned = false;
    bool cancelled_at_receive = false;
    bool cancelled_after = false;
};

corio::task<> receive_then_yield(int fd, std::span<std::byte> buffer, receive_log& log) {
    try {
        log.bytes = co_await loop().sock_recv(fd, buffer);
        log.returned = true;
    } catch (const corio::cancelled_error&) {
        log.cancelled_at_receive = true;
        throw;
    }
    try {
        co_await corio::sleep(0s);
    } catch (const corio::cancelled_error&) {
        log.cancelled_after = true;
        throw;
    }
}

} // namespace

TEST_CASE("scripted: a short read returns what came", "[socket][script]") {
    auto body = []() -> corio::task<> {
        script().hold_operations(true);
        socket_pair s;
        std::array<std::byte, 64> buffer;
        receive_log log;
        auto h = corio::spawn(receive_then_yield(s.b, buffer, log));
        co_await settle();
        REQUIRE(script().held() == 1); // nothing to read yet: the operation was submitted
        REQUIRE(::send(s.a, "short", 5, 0) == 5);
        script().ready(script().held(0));
        co_await h;
        CHECK(log.bytes == 5);
        CHECK(text_of(std::span(buffer).first(5)) == "short");
    };
    run_virtual(body());
}

TEST_CASE("scripted: readiness that finds nothing to read keeps the task waiting",
          "[socket][script]") {
    auto body = []() -> corio::task<> {
        script().hold_operations(true);
        socket_pair s;
        std::array<std::byte, 64> buffer;
        receive_log log;
        auto h = corio::spawn(receive_then_yield(s.b, buffer, log));
        co_await settle();
        script().ready(script().held(0)); // another reader took the data: EAGAIN
        co_await corio::sleep(1ms);
        CHECK_FALSE(log.returned);
        REQUIRE(script().held() == 1);
        REQUIRE(::send(s.a, "abc", 3, 0) == 3);
        script().ready(script().held(0));
        co_await h;
        CHECK(log.bytes == 3);
    };
    run_virtual(body());
}

TEST_CASE("scripted: a cancel that wins leaves the data in the socket", "[socket][script]") {
    auto body = []() -> corio::task<> {
        script().hold_operations(true);
        socket_pair s;
        std::array<std::byte, 64> buffer;
        receive_log log;
        auto h = corio::spawn(receive_then_yield(s.b, buffer, log));
        co_await settle();
        h.cancel();
        CHECK(co_await ended_cancelled(h));
        CHECK(log.cancelled_at_receive);
        CHECK(script().held() == 0);
        REQUIRE(::send(s.a, "kept", 4, 0) == 4);
        script().hold_operations(false);
        CHECK(co_await receive_exactly(s.b, 4) == "kept");
    };
    run_virtual(body());
}

TEST_CASE("scripted: a receive that completes before the cancel returns its bytes",
          "[socket][script]") {
    auto body = []() -> corio::task<> {
        script().hold_operations(true);
        socket_pair s;
        std::array<std::byte, 64> buffer;
        receive_log log;
        auto h = corio::spawn(receive_then_yield(s.b, buffer, log));
        co_await settle();
        REQUIRE(::send(s.a, "first", 5, 0) == 5);
        script().ready(script().held(0)); // the kernel has it: too late to stop
        h.cancel();
        CHECK(co_await ended_cancelled(h));
        CHECK(log.bytes == 5);
        CHECK(log.cancelled_after);
    };
    run_virtual(body());
}

TEST_CASE("scripted: -ECANCELED ends a pending cancel; data that won the race is returned",
          "[socket][script]") {
    auto body = []() -> corio::task<> {
        script().hold_operations(true);
        script().answer_cancels(corio::detail::cancel_answer::pending);
        socket_pair s;
        std::array<std::byte, 64> buffer;
        receive_log lost_race;
        auto a = corio::spawn(receive_then_yield(s.b, buffer, lost_race));
        co_await settle();
        a.cancel();
        co_await settle();
        CHECK_FALSE(a.done()); // it resumes on the operation's own completion only
        script().complete(script().held(0), -ECANCELED);
        CHECK(co_await ended_cancelled(a));
        CHECK(lost_race.cancelled_at_receive);

        receive_log won_race;
        auto b = corio::spawn(receive_then_yield(s.b, buffer, won_race));
        co_await settle();
        b.cancel();
        co_await settle();
        buffer[0] = std::byte{'w'}; // as the kernel would have, before its completion
        script().complete(script().held(0), 1);
        CHECK(co_await ended_cancelled(b));
        CHECK(won_race.bytes == 1);
        CHECK(won_race.cancelled_after);
    };
    run_virtual(body());
}

namespace {

// Fills the socket's send buffer, so that a send now would block.
void fill_send_buffer(int fd) {
    const std::string chunk(64 << 10, 'f');
    while (::send(fd, chunk.data(), chunk.size(), MSG_DONTWAIT) > 0) {
    }
    REQUIRE(errno == EAGAIN);
}

corio::task<> send_ten(int fd) {
    co_await loop().sock_sendall(fd, bytes_of("0123456789"));
}

} // namespace

TEST_CASE("scripted: a short send is submitted again for the rest; a cancel in between ends "
          "it",
          "[socket][script]") {
    auto body = []() -> corio::task<> {
        script().hold_operations(true);
        script().answer_cancels(corio::detail::cancel_answer::pending);
        socket_pair s;
        fill_send_buffer(s.a);
        auto whole = corio::spawn(send_ten(s.a));
        co_await settle();
        REQUIRE(script().held() == 1);
        script().complete(script().held(0), 3); // 3 of 10 bytes went
        co_await corio::sleep(1ms);
        REQUIRE(script().held() == 1); // the other 7, submitted again
        CHECK_FALSE(whole.done());
        script().complete(script().held(0), 7);
        co_await whole;

        auto cut = corio::spawn(send_ten(s.a));
        co_await settle();
        script().complete(script().held(0), 4);
        cut.cancel(); // pending: the completion of the 4 bytes arrives after it
        CHECK(co_await ended_cancelled(cut));
        CHECK(script().held() == 0); // the rest was not submitted
    };
    run_virtual(body());
}

corio::task<> writable(int fd) {
    co_await corio::wait_writable(fd);
}

TEST_CASE("20 thousand operations that complete at once all complete (more than the "
          "completion queue holds)",
          "[socket]") {
    auto body = []() -> corio::task<> {
        socket_pair s;
        std::vector<corio::task_handle<>> waits;
        for (int i = 0; i < 20'000; ++i) // a socket with room to write is writable at once
            waits.push_back(corio::spawn(writable(s.a)));
        for (auto& h : waits)
            co_await h;
        CHECK(loop().backend().in_flight() == 0);
    };
    corio::run(body());
}
