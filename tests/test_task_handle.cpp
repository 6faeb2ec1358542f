// SPDX-License-Identifier: MIT
// spawn and task_handle: lifetime, results, names, and asyncio's cancellation semantics.
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "corio_test.hpp"

using namespace corio_test;

namespace {

corio::task<> forever() {
    co_await corio::sleep(24h);
}

} // namespace

TEST_CASE("spawn outside a running loop throws no_running_loop", "[spawn]") {
    CHECK_THROWS_AS(corio::spawn(value_after(1, 0ms)), corio::no_running_loop);
    CHECK_THROWS_AS(corio::get_running_loop(), corio::no_running_loop);
    CHECK_FALSE(corio::current_task());
}

TEST_CASE("a spawned task runs even when every handle is dropped", "[spawn]") {
    int ran = 0;
    auto child = [&]() -> corio::task<> {
        co_await corio::sleep(1ms);
        ++ran;
    };
    auto body = [&]() -> corio::task<> {
        (void)corio::spawn(child());
        (void)corio::create_task(child());
        CHECK(ran == 0); // spawn schedules, it does not run the task inline
        co_await corio::sleep(50ms);
        CHECK(ran == 2);
    };
    corio::run(body());
}

TEST_CASE("a handle yields the task's value or rethrows its exception", "[spawn]") {
    auto failing = []() -> corio::task<int> {
        co_await corio::sleep(1ms);
        throw std::runtime_error("child failed");
    };
    auto body = [&]() -> corio::task<> {
        auto ok = corio::spawn(value_after(5, 1ms));
        auto bad = corio::spawn(failing());
        CHECK(co_await ok == 5);
        CHECK(ok.result() == 5);
        CHECK(ok.exception() == nullptr);
        CHECK_THROWS_WITH(co_await bad, "child failed");
        CHECK_THROWS_WITH(bad.result(), "child failed");
        CHECK(bad.exception() != nullptr);
        CHECK(bad.done());
        CHECK_FALSE(bad.cancelled());
    };
    corio::run(body());
}

namespace {

// The widest alignment a task's result may have (task<T> rejects a wider one at compile time).
struct alignas(16) wide {
    long double value;
};

corio::task<wide> wide_after(int value, bool fail) {
    co_await corio::sleep(1ms);
    if (fail)
        throw std::runtime_error("wide failed");
    co_return wide{static_cast<long double>(value)};
}

} // namespace

TEST_CASE("a task with a 16-byte aligned result keeps its value and its exception", "[spawn]") {
    auto body = [&]() -> corio::task<> {
        auto ok = corio::spawn(wide_after(7, false));
        auto bad = corio::spawn(wide_after(0, true));
        CHECK((co_await ok).value == 7);
        CHECK(ok.result().value == 7);
        CHECK(ok.exception() == nullptr);
        CHECK_THROWS_WITH(co_await bad, "wide failed");
        CHECK(bad.exception() != nullptr);
        const corio::task_handle<> untyped = bad;
        CHECK_THROWS_WITH(untyped.result(), "wide failed");
    };
    corio::run(body());
}

TEST_CASE("querying a pending or empty handle throws invalid_state_error", "[spawn]") {
    auto body = []() -> corio::task<> {
        auto h = corio::spawn(value_after(1, 10ms));
        CHECK_FALSE(h.done());
        CHECK_THROWS_AS(h.result(), corio::invalid_state_error);
        CHECK_THROWS_AS(h.exception(), corio::invalid_state_error);
        corio::task_handle<int> empty;
        CHECK_FALSE(empty);
        CHECK_THROWS_AS(empty.done(), corio::invalid_state_error);
        CHECK_THROWS_AS(co_await empty, corio::invalid_state_error);
        empty = h;
        CHECK(co_await empty == 1);
    };
    corio::run(body());
}

TEST_CASE("tasks are named Task-N unless given a name", "[spawn]") {
    auto body = []() -> corio::task<> {
        auto a = corio::spawn(value_after(1, 0ms));
        auto b = corio::spawn(value_after(1, 0ms), "worker");
        CHECK(a.name().rfind("Task-", 0) == 0);
        CHECK(b.name() == "worker");
        b.set_name("renamed");
        CHECK(b.name() == "renamed");
        co_await a;
        co_await b;
    };
    corio::run(body());
}

