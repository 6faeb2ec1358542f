// SPDX-License-Identifier: MIT
// Servers and connections: open_connection by name and by address, refused and unknown
// hosts, an echo server under 100 concurrent clients, 1,000 connections with no fd left
// behind, accept out of descriptors and recovering, close() ending every handler, handler
// failures, serve_forever, Unix servers and their socket files.
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <iterator>
#include <string>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <vector>

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "corio_test.hpp"

using namespace corio_test;

namespace {

long open_fds() {
    return static_cast<long>(std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                                           std::filesystem::directory_iterator{}));
}

// Echoes lines until the peer ends the stream.
corio::task<> echo_lines(corio::tcp_stream s) {
    for (;;) {
        std::string line = co_await s.readline();
        if (line.empty())
            co_return;
        co_await s.write(line);
    }
}

corio::task<std::size_t> echo_client(std::uint16_t port, int id, int messages) {
    corio::tcp_stream s = co_await corio::open_connection("127.0.0.1", port);
    std::size_t echoed = 0;
    for (int i = 0; i < messages; ++i) {
        const std::string line = std::to_string(id) + ":" + std::to_string(i) + "\n";
        co_await s.write(line);
        REQUIRE(co_await s.readline() == line);
        echoed += line.size();
    }
    co_await s.close();
    co_return echoed;
}

// The errno of the std::system_error `t` ends with; 0 when it ends well.
template <class T>
corio::task<std::error_code> error_of(T awaitable) {
    try {
        co_await std::move(awaitable);
    } catch (const std::system_error& e) {
        co_return e.code();
    }
    co_return std::error_code();
}

std::string socket_file(const char* name) {
    return (std::filesystem::temp_directory_path() /
            (std::string("corio-test-") + std::to_string(::getpid()) + "-" + name))
        .string();
}

} // namespace

TEST_CASE("an echo server serves 100 concurrent clients of 1,000 lines each", "[server]") {
    auto body = []() -> corio::task<> {
        corio::server srv = co_await corio::start_server(echo_lines, "127.0.0.1", 0);
        REQUIRE(srv.port() != 0);
        REQUIRE(srv.sockets().size() == 1);
        CHECK(srv.sockets()[0] == corio::endpoint("127.0.0.1", srv.port()));
        std::vector<corio::task_handle<std::size_t>> clients;
        std::size_t expected = 0;
        for (int id = 0; id < 100; ++id) {
            clients.push_back(corio::spawn(echo_client(srv.port(), id, 1000)));
            for (int i = 0; i < 1000; ++i)
                expected += std::to_string(id).size() + std::to_string(i).size() + 2;
        }
        std::size_t echoed = 0;
        for (auto& c : clients)
            echoed += co_await c;
        CHECK(echoed == expected);
        srv.close();
        co_await srv.wait_closed();
        CHECK(srv.sockets().empty());
        CHECK_FALSE(srv.is_serving());
    };
    corio::run(body());
}

TEST_CASE("open_connection resolves names and reports refused and unknown hosts", "[server]") {
    auto body = []() -> corio::task<> {
        corio::server srv = co_await corio::start_server(echo_lines, "127.0.0.1", 0);
        corio::tcp_stream s = co_await corio::open_connection("localhost", srv.port());
        co_await s.write("by name\n");
        CHECK(co_await s.readline() == "by name\n");
        const std::uint16_t port = srv.port();
        srv.close();
        co_await srv.wait_closed();
        CHECK(srv.port() == port); // kept after close

        const std::error_code refused =
            co_await error_of(corio::open_connection("127.0.0.1", port));
        CHECK(refused == std::errc::connection_refused);
        const std::error_code unknown =
            co_await error_of(corio::open_connection("no..such..host", 80));
        CHECK(unknown.category() == corio::resolver_category());
    };
    corio::run(body());
}

TEST_CASE("1,000 connections opened and closed leave no descriptor behind", "[server]") {
    auto body = []() -> corio::task<> {
        const long before = open_fds();
        {
            corio::server srv = co_await corio::start_server(echo_lines, "127.0.0.1", 0);
            for (int i = 0; i < 1000; ++i) {
                corio::tcp_stream s = co_await corio::open_connection("127.0.0.1", srv.port());
                if (i % 2 == 0) {
                    co_await s.write("x\n");
                    CHECK(co_await s.readline() == "x\n");
                }
                co_await s.close();
            }
            srv.close();
            co_await srv.wait_closed();
        }
        co_await settle();
        CHECK(open_fds() == before);
    };
    corio::run(body());
}

