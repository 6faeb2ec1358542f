// SPDX-License-Identifier: MIT
// gather: concurrency, result order, structured failure and cancellation.
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "corio_test.hpp"

using namespace corio_test;

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

namespace {

// An awaiter of the program's own, neither a task nor a handle: ready at once.
struct ready_value {
    int value;

    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    int await_resume() const noexcept { return value; }
};

corio::task<int> fail_after(std::chrono::milliseconds d, const char* what) {
    co_await corio::sleep(d);
    throw std::runtime_error(what);
}

} // namespace

TEST_CASE("gather accepts any movable awaitable", "[gather]") {
    auto body = []() -> corio::task<> {
        auto start = corio::clock::now();
        auto [slept, own, handle] = co_await corio::gather(
            corio::sleep(100ms), ready_value{5}, corio::spawn(value_after(6, 100ms)));
        CHECK(seconds_since(start) >= 0.1);
        CHECK(seconds_since(start) < 0.19); // at once, not one after the other
        STATIC_REQUIRE(std::is_same_v<decltype(slept), std::monostate>);
        CHECK(own == 5);
        CHECK(handle == 6);

        std::vector<ready_value> awaitables{{1}, {2}};
        const std::vector<int> expected{1, 2};
        CHECK(co_await corio::gather(std::move(awaitables)) == expected);
    };
    corio::run(body());
}

TEST_CASE("gather(return_exceptions, ...) collects every outcome and cancels no sibling",
          "[gather]") {
    std::vector<std::string> reports;
    auto body = [&]() -> corio::task<> {
        corio::get_running_loop().set_exception_handler(
            [&](corio::event_loop&, const corio::exception_context& c) {
                reports.push_back(c.message);
            });
        auto victim = corio::spawn(value_after(3, 10s));
        victim.cancel();
        auto [ok, failed, slow, cancelled, nothing] =
            co_await corio::gather(corio::return_exceptions,
                                   value_after(1, 1ms),
                                   fail_after(1ms, "boom"),
                                   value_after(2, 30ms), // outlives the failure, not cancelled
                                   victim,
                                   nothing_after(1ms));
        REQUIRE(ok.has_value());
        CHECK(ok.value() == 1);
        CHECK_FALSE(failed.has_value());
        CHECK_THROWS_WITH(failed.value(), "boom");
        CHECK(failed.error() != nullptr);
        REQUIRE(slow.has_value());
        CHECK(slow.value() == 2);
        CHECK_FALSE(cancelled.has_value());
        CHECK_THROWS_AS(cancelled.value(), corio::cancelled_error);
        CHECK(nothing.has_value());
        STATIC_REQUIRE(std::is_same_v<decltype(nothing), corio::outcome<void>>);
    };
    corio::run(body());
    CHECK(reports.empty()); // the failure was collected, so it is not reported as lost
}

TEST_CASE("gather(return_exceptions, range) returns a vector of outcomes", "[gather]") {
    auto body = []() -> corio::task<> {
        std::vector<corio::task<int>> tasks;
        tasks.push_back(value_after(1, 2ms));
        tasks.push_back(fail_after(1ms, "second"));
        tasks.push_back(value_after(3, 3ms));
        auto outcomes = co_await corio::gather(corio::return_exceptions, std::move(tasks));
        REQUIRE(outcomes.size() == 3);
        CHECK(outcomes[0].value() == 1);
        CHECK_THROWS_WITH(outcomes[1].value(), "second");
        CHECK(outcomes[2].value() == 3);

        std::vector<corio::task<>> voids;
        voids.push_back(nothing_after(1ms));
        auto void_outcomes = co_await corio::gather(corio::return_exceptions, std::move(voids));
        STATIC_REQUIRE(std::is_same_v<decltype(void_outcomes), std::vector<corio::outcome<void>>>);
        REQUIRE(void_outcomes.size() == 1);
        CHECK(void_outcomes[0].has_value());
    };
    corio::run(body());
}

TEST_CASE("cancelling a gather(return_exceptions, ...) cancels the children and throws",
          "[gather]") {
    int cancelled = 0;
    auto sleeper = [&]() -> corio::task<int> {
        try {
            co_await corio::sleep(10s);
        } catch (const corio::cancelled_error&) {
            ++cancelled;
            throw;
        }
        co_return 0;
    };
    auto gathering = [&]() -> corio::task<> {
        co_await corio::gather(corio::return_exceptions, sleeper(), sleeper());
    };
    auto body = [&]() -> corio::task<> {
        auto h = corio::spawn(gathering());
        co_await corio::sleep(5ms);
        h.cancel();
        CHECK_THROWS_AS(co_await h, corio::cancelled_error);
        CHECK(cancelled == 2);
        CHECK(other_live_tasks() == 0);
    };
    corio::run(body());
}

