// SPDX-License-Identifier: MIT
// Low-level I/O: wait_readable, wait_writable, add_reader and add_writer on pipes and
// socketpairs; bad descriptors; cancellation; a loop closed with waits in flight.
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <sstream>
#include <string>
#include <system_error>
#include <unistd.h>
#include <vector>

#include <sys/socket.h>

#include "corio_test.hpp"

using namespace corio_test;

namespace {

// Waits until `fd` is readable, then sets `woke`.
corio::task<> wake_when_readable(int fd, bool& woke) {
    co_await corio::wait_readable(fd);
    woke = true;
}

std::size_t in_flight() {
    return corio::get_running_loop().backend().in_flight();
}

template <class F>
int errno_of(F&& f) {
    try {
        f();
    } catch (const std::system_error& e) {
        return e.code().value();
    }
    return 0;
}

} // namespace

TEST_CASE("wait_readable resumes when data arrives, not before", "[io]") {
    auto body = []() -> corio::task<> {
        pipe_pair p;
        bool woke = false;
        auto h = corio::spawn(wake_when_readable(p.read_end, woke));
        co_await corio::sleep(20ms);
        CHECK_FALSE(woke);
        CHECK(in_flight() == 1);
        p.put('x');
        co_await h;
        CHECK(woke);
        CHECK(p.take() == 'x');
        CHECK(in_flight() == 0);
    };
    corio::run(body());
}

TEST_CASE("a loop that always has a task ready still looks at I/O", "[io]") {
    auto body = []() -> corio::task<> {
        pipe_pair p;
        bool woke = false;
        auto h = corio::spawn(wake_when_readable(p.read_end, woke));
        co_await corio::sleep(0s); // the reader waits now
        p.put('x');
        // This task is always ready, so the loop never waits; it polls I/O once every 1,024
        // task steps, and an io_uring poll may take a second round to be submitted and answer.
        int yields = 0;
        while (!woke && yields < 100'000) {
            co_await corio::sleep(0s);
            ++yields;
        }
        CHECK(woke);
        CHECK(yields <= 3 * 1024);
        co_await h;
        CHECK(p.take() == 'x');
    };
    corio::run(body());
}

TEST_CASE("wait_readable on a pipe whose writer closed resumes: end of stream is readable",
          "[io]") {
    auto body = []() -> corio::task<> {
        pipe_pair p;
        auto reader = [&]() -> corio::task<> {
            co_await corio::wait_readable(p.read_end);
        };
        auto h = corio::spawn(reader());
        co_await settle();
        p.close_write();
        co_await h;
        char c;
        CHECK(::read(p.read_end, &c, 1) == 0);
    };
    corio::run(body());
}

TEST_CASE("wait_writable on a fresh socket resumes at once", "[io]") {
    auto body = []() -> corio::task<> {
        socket_pair s;
        co_await corio::wait_writable(s.a);
        CHECK(in_flight() == 0);
    };
    corio::run(body());
}

TEST_CASE("several tasks waiting on one fd all resume, readers and writers apart", "[io]") {
    auto body = []() -> corio::task<> {
        socket_pair s;
        int readers_woken = 0;
        auto reader = [&]() -> corio::task<> {
            co_await corio::wait_readable(s.a);
            ++readers_woken;
        };
        std::vector<corio::task_handle<>> readers;
        for (int i = 0; i < 3; ++i)
            readers.push_back(corio::spawn(reader()));
        co_await corio::wait_writable(s.a); // shares the fd's registration with the readers
        co_await settle();
        CHECK(readers_woken == 0);
        char c = 'x';
        REQUIRE(::write(s.b, &c, 1) == 1);
        for (auto& h : readers)
            co_await h;
        CHECK(readers_woken == 3);
    };
    corio::run(body());
}

TEST_CASE("a cancelled wait leaves nothing behind and the fd can be waited on again", "[io]") {
    auto body = []() -> corio::task<> {
        pipe_pair p;
        auto h = corio::spawn(readable(p.read_end));
        co_await settle();
        CHECK(in_flight() == 1);
        h.cancel();
        CHECK(co_await ended_cancelled(h));
        CHECK(in_flight() == 0);
        CHECK_THROWS_AS(co_await corio::wait_for(corio::wait_readable(p.read_end), 10ms),
                        corio::timeout_error);
        p.put('y');
        co_await corio::wait_for(corio::wait_readable(p.read_end), 1s);
        CHECK(p.take() == 'y');
    };
    corio::run(body());
}