TEST_CASE("current_task and all_tasks see the running tasks", "[spawn]") {
    auto body = []() -> corio::task<> {
        corio::task_handle<> self = corio::current_task();
        REQUIRE(self);
        auto child = corio::spawn(forever());
        auto tasks = corio::all_tasks();
        CHECK(tasks.size() == 2);
        CHECK(std::find(tasks.begin(), tasks.end(), self) != tasks.end());
        CHECK(std::find(tasks.begin(), tasks.end(), corio::task_handle<>(child)) != tasks.end());
        child.cancel();
        CHECK_THROWS_AS(co_await child, corio::cancelled_error);
        CHECK(other_live_tasks() == 0);
    };
    corio::run(body());
}

TEST_CASE("a task cannot await itself", "[spawn]") {
    auto body = []() -> corio::task<> {
        CHECK_THROWS_AS(co_await corio::current_task(), corio::invalid_state_error);
    };
    corio::run(body());
}

TEST_CASE("a task cancelled before it starts never runs", "[cancel]") {
    bool ran = false;
    auto child = [&]() -> corio::task<> {
        ran = true;
        co_return;
    };
    auto body = [&]() -> corio::task<> {
        auto h = corio::spawn(child());
        CHECK(h.cancel());
        CHECK_THROWS_AS(co_await h, corio::cancelled_error);
        CHECK(h.cancelled());
        CHECK_THROWS_AS(h.exception(), corio::cancelled_error);
    };
    corio::run(body());
    CHECK_FALSE(ran);
}

TEST_CASE("cancel on a done task returns false", "[cancel]") {
    auto body = []() -> corio::task<> {
        auto h = corio::spawn(value_after(3, 0ms));
        co_await h;
        CHECK_FALSE(h.cancel());
        CHECK_FALSE(h.cancelled());
        CHECK(h.result() == 3);
    };
    corio::run(body());
}

TEST_CASE("a cancel request made while the task runs is delivered at its next suspension",
          "[cancel]") {
    std::string trace;
    auto child = [&]() -> corio::task<> {
        corio::current_task().cancel("self");
        trace += "still running;";
        try {
            co_await corio::sleep(1h);
        } catch (const corio::cancelled_error& e) {
            trace += "cancelled at sleep: " + e.message();
            throw;
        }
    };
    auto body = [&]() -> corio::task<> {
        auto h = corio::spawn(child());
        CHECK_THROWS_AS(co_await h, corio::cancelled_error);
    };
    auto start = corio::clock::now();
    corio::run(body());
    CHECK(seconds_since(start) < 1.0);
    CHECK(trace == "still running;cancelled at sleep: self");
}

TEST_CASE("a task that cancels itself and returns without suspending ends cancelled", "[cancel]") {
    auto child = []() -> corio::task<int> {
        CHECK(corio::current_task().cancel("self"));
        co_return 5; // no suspension after the request: asyncio ends the task cancelled
    };
    auto body = [&]() -> corio::task<> {
        corio::task_handle<int> h = corio::spawn(child());
        try {
            co_await h;
            FAIL("the child must end cancelled");
        } catch (const corio::cancelled_error& e) {
            CHECK(e.message() == "self");
        }
        CHECK(h.cancelled());
        CHECK(h.cancelling() == 1);
        CHECK_THROWS_AS(h.result(), corio::cancelled_error);
    };
    corio::run(body());
}

TEST_CASE("a task cancelled while it runs, by a call it makes, ends cancelled", "[cancel]") {
    corio::task_handle<int> h;
    auto cancel_me = [&] {
        h.cancel();
    };
    auto child = [&]() -> corio::task<int> {
        cancel_me();
        co_return 5;
    };
    auto body = [&]() -> corio::task<> {
        h = corio::spawn(child());
        CHECK(co_await ended_cancelled(h));
        CHECK(h.cancelled());
    };
    corio::run(body());
}

TEST_CASE("a task that uncancels its own request before returning keeps its value", "[cancel]") {
    auto child = []() -> corio::task<int> {
        auto self = corio::current_task();
        self.cancel();
        CHECK(self.uncancel() == 0);
        co_return 5;
    };
    auto body = [&]() -> corio::task<> {
        auto h = corio::spawn(child());
        CHECK(co_await h == 5);
        CHECK_FALSE(h.cancelled());
    };
    corio::run(body());
}

