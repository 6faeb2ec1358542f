// SPDX-License-Identifier: MIT
// gather: concurrency, result order, structured failure and cancellation.
#include <stdexcept>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "corio_test.hpp"

using namespace corio_test;

namespace {

corio::task<int> value_after(int value, std::chrono::milliseconds d) {
    co_await corio::sleep(d);
    co_return value;
}

corio::task<> nothing_after(std::chrono::milliseconds d) {
    co_await corio::sleep(d);
}

} // namespace

TEST_CASE("gather runs children concurrently and returns results in argument order", "[gather]") {
    auto body = []() -> corio::task<> {
        auto start = corio::clock::now();
        auto [a, b, c] = co_await corio::gather(
            value_after(1, 200ms), value_after(2, 100ms), nothing_after(200ms));
        double elapsed = seconds_since(start);
        CHECK(a == 1);
        CHECK(b == 2);
        STATIC_REQUIRE(std::is_same_v<decltype(c), std::monostate>);
        CHECK(elapsed >= 0.2);
        CHECK(elapsed < 0.35); // concurrently: not 0.5 s
    };
    corio::run(body());
}

TEST_CASE("gather accepts task handles", "[gather]") {
    auto body = []() -> corio::task<> {
        auto h = corio::spawn(value_after(7, 1ms));
        auto [x, y] = co_await corio::gather(h, value_after(8, 0ms));
        CHECK(x == 7);
        CHECK(y == 8);
        CHECK(h.result() == 7);
    };
    corio::run(body());
}

TEST_CASE("gather of a range returns a vector in range order", "[gather]") {
    auto body = []() -> corio::task<> {
        std::vector<corio::task<int>> tasks;
        for (int i = 0; i < 10; ++i)
            tasks.push_back(value_after(i, std::chrono::milliseconds(10 - i)));
        std::vector<int> results = co_await corio::gather(std::move(tasks));
        CHECK(results == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

        std::vector<corio::task_handle<int>> handles;
        for (int i = 0; i < 3; ++i)
            handles.push_back(corio::spawn(value_after(i * 10, 1ms)));
        // Named first: g++ 12 rejects a braced list inside a co_await expression.
        const std::vector<int> expected{0, 10, 20};
        CHECK(co_await corio::gather(handles) == expected);

        std::vector<corio::task<>> voids;
        voids.push_back(nothing_after(1ms));
        voids.push_back(nothing_after(2ms));
        co_await corio::gather(std::move(voids));

        std::vector<corio::task<int>> none;
        CHECK((co_await corio::gather(std::move(none))).empty());
    };
    corio::run(body());
}

TEST_CASE("the first failure cancels the other children, waits for them, then is rethrown",
          "[gather]") {
    bool first_cancelled = false;
    bool first_cleaned_up = false;
    auto sleeper = [&]() -> corio::task<int> {
        try {
            co_await corio::sleep(10s);
        } catch (const corio::cancelled_error&) {
            first_cancelled = true;
        }
        // Clean-up that suspends: gather must wait for it before rethrowing.
        co_await corio::sleep(20ms);
        first_cleaned_up = true;
        throw corio::cancelled_error();
    };
    auto failing = []() -> corio::task<int> {
        co_await corio::sleep(10ms);
        throw std::runtime_error("second failed");
    };
    auto body = [&]() -> corio::task<> {
        auto start = corio::clock::now();
        CHECK_THROWS_WITH(co_await corio::gather(sleeper(), failing()), "second failed");
        CHECK(first_cancelled);
        CHECK(first_cleaned_up);
        CHECK(seconds_since(start) < 1.0);
        CHECK(other_live_tasks() == 0);
    };
    corio::run(body());
}

TEST_CASE("cancelling the task awaiting gather cancels every child", "[gather]") {
    int cancelled = 0;
    auto sleeper = [&]() -> corio::task<> {
        try {
            co_await corio::sleep(10s);
        } catch (const corio::cancelled_error&) {
            ++cancelled;
            throw;
        }
    };
    auto gathering = [&]() -> corio::task<> {
        std::vector<corio::task<>> tasks;
        for (int i = 0; i < 3; ++i)
            tasks.push_back(sleeper());
        co_await corio::gather(std::move(tasks));
    };
    auto body = [&]() -> corio::task<> {
        auto h = corio::spawn(gathering());
        co_await corio::sleep(5ms);
        h.cancel("shutdown");
        try {
            co_await h;
            FAIL("the gathering task must end cancelled");
        } catch (const corio::cancelled_error& e) {
            CHECK(e.message() == "shutdown");
        }
        CHECK(cancelled == 3);
        CHECK(other_live_tasks() == 0);
    };
    corio::run(body());
}

TEST_CASE("a child cancelled by someone else fails gather with cancelled_error", "[gather]") {
    auto body = []() -> corio::task<> {
        auto victim = corio::spawn(value_after(1, 10s));
        auto other = corio::spawn(value_after(2, 10s));
        victim.cancel();
        CHECK_THROWS_AS(co_await corio::gather(victim, other), corio::cancelled_error);
        CHECK(other.cancelled()); // structured: the sibling does not outlive gather
    };
    corio::run(body());
}