TEST_CASE("close() cancels every handler, which may say goodbye, and wait_closed waits for "
          "them",
          "[server]") {
    auto body = []() -> corio::task<> {
        int finished = 0;
        auto handler = [&finished](corio::tcp_stream s) -> corio::task<> {
            std::exception_ptr cancelled;
            try {
                co_await s.read(1); // the client never sends
            } catch (const corio::cancelled_error&) {
                cancelled = std::current_exception();
            }
            ++finished;
            co_await s.write("bye\n");
            std::rethrow_exception(cancelled);
        };
        corio::server srv = co_await corio::start_server(handler, "127.0.0.1", 0);
        std::vector<corio::tcp_stream> clients;
        for (int i = 0; i < 10; ++i)
            clients.push_back(co_await corio::open_connection("127.0.0.1", srv.port()));
        co_await settle();
        srv.close();
        co_await srv.wait_closed();
        CHECK(finished == 10);
        for (auto& c : clients) {
            CHECK(co_await c.readline() == "bye\n");
            CHECK(co_await c.read(1) == ""); // end of stream, not a reset
        }
        CHECK(other_live_tasks() == 0);
    };
    corio::run(body());
}

TEST_CASE("a handler's exception closes only its connection and reaches the exception "
          "handler once",
          "[server]") {
    auto body = []() -> corio::task<> {
        std::vector<std::string> reports;
        corio::get_running_loop().set_exception_handler(
            [&](corio::event_loop&, const corio::exception_context& c) {
                reports.push_back(c.message + ": " + corio::detail::describe(c.exception) +
                                  (c.task ? " (task)" : ""));
            });
        auto handler = [](corio::tcp_stream s) -> corio::task<> {
            const std::string line = co_await s.readline();
            if (line == "fail\n")
                throw std::runtime_error("handler failed");
            co_await s.write(line);
            co_await s.read(1);
        };
        corio::server srv = co_await corio::start_server(handler, "127.0.0.1", 0);
        corio::tcp_stream good = co_await corio::open_connection("127.0.0.1", srv.port());
        corio::tcp_stream bad = co_await corio::open_connection("127.0.0.1", srv.port());
        co_await bad.write("fail\n");
        CHECK(co_await bad.read(1) == ""); // its connection closed
        co_await good.write("ok\n");
        CHECK(co_await good.readline() == "ok\n"); // the other one still served
        REQUIRE(reports.size() == 1);
        CHECK_THAT(reports[0], Catch::Contains("handler failed"));
        CHECK_THAT(reports[0], Catch::Contains("(task)"));
        srv.close();
        co_await srv.wait_closed();
        CHECK(reports.size() == 1); // cancellations are not reported
        corio::get_running_loop().set_exception_handler({});
    };
    corio::run(body());
}

TEST_CASE("serve_forever returns on close, and cancelled closes the server and rethrows",
          "[server]") {
    auto body = []() -> corio::task<> {
        corio::server srv = co_await corio::start_server(echo_lines, "127.0.0.1", 0);
        auto serving = corio::spawn(srv.serve_forever());
        corio::tcp_stream s = co_await corio::open_connection("127.0.0.1", srv.port());
        co_await settle();
        serving.cancel();
        CHECK(co_await ended_cancelled(serving));
        CHECK_FALSE(srv.is_serving());
        CHECK(co_await s.read(1) == ""); // its handler was cancelled and its stream closed

        corio::server other = co_await corio::start_server(echo_lines, "127.0.0.1", 0);
        auto forever = corio::spawn(other.serve_forever());
        co_await settle();
        other.close();
        co_await forever; // returns normally
    };
    corio::run(body());
}

TEST_CASE("a server is an AsyncResource", "[server]") {
    auto body = []() -> corio::task<> {
        std::uint16_t port = 0;
        corio::server srv = co_await corio::start_server(echo_lines, "127.0.0.1", 0);
        co_await corio::with(srv, [&port](corio::server& s) -> corio::task<> {
            port = s.port();
            corio::tcp_stream c = co_await corio::open_connection("127.0.0.1", s.port());
            co_await c.write("hi\n");
            CHECK(co_await c.readline() == "hi\n");
        });
        CHECK_FALSE(srv.is_serving());
        CHECK(co_await error_of(corio::open_connection("127.0.0.1", port)) ==
              std::errc::connection_refused);
    };
    corio::run(body());
}

TEST_CASE("listening on every address of a host name, and the port in use", "[server]") {
    auto body = []() -> corio::task<> {
        corio::server srv = co_await corio::start_server(echo_lines, "localhost", 0);
        REQUIRE_FALSE(srv.sockets().empty());
        for (const corio::endpoint& e : srv.sockets())
            CHECK(e.port() == srv.port()); // every socket took the first one's port
        const std::error_code busy =
            co_await error_of(corio::start_server(echo_lines, "127.0.0.1", srv.port()));
        CHECK(busy == std::errc::address_in_use);

        corio::server shared1 =
            co_await corio::start_server(echo_lines, "127.0.0.1", 0, {.reuse_port = true});
        corio::server shared2 = co_await corio::start_server(
            echo_lines, "127.0.0.1", shared1.port(), {.reuse_port = true});
        CHECK(shared2.port() == shared1.port());
    };
    corio::run(body());
}