TEST_CASE("outcome holds a value or an exception", "[gather]") {
    corio::outcome<std::string> value(std::string("x"));
    CHECK(value.has_value());
    CHECK(static_cast<bool>(value));
    CHECK(value.value() == "x");
    CHECK(value.error() == nullptr);
    CHECK(std::move(value).value() == "x");

    auto error = corio::outcome<int>::failure(std::make_exception_ptr(std::out_of_range("range")));
    CHECK_FALSE(error.has_value());
    CHECK_THROWS_AS(error.value(), std::out_of_range);

    CHECK_THROWS_AS(corio::outcome<int>::failure(nullptr), std::invalid_argument);
    CHECK(corio::outcome<void>().has_value());
    CHECK_FALSE(corio::outcome<void>::failure(std::make_exception_ptr(1)).has_value());
    CHECK_THROWS_AS(corio::outcome<void>::failure(nullptr), std::invalid_argument);

    // An exception_ptr is a value like any other.
    const std::exception_ptr payload = std::make_exception_ptr(1);
    corio::outcome<std::exception_ptr> holds_pointer(payload);
    CHECK(holds_pointer.has_value());
    CHECK(holds_pointer.value() == payload);
}

TEST_CASE("a bad argument makes gather throw before any child is spawned", "[gather]") {
    auto body = []() -> corio::task<> {
        bool ran = false;
        auto child = [&]() -> corio::task<int> {
            ran = true;
            co_return 1;
        };
        auto spent = value_after(1, 0ms);
        co_await spent;
        CHECK_THROWS_AS(corio::gather(child(), std::move(spent)), std::logic_error);
        corio::task<int> empty;
        CHECK_THROWS_AS(corio::gather(child(), std::move(empty)), std::logic_error);
        CHECK_THROWS_AS(corio::gather(child(), corio::task_handle<int>{}),
                        corio::invalid_state_error);
        std::vector<corio::task_handle<int>> with_empty(1);
        CHECK_THROWS_AS(corio::gather(with_empty), corio::invalid_state_error);
        co_await corio::sleep(1ms);
        CHECK_FALSE(ran);
        CHECK(other_live_tasks() == 0);
    };
    corio::run(body());
}

TEST_CASE("gather over a view of handles copies them, leaving the caller's intact", "[gather]") {
    auto body = []() -> corio::task<> {
        std::vector<corio::task_handle<int>> handles;
        handles.push_back(corio::spawn(value_after(4, 1ms)));
        handles.push_back(corio::spawn(value_after(5, 1ms)));
        const std::vector<int> first{4};
        // (std::views::take would do as well, but clang 14 cannot compile libstdc++ 12's views.)
        CHECK(co_await corio::gather(std::span(handles).first(1)) == first);
        const std::vector<int> both{4, 5};
        CHECK(co_await corio::gather(std::span(handles)) == both);
        REQUIRE(handles[0]);
        CHECK(handles[0].result() == 4);
    };
    corio::run(body());
}

TEST_CASE("a task gathered by two gathers at once, or twice by one, is awaited in each place",
          "[gather]") {
    auto body = []() -> corio::task<> {
        auto shared = corio::spawn(value_after(3, 2h));
        auto first = corio::spawn(corio::gather(shared, value_after(1, 1h)));
        auto second = corio::spawn(corio::gather(shared, shared));
        auto direct = corio::spawn(ended_cancelled(shared));
        co_await settle(); // all three wait for `shared` now
        REQUIRE_FALSE(shared.done());
        auto [a, b] = co_await first;
        CHECK(a == 3);
        CHECK(b == 1);
        auto [c, d] = co_await second;
        CHECK(c == 3);
        CHECK(d == 3);
        CHECK_FALSE(co_await direct);
        CHECK(other_live_tasks() == 0);
    };
    run_virtual(body());
}

TEST_CASE("a loop that closes under a pending gather destroys it and its children cleanly",
          "[gather]") {
    corio::task_handle<> gathering;
    std::vector<corio::task_handle<>> children;
    {
        corio::event_loop loop;
        auto body = [&]() -> corio::task<> {
            for (int i = 0; i < 3; ++i)
                children.push_back(corio::spawn(nothing_after(1h)));
            gathering = corio::spawn(corio::gather(children));
            co_await settle();
            corio::get_running_loop().stop();
            co_await corio::sleep(1h);
        };
        CHECK_THROWS_AS(loop.run_until_complete(body()), corio::invalid_state_error);
        REQUIRE(gathering);
        CHECK_FALSE(gathering.done());
    }
    // The states outlive the loop, which destroyed every frame without finishing it.
    CHECK_FALSE(gathering.done());
    for (const auto& child : children)
        CHECK_FALSE(child.done());
}