TEST_CASE("two tasks awaiting each other: a cancel ends both, with no endless recursion",
          "[cancel]") {
    corio::task_handle<> a, b;
    auto a_body = [&]() -> corio::task<> {
        co_await corio::sleep(0s);
        co_await b;
    };
    auto b_body = [&]() -> corio::task<> {
        co_await corio::sleep(0s);
        co_await a;
    };
    auto body = [&]() -> corio::task<> {
        a = corio::spawn(a_body);
        b = corio::spawn(b_body);
        co_await settle(); // a deadlock: each waits for the other
        CHECK(a.cancel());
        CHECK(co_await ended_cancelled(a));
        CHECK(co_await ended_cancelled(b));
        CHECK(a.cancelling() == 2); // the request came back through b: counted, not delivered
    };
    corio::run(body());

    // Left deadlocked when main returns: run's shutdown ends them.
    auto leaves_them = [&]() -> corio::task<int> {
        a = corio::spawn(a_body);
        b = corio::spawn(b_body);
        co_await settle();
        co_return 1;
    };
    CHECK(corio::run(leaves_them()) == 1);
    CHECK(a.cancelled());
    CHECK(b.cancelled());
}

TEST_CASE("catch (const std::exception&) does not swallow a cancellation", "[cancel]") {
    bool swallowed = false;
    auto child = [&]() -> corio::task<> {
        try {
            co_await corio::sleep(1h);
        } catch (const std::exception&) {
            swallowed = true;
        }
    };
    auto body = [&]() -> corio::task<> {
        auto h = corio::spawn(child());
        co_await corio::sleep(1ms);
        h.cancel();
        CHECK_THROWS_AS(co_await h, corio::cancelled_error);
    };
    corio::run(body());
    CHECK_FALSE(swallowed);
}

TEST_CASE("a task that catches its cancellation keeps running; uncancel undoes it", "[cancel]") {
    auto child = [&]() -> corio::task<int> {
        try {
            co_await corio::sleep(1h);
        } catch (const corio::cancelled_error&) {
            auto self = corio::current_task();
            CHECK(self.cancelling() == 1);
            CHECK(self.uncancel() == 0);
        }
        co_await corio::sleep(1ms); // not cancelled again
        co_return 9;
    };
    auto body = [&]() -> corio::task<> {
        auto h = corio::spawn(child());
        co_await corio::sleep(1ms);
        CHECK(h.cancel());
        CHECK(co_await h == 9);
        CHECK_FALSE(h.cancelled());
    };
    corio::run(body());
}

TEST_CASE("cancelling a task that awaits a handle cancels that handle too", "[cancel]") {
    corio::task_handle<> inner;
    auto outer = [&]() -> corio::task<> {
        inner = corio::spawn(forever(), "inner");
        co_await inner;
    };
    auto body = [&]() -> corio::task<> {
        auto h = corio::spawn(outer(), "outer");
        co_await corio::sleep(5ms);
        CHECK(h.cancel("stop"));
        try {
            co_await h;
            FAIL("outer must end cancelled");
        } catch (const corio::cancelled_error& e) {
            CHECK(e.message() == "stop");
        }
        CHECK(inner.cancelled());
        CHECK(other_live_tasks() == 0);
    };
    corio::run(body());
}

TEST_CASE("a cancel request for a task whose wait already completed keeps the result", "[cancel]") {
    std::string trace;
    auto child = [&](corio::task_handle<int> source) -> corio::task<> {
        int v = co_await source;
        trace += "got " + std::to_string(v) + ";";
        try {
            co_await corio::sleep(0s);
        } catch (const corio::cancelled_error&) {
            trace += "cancelled at next suspension";
            throw;
        }
    };
    auto body = [&]() -> corio::task<> {
        auto source = corio::spawn(value_after(4, 0ms));
        auto h = corio::spawn(child(source));
        co_await source; // now h's wait is complete and h is queued to resume
        CHECK(h.cancel());
        CHECK_THROWS_AS(co_await h, corio::cancelled_error);
    };
    corio::run(body());
    CHECK(trace == "got 4;cancelled at next suspension");
}

TEST_CASE("a task whose wait completed before a cancel keeps the wait's result, and ends "
          "cancelled if it returns without suspending again",
          "[cancel]") {
    int got = 0;
    auto child = [&](corio::task_handle<int> source) -> corio::task<int> {
        got = co_await source; // completed before the cancel: the value is not dropped
        co_return got;
    };
    auto body = [&]() -> corio::task<> {
        auto source = corio::spawn(value_after(4, 0ms));
        auto h = corio::spawn(child(source));
        co_await source; // h's wait is complete and h is queued to resume
        CHECK(h.cancel());
        CHECK(co_await ended_cancelled(h));
        CHECK(got == 4);
    };
    corio::run(body());
}

