// SPDX-License-Identifier: MIT
// run and event_loop: results, shutdown of leftover tasks, backend selection, misuse.
#include <cstdlib>
#include <stdexcept>

#include <system_error>

#include "corio_test.hpp"

using namespace corio_test;

namespace {

corio::task<int> answer() {
    co_return 42;
}

} // namespace

TEST_CASE("run returns main's value and rethrows its exception", "[run]") {
    CHECK(corio::run(answer()) == 42);
    auto failing = []() -> corio::task<> {
        co_await corio::sleep(1ms);
        throw std::invalid_argument("bad");
    };
    CHECK_THROWS_AS(corio::run(failing()), std::invalid_argument);
    CHECK(corio::run(answer()) == 42); // a second run after a failed one works
}

TEST_CASE("run uses the backend CORIO_BACKEND names", "[run]") {
    auto body = []() -> corio::task<std::string> {
        co_return std::string(corio::get_running_loop().backend_name());
    };
    std::string expected = requested_backend();
    if (expected.empty())
        expected = "epoll";
    CHECK(corio::run(body()) == expected);
}

TEST_CASE("run cancels leftover tasks and waits for their clean-up", "[run]") {
    bool cleaned_up = false;
    auto leftover = [&]() -> corio::task<> {
        bool cancelled = false;
        try {
            co_await corio::sleep(1h);
        } catch (const corio::cancelled_error&) {
            cancelled = true;
        }
        REQUIRE(cancelled);
        co_await corio::sleep(5ms); // clean-up that itself suspends
        cleaned_up = true;
        throw corio::cancelled_error();
    };
    auto body = [&]() -> corio::task<> {
        (void)corio::spawn(leftover());
        co_await corio::sleep(1ms);
    };
    auto start = corio::clock::now();
    corio::run(body());
    CHECK(cleaned_up);
    CHECK(seconds_since(start) < 1.0);
}

TEST_CASE("run shutdown cancels a task that swallowed an earlier cancellation", "[run]") {
    bool swallowed = false;
    bool cancelled_at_shutdown = false;
    auto stubborn = [&]() -> corio::task<> {
        try {
            co_await corio::sleep(1h);
        } catch (const corio::cancelled_error&) {
            swallowed = true;
        }
        try {
            co_await corio::sleep(1h);
        } catch (const corio::cancelled_error&) {
            cancelled_at_shutdown = true;
            throw;
        }
    };
    auto body = [&]() -> corio::task<> {
        auto h = corio::spawn(stubborn());
        co_await corio::sleep(1ms);
        h.cancel();
        co_await corio::sleep(1ms);
    };
    auto start = corio::clock::now();
    corio::run(body());
    CHECK(swallowed);
    CHECK(cancelled_at_shutdown);
    CHECK(seconds_since(start) < 1.0);
}

TEST_CASE("run or run_until_complete inside a running loop throws invalid_state_error", "[run]") {
    corio::event_loop loop;
    auto body = [&]() -> corio::task<int> {
        CHECK_THROWS_AS(corio::run(answer()), corio::invalid_state_error);
        CHECK_THROWS_AS(loop.run_until_complete(answer()), corio::invalid_state_error);
        // The running task is intact: it can still suspend.
        REQUIRE(corio::current_task());
        co_await corio::sleep(1ms);
        co_return 3;
    };
    CHECK(loop.run_until_complete(body()) == 3);
}

TEST_CASE("an explicitly requested backend that cannot work throws system_error", "[run]") {
    corio::run_options options;
    options.loop.backend = corio::backend::io_uring;
    CHECK_THROWS_AS(corio::run(answer(), options), std::system_error);
}

TEST_CASE("a bad CORIO_BACKEND value is named in the error", "[run]") {
    std::string saved = requested_backend();
    ::setenv("CORIO_BACKEND", "kqueue", 1);
    CHECK_THROWS_WITH(corio::run(answer()), Catch::Contains("kqueue"));
    ::setenv("CORIO_BACKEND", saved.c_str(), 1);
}

TEST_CASE("event_loop::run_until_complete leaves other tasks pending", "[run]") {
    bool finished = false;
    auto slow = [&]() -> corio::task<> {
        co_await corio::sleep(1h);
        finished = true;
    };
    corio::task_handle<> pending;
    {
        corio::event_loop loop;
        auto body = [&]() -> corio::task<int> {
            pending = corio::spawn(slow());
            co_await corio::sleep(1ms);
            co_return 5;
        };
        CHECK(loop.run_until_complete(body()) == 5);
        CHECK_FALSE(pending.done());
        auto before = corio::clock::now();
        auto loop_time = loop.time();
        CHECK(before <= loop_time);
        CHECK(loop_time <= corio::clock::now());
    } // the loop destroys the pending frame, unrun
    CHECK_FALSE(finished);
    CHECK_FALSE(pending.done());
    CHECK_THROWS_AS(pending.result(), corio::invalid_state_error);
}
