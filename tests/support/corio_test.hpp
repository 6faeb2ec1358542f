// SPDX-License-Identifier: MIT
// Helpers shared by corio's tests.
#pragma once

#include <corio/corio.hpp>
#include <corio/testing.hpp>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

#include <sys/socket.h>

// g++ 12 evaluates a co_await in the unevaluated operands of Catch's assertion macro (the
// __builtin_constant_p warning helper and the `while (false && expr)` tail), so
// `CHECK(co_await x == 1)` would await x twice. The same assertion without those two parts:
#undef INTERNAL_CATCH_TEST
#define INTERNAL_CATCH_TEST(macroName, resultDisposition, ...)                                     \
    do {                                                                                           \
        Catch::AssertionHandler catchAssertionHandler(macroName##_catch_sr,                        \
                                                      CATCH_INTERNAL_LINEINFO,                     \
                                                      CATCH_INTERNAL_STRINGIFY(__VA_ARGS__),       \
                                                      resultDisposition);                          \
        INTERNAL_CATCH_TRY {                                                                       \
            CATCH_INTERNAL_START_WARNINGS_SUPPRESSION                                              \
            CATCH_INTERNAL_SUPPRESS_PARENTHESES_WARNINGS                                           \
            catchAssertionHandler.handleExpr(Catch::Decomposer() <= __VA_ARGS__);                  \
            CATCH_INTERNAL_STOP_WARNINGS_SUPPRESSION                                               \
        }                                                                                          \
        INTERNAL_CATCH_CATCH(catchAssertionHandler)                                                \
        INTERNAL_CATCH_REACT(catchAssertionHandler)                                                \
    } while (false)

namespace corio_test {

using namespace std::chrono_literals;

/// Sleeps `d` on the running loop, then returns `value`.
inline corio::task<int> value_after(int value, corio::clock::duration d) {
    co_await corio::sleep(d);
    co_return value;
}

/// Sleeps `d` on the running loop.
inline corio::task<> nothing_after(corio::clock::duration d) {
    co_await corio::sleep(d);
}

/// Sleeps `d`, logging "<name> done", or "<name> cancelled" before it rethrows.
inline corio::task<>
sleeper(corio::clock::duration d, std::vector<std::string>& log, std::string name) {
    try {
        co_await corio::sleep(d);
        log.push_back(name + " done");
    } catch (const corio::cancelled_error&) {
        log.push_back(name + " cancelled");
        throw;
    }
}

/// Awaits a handle and says whether it ended with cancelled_error.
template <class T>
corio::task<bool> ended_cancelled(corio::task_handle<T> h) {
    try {
        co_await h;
    } catch (const corio::cancelled_error&) {
        co_return true;
    }
    co_return false;
}

/// Lets every ready task run `rounds` times.
inline corio::task<> settle(int rounds = 3) {
    for (int i = 0; i < rounds; ++i)
        co_await corio::sleep(0s);
}

/// Seconds elapsed since `start`, as a double.
inline double seconds_since(corio::clock::time_point start) {
    return std::chrono::duration<double>(corio::clock::now() - start).count();
}

/// How many exceptions tests have announced they will let reach the default handler.
inline long& expected_lost_exceptions() {
    static long count = 0;
    return count;
}

/// Announces that the test will send `n` exceptions to the default exception handler on
/// purpose, so the ledger check does not count them as lost.
inline void expect_lost_exceptions(long n) {
    expected_lost_exceptions() += n;
}

/// The backend ctest asked for through CORIO_BACKEND.
inline std::string requested_backend() {
    const char* name = std::getenv("CORIO_BACKEND");
    return name ? name : "";
}

/// corio::run on a loop whose time is virtual: the public one, as users' tests use it.
using corio::testing::run_virtual;

/// The what() of each exception in `group`, in order.
inline std::vector<std::string> messages(const corio::exception_group& group) {
    std::vector<std::string> out;
    for (const auto& e : group.exceptions())
        out.push_back(corio::detail::describe(e));
    return out;
}

/// Every task of the running loop other than the caller: what a test left behind.
inline std::size_t other_live_tasks() {
    return corio::all_tasks().size() - 1;
}

/// Sends everything written to file descriptor 2 to a temporary file while it lives, so a
/// test can check what corio printed on stderr.
class stderr_capture {
public:
    stderr_capture() : file_(std::tmpfile()), saved_(::dup(2)) {
        REQUIRE(file_ != nullptr);
        REQUIRE(saved_ >= 0);
        std::fflush(stderr);
        REQUIRE(::dup2(::fileno(file_), 2) == 2);
    }
    stderr_capture(const stderr_capture&) = delete;
    stderr_capture& operator=(const stderr_capture&) = delete;
    ~stderr_capture() {
        restore();
        std::fclose(file_);
    }

    /// Stops capturing and returns what was written.
    std::string text() {
        restore();
        std::string out;
        std::rewind(file_);
        char buffer[4096];
        while (std::size_t n = std::fread(buffer, 1, sizeof buffer, file_))
            out.append(buffer, n);
        return out;
    }

private:
    void restore() {
        if (saved_ < 0)
            return;
        std::fflush(stderr);
        ::dup2(saved_, 2);
        ::close(saved_);
        saved_ = -1;
    }

    std::FILE* file_;
    int saved_;
};

/// Both ends of a non-blocking pipe, closed when it goes.
struct pipe_pair {
    int read_end = -1;
    int write_end = -1;
    pipe_pair() {
        int fds[2];
        REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
        read_end = fds[0];
        write_end = fds[1];
    }
    pipe_pair(const pipe_pair&) = delete;
    pipe_pair& operator=(const pipe_pair&) = delete;
    ~pipe_pair() {
        close_write();
        ::close(read_end);
    }
    void put(char c) const { REQUIRE(::write(write_end, &c, 1) == 1); }
    char take() const {
        char c = 0;
        REQUIRE(::read(read_end, &c, 1) == 1);
        return c;
    }
    void close_write() {
        if (write_end >= 0)
            ::close(std::exchange(write_end, -1));
    }
};

/// Both ends of a non-blocking Unix stream socketpair, closed when it goes.
struct socket_pair {
    int a = -1;
    int b = -1;
    socket_pair() {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
        a = fds[0];
        b = fds[1];
    }
    socket_pair(const socket_pair&) = delete;
    socket_pair& operator=(const socket_pair&) = delete;
    ~socket_pair() {
        ::close(a);
        ::close(b);
    }
};

/// Waits until `fd` is readable.
inline corio::task<> readable(int fd) {
    co_await corio::wait_readable(fd);
}

} // namespace corio_test