TEST_CASE("an awaited task stays alive when its handle is reset meanwhile", "[spawn]") {
    corio::task_handle<int> shared;
    auto value_at = [](int value, corio::clock::time_point at) -> corio::task<int> {
        co_await corio::sleep_until(at);
        co_return value;
    };
    auto waiter = [&]() -> corio::task<int> {
        co_return co_await shared;
    };
    auto resetter = [&](corio::clock::time_point at) -> corio::task<> {
        co_await corio::sleep_until(at);
        shared = {}; // runs after the target finished, before the waiter resumes
    };
    auto body = [&]() -> corio::task<> {
        auto at = corio::clock::now() + 10ms;
        shared = corio::spawn(value_at(7, at));
        auto w = corio::spawn(waiter());
        auto r = corio::spawn(resetter(at));
        CHECK(co_await w == 7);
        co_await r;
        CHECK_FALSE(shared);
    };
    corio::run(body());
}

TEST_CASE("spawning a task that was already awaited throws std::logic_error", "[spawn]") {
    auto body = []() -> corio::task<> {
        corio::task<int> t = value_after(1, 0ms);
        CHECK(co_await t == 1);
        CHECK_THROWS_AS(corio::spawn(std::move(t)), std::logic_error);
        corio::task<int> empty;
        CHECK_THROWS_AS(corio::spawn(std::move(empty)), std::logic_error);
    };
    corio::run(body());
}

TEST_CASE("spawn(callable, args...) keeps the callable and the arguments alive in the task",
          "[spawn]") {
    auto body = []() -> corio::task<std::string> {
        corio::task_handle<std::string> h;
        {
            // Both the capture and the argument die here, before the task first runs.
            std::string prefix = "hello, ";
            h = corio::spawn(
                [prefix](std::string who) -> corio::task<std::string> {
                    co_await corio::sleep(1ms);
                    co_return prefix + who;
                },
                std::string("world"));
        }
        auto void_task = corio::create_task([]() -> corio::task<> { co_return; });
        co_await void_task;
        co_return co_await h;
    };
    CHECK(corio::run(body()) == "hello, world");
}

namespace {

corio::task<std::size_t> length_later(const std::string& text) {
    co_await corio::sleep(1ms);
    co_return text.size();
}

} // namespace

TEST_CASE("spawn(fn, args...) stores an argument as the parameter type it converts to", "[spawn]") {
    // A string literal for a `const std::string&` parameter: the std::string must live in the
    // task's frame, not be a temporary that dies before the task reads it (ASan would see it).
    auto body = []() -> corio::task<std::size_t> {
        auto h = corio::spawn(length_later, "a string long enough to live on the heap, not in SSO");
        co_return co_await h;
    };
    CHECK(corio::run(body()) ==
          std::string("a string long enough to live on the heap, not in SSO").size());
}

TEST_CASE("spawn(fn, args...) moves a move-only argument into a by-value parameter", "[spawn]") {
    auto body = []() -> corio::task<int> {
        auto h = corio::spawn(
            [](std::unique_ptr<int> p) -> corio::task<int> {
                co_await corio::sleep(0s);
                co_return *p;
            },
            std::make_unique<int>(5));
        co_return co_await h;
    };
    CHECK(corio::run(body()) == 5);
}

namespace {

struct shape {
    virtual ~shape() = default;
    [[nodiscard]] virtual std::string kind() const { return "shape"; }
};
struct circle final : shape {
    [[nodiscard]] std::string kind() const override { return "circle"; }
};

corio::task<std::string> kind_later(const shape& s) {
    co_await corio::sleep(0s);
    co_return s.kind();
}

corio::task<std::size_t> view_length_later(std::string_view text) {
    co_await corio::sleep(1ms);
    co_return text.size();
}

corio::task<> bump_later(int& counter) {
    co_await corio::sleep(0s);
    ++counter;
}

} // namespace

TEST_CASE("spawn(fn, args...) stores the arguments themselves, as std::thread does", "[spawn]") {
    int counter = 0;
    auto body = [&]() -> corio::task<> {
        // A derived object stays derived: no slicing into the parameter's type.
        auto kind = corio::spawn(kind_later, circle{});
        CHECK(co_await kind == "circle");
        // A std::string argument for a string_view parameter: the view refers to the string
        // kept in the frame, which lives as long as the task.
        const std::string text(60, 'x');
        auto length = corio::spawn(view_length_later, std::string(text));
        CHECK(co_await length == 60);
        // std::ref passes a reference.
        auto bump = corio::spawn(bump_later, std::ref(counter));
        co_await bump;
    };
    corio::run(body());
    CHECK(counter == 1);
}