TEST_CASE("a bad descriptor throws system_error, never hangs", "[io]") {
    auto body = []() -> corio::task<> {
        int closed = ::dup(0);
        ::close(closed);
        int code = 0;
        try {
            co_await corio::wait_readable(closed);
        } catch (const std::system_error& e) {
            code = e.code().value();
        }
        CHECK(code == EBADF);
        std::FILE* file = std::tmpfile();
        REQUIRE(file != nullptr);
        code = 0;
        try {
            co_await corio::wait_writable(::fileno(file));
        } catch (const std::system_error& e) {
            code = e.code().value();
        }
        CHECK(code == EPERM); // a regular file cannot be polled, as asyncio reports
        auto& loop = corio::get_running_loop();
        CHECK(errno_of([&] { loop.add_reader(::fileno(file), [] {}); }) == EPERM);
        CHECK(errno_of([&] { loop.add_writer(-1, [] {}); }) == EBADF);
        CHECK_FALSE(loop.remove_reader(::fileno(file)));
        std::fclose(file);
        CHECK(in_flight() == 0);
    };
    corio::run(body());
}

TEST_CASE("add_reader calls back once per iteration while readable, until removed", "[io]") {
    auto body = []() -> corio::task<> {
        pipe_pair p;
        auto& loop = corio::get_running_loop();
        int calls = 0;
        loop.add_reader(p.read_end, [&] { ++calls; });
        co_await corio::sleep(5ms);
        CHECK(calls == 0);
        p.put('a');
        co_await corio::sleep(5ms);
        CHECK(calls >= 2); // level-triggered: the byte is still there
        p.take();
        co_await corio::sleep(1ms);
        const int drained = calls;
        co_await corio::sleep(5ms);
        CHECK(calls == drained);
        CHECK(loop.remove_reader(p.read_end));
        CHECK_FALSE(loop.remove_reader(p.read_end));
        p.put('b');
        co_await corio::sleep(5ms);
        CHECK(calls == drained);
    };
    corio::run(body());
}

TEST_CASE("a second add_reader replaces the first; a reader may remove itself", "[io]") {
    auto body = []() -> corio::task<> {
        pipe_pair p;
        auto& loop = corio::get_running_loop();
        std::string log;
        loop.add_reader(p.read_end, [&] { log += 'a'; });
        loop.add_reader(
            p.read_end,
            [&](char c) {
                log += c;
                loop.remove_reader(p.read_end);
            },
            'b');
        p.put('x');
        co_await corio::sleep(5ms);
        CHECK(log == "b");
        CHECK_FALSE(loop.remove_reader(p.read_end));
    };
    corio::run(body());
}

TEST_CASE("a reader that throws is reported and stays registered", "[io]") {
    auto body = []() -> corio::task<> {
        pipe_pair p;
        auto& loop = corio::get_running_loop();
        std::vector<std::string> reported;
        loop.set_exception_handler([&](corio::event_loop&, const corio::exception_context& c) {
            reported.push_back(corio::detail::describe(c.exception));
        });
        int calls = 0;
        loop.add_reader(p.read_end, [&] {
            ++calls;
            throw std::runtime_error("reader failed");
        });
        p.put('x');
        co_await corio::sleep(5ms);
        CHECK(calls >= 2);
        CHECK(reported.size() == static_cast<std::size_t>(calls));
        CHECK(reported.front() == "reader failed");
        CHECK(loop.remove_reader(p.read_end));
        loop.set_exception_handler({});
    };
    corio::run(body());
}

TEST_CASE("add_writer calls back while writable; readers and writers of one fd coexist", "[io]") {
    auto body = []() -> corio::task<> {
        socket_pair s;
        auto& loop = corio::get_running_loop();
        int writes = 0;
        int reads = 0;
        loop.add_writer(s.a, [&] { ++writes; });
        loop.add_reader(s.a, [&] { ++reads; });
        co_await corio::sleep(5ms);
        CHECK(writes >= 2);
        CHECK(reads == 0);
        CHECK(loop.remove_writer(s.a));
        char c = 'x';
        REQUIRE(::write(s.b, &c, 1) == 1);
        co_await corio::sleep(5ms);
        CHECK(reads >= 2);
        CHECK(loop.remove_reader(s.a));
    };
    corio::run(body());
}

TEST_CASE("dump_tasks shows what fd a task waits on", "[io]") {
    auto body = []() -> corio::task<> {
        pipe_pair p;
        auto h = corio::spawn(readable(p.read_end), "reader");
        co_await settle();
        std::ostringstream out;
        corio::dump_tasks(out);
        CHECK(out.str().find("readable on fd " + std::to_string(p.read_end)) != std::string::npos);
        h.cancel();
        co_await ended_cancelled(h);
    };
    corio::run(body());
}

TEST_CASE("a loop destroyed with 100 waits in flight lets go of them first", "[io]") {
    pipe_pair p;
    std::size_t seen = 0;
    {
        corio::event_loop loop;
        auto main = [&]() -> corio::task<> {
            for (int i = 0; i < 100; ++i)
                corio::spawn(readable(p.read_end));
            co_await settle();
            seen = in_flight();
        };
        loop.run_until_complete(main());
    } // the waiting frames go here, after the backend let go of their operations
    CHECK(seen == 100);
    p.put('z'); // nothing is registered any more: no stale pointer is touched
}