TEST_CASE("out of descriptors, the server pauses accepting, keeps serving, and recovers",
          "[server]") {
    auto body = []() -> corio::task<> {
        int reports = 0;
        corio::get_running_loop().set_exception_handler(
            [&](corio::event_loop&, const corio::exception_context& c) {
                CHECK_THAT(c.message, Catch::Contains("out of resources"));
                ++reports;
            });
        // A low limit, set before the server starts: an io_uring multishot accept keeps the
        // limit in force when it was submitted.
        rlimit saved{};
        REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
        const int lowest_free = ::dup(0);
        REQUIRE(lowest_free >= 0);
        ::close(lowest_free);
        rlimit low = saved;
        low.rlim_cur = static_cast<rlim_t>(lowest_free + 16);
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);

        corio::server srv = co_await corio::start_server(echo_lines, "127.0.0.1", 0);
        corio::tcp_stream open = co_await corio::open_connection("127.0.0.1", srv.port());
        co_await open.write("before\n");
        CHECK(co_await open.readline() == "before\n");

        // Every descriptor taken but one, for the client's socket: none for the server's accept.
        std::vector<corio::unique_fd> filler;
        for (int fd; (fd = ::dup(0)) >= 0;)
            filler.emplace_back(fd);
        REQUIRE(errno == EMFILE);
        filler.pop_back();
        corio::tcp_stream waiting = co_await corio::open_connection("127.0.0.1", srv.port());
        co_await corio::sleep(100ms);
        CHECK(reports == 1); // once, then a pause: no busy loop
        co_await open.write("during\n");
        CHECK(co_await open.readline() == "during\n"); // open connections go on
        filler.clear();
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);

        co_await waiting.write("after\n"); // accepted once the pause is over
        CHECK(co_await waiting.readline() == "after\n");
        CHECK(reports == 1);
        corio::get_running_loop().set_exception_handler({});
    };
    corio::run(body());
}

TEST_CASE("connections reset before they are accepted reach the handler, and the server goes "
          "on",
          "[server]") {
    auto body = []() -> corio::task<> {
        int resets = 0;
        auto count_resets = [&resets](corio::tcp_stream s) -> corio::task<> {
            try {
                co_await echo_lines(std::move(s));
            } catch (const std::system_error& e) {
                if (e.code() == std::errc::connection_reset)
                    ++resets;
            }
        };
        corio::server srv = co_await corio::start_server(count_resets, "127.0.0.1", 0);
        const corio::endpoint address("127.0.0.1", srv.port());
        // Connected and reset (SO_LINGER 0) while the loop does not run: the server accepts
        // each one already reset.
        for (int i = 0; i < 5; ++i) {
            corio::unique_fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
            REQUIRE(client);
            REQUIRE(::connect(client.get(), address.data(), address.size()) == 0);
            const linger reset{1, 0};
            REQUIRE(::setsockopt(client.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset) == 0);
        }
        CHECK(co_await echo_client(srv.port(), 0, 3) == 12);
        for (int i = 0; i < 1000 && resets < 5; ++i)
            co_await corio::sleep(1ms);
        CHECK(resets == 5);
    };
    corio::run(body());
}

TEST_CASE("a Unix server removes a stale socket file, and its own on close", "[server]") {
    auto body = []() -> corio::task<> {
        const std::string path = socket_file("unix");
        {
            // A stale socket file, as a crashed server leaves it.
            corio::unique_fd stale(::socket(AF_UNIX, SOCK_STREAM, 0));
            const auto address = corio::endpoint::unix_path(path);
            REQUIRE(::bind(stale.get(), address.data(), address.size()) == 0);
        }
        REQUIRE(std::filesystem::exists(path));
        auto handler = [](corio::unix_stream s) -> corio::task<> {
            co_await s.write(co_await s.readline());
        };
        corio::server srv = co_await corio::start_unix_server(handler, path);
        CHECK(srv.port() == 0);
        REQUIRE(srv.sockets().size() == 1);
        CHECK(srv.sockets()[0].to_string() == path);
        corio::unix_stream c = co_await corio::open_unix_connection(path);
        co_await c.write("over unix\n");
        CHECK(co_await c.readline() == "over unix\n");
        srv.close();
        co_await srv.wait_closed();
        CHECK_FALSE(std::filesystem::exists(path));
        CHECK(co_await error_of(corio::open_unix_connection(path)) ==
              std::errc::no_such_file_or_directory);

        const std::string abstract =
            std::string(1, '\0') + "corio-test-" + std::to_string(::getpid());
        corio::server hidden = co_await corio::start_unix_server(handler, abstract);
        corio::unix_stream h = co_await corio::open_unix_connection(abstract);
        co_await h.write("abstract\n");
        CHECK(co_await h.readline() == "abstract\n");
    };
    corio::run(body());
}
