// SPDX-License-Identifier: MIT
// race, wait, as_completed and shield: who finishes first, what is cancelled and what is
// left running, in which order tasks are handed out. Timed tests run on virtual time.
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "corio_test.hpp"

using namespace corio_test;

namespace {

using corio::clock;
using log_t = std::vector<std::string>;

// Time since `start` on the running loop's clock (virtual under run_virtual).
clock::duration since(clock::time_point start) {
    return corio::get_running_loop().time() - start;
}

corio::task<int> fail_after(clock::duration d, const char* what) {
    co_await corio::sleep(d);
    throw std::runtime_error(what);
}

// Sleeps `d` and returns `value`, logging how it ends; when cancelled, it cleans up for
// `cleanup` (a suspension) before ending cancelled.
corio::task<int>
worker(log_t& log, std::string name, int value, clock::duration d, clock::duration cleanup = {}) {
    bool cancelled = false;
    try {
        co_await corio::sleep(d);
    } catch (const corio::cancelled_error&) {
        cancelled = true;
    }
    if (cancelled) {
        log.push_back(name + " cancelled");
        if (cleanup > clock::duration::zero())
            co_await corio::sleep(cleanup);
        log.push_back(name + " cleaned up");
        throw corio::cancelled_error();
    }
    log.push_back(name + " done");
    co_return value;
}

// An awaiter of the program's own, neither a task nor a handle: ready at once.
struct ready_value {
    int value;

    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    int await_resume() const noexcept { return value; }
};

} // namespace

// ---------------------------------------------------------------------------------------
// race

TEST_CASE("race returns the first to finish and waits for the cancelled losers", "[race]") {
    log_t log;
    auto body = [&]() -> corio::task<> {
        const auto start = corio::get_running_loop().time();
        auto result = co_await corio::race(worker(log, "slow", 1, 3h, 10min),
                                           worker(log, "fast", 2, 1h),
                                           worker(log, "slower", 3, 5h, 20min));
        log.push_back("race returned");
        STATIC_REQUIRE(std::is_same_v<decltype(result), std::variant<int, int, int>>);
        CHECK(result.index() == 1);
        CHECK(std::get<1>(result) == 2);
        // The losers' clean-up (20 min for the longer) is awaited before race returns.
        CHECK(since(start) == 1h + 20min);
        CHECK(other_live_tasks() == 0);
    };
    run_virtual(body());
    const log_t expected{"fast done",
                         "slow cancelled",
                         "slower cancelled",
                         "slow cleaned up",
                         "slower cleaned up",
                         "race returned"};
    CHECK(log == expected);
}

TEST_CASE("race gives std::monostate for void children and accepts any awaitable", "[race]") {
    auto body = []() -> corio::task<> {
        const auto start = corio::get_running_loop().time();
        auto first = co_await corio::race(value_after(5, 2h), corio::sleep(1h), nothing_after(3h));
        STATIC_REQUIRE(
            std::is_same_v<decltype(first), std::variant<int, std::monostate, std::monostate>>);
        CHECK(first.index() == 1);
        CHECK(since(start) == 1h);

        auto second = co_await corio::race(corio::sleep(1h), value_after(7, 30min));
        CHECK(second.index() == 1);
        CHECK(std::get<1>(second) == 7);
        CHECK(since(start) == 1h + 30min);

        auto own = co_await corio::race(corio::sleep(1h), ready_value{9});
        CHECK(own.index() == 1);
        CHECK(std::get<1>(own) == 9);
        CHECK(since(start) == 1h + 30min);
        CHECK(other_live_tasks() == 0);
    };
    run_virtual(body());
}

TEST_CASE("race of task handles cancels the losing tasks", "[race]") {
    auto body = []() -> corio::task<> {
        const auto start = corio::get_running_loop().time();
        auto slow = corio::spawn(value_after(1, 2h));
        auto fast = corio::spawn(value_after(2, 1h));
        auto result = co_await corio::race(slow, fast);
        CHECK(result.index() == 1);
        CHECK(std::get<1>(result) == 2);
        CHECK(since(start) == 1h);
        CHECK(fast.done());
        CHECK(fast.result() == 2);
        REQUIRE(slow.done()); // awaited, not just cancelled
        CHECK(slow.cancelled());
        CHECK(other_live_tasks() == 0);
    };
    run_virtual(body());
}

TEST_CASE("race rethrows the winner's exception after cancelling the others", "[race]") {
    log_t log;
    auto body = [&]() -> corio::task<> {
        const auto start = corio::get_running_loop().time();
        CHECK_THROWS_WITH(
            co_await corio::race(worker(log, "slow", 1, 2h, 5min), fail_after(1h, "winner failed")),
            "winner failed");
        CHECK(since(start) == 1h + 5min);
        CHECK(other_live_tasks() == 0);
    };
    run_virtual(body());
    const log_t expected{"slow cancelled", "slow cleaned up"};
    CHECK(log == expected);
}

TEST_CASE("race with a loser that fails during its cancellation still returns the winner",
          "[race]") {
    auto stubborn = []() -> corio::task<int> {
        bool cancelled = false;
        try {
            co_await corio::sleep(2h);
        } catch (const corio::cancelled_error&) {
            cancelled = true;
        }
        if (cancelled)
            throw std::runtime_error("failed while cancelled");
        co_return 0;
    };
    auto body = [&]() -> corio::task<> {
        auto result = co_await corio::race(stubborn(), value_after(4, 1h));
        CHECK(result.index() == 1);
        CHECK(std::get<1>(result) == 4);
        CHECK(other_live_tasks() == 0);
    };
    // The loser's exception counts as retrieved by race: nothing is reported lost.
    run_virtual(body());
}

TEST_CASE("race: a child that finishes at once wins and a loser not started never runs", "[race]") {
    bool loser_ran = false;
    auto loser = [&]() -> corio::task<int> {
        loser_ran = true;
        co_return 2;
    };
    auto body = [&]() -> corio::task<> {
        auto result = co_await corio::race(ready_value{1}, loser());
        CHECK(result.index() == 0);
        CHECK(std::get<0>(result) == 1);
        CHECK_FALSE(loser_ran); // cancelled before its first step, as asyncio does
        CHECK(other_live_tasks() == 0);
    };
    run_virtual(body());
}

TEST_CASE("race over a range returns the winner's index and value", "[race]") {
    auto body = []() -> corio::task<> {
        const auto start = corio::get_running_loop().time();
        std::vector<corio::task<int>> tasks;
        tasks.push_back(value_after(10, 3h));
        tasks.push_back(value_after(20, 2h));
        tasks.push_back(value_after(30, 1h));
        tasks.push_back(value_after(40, 4h));
        auto [index, value] = co_await corio::race(std::move(tasks));
        CHECK(index == 2);
        CHECK(value == 30);
        CHECK(since(start) == 1h);

        std::vector<corio::task_handle<int>> handles;
        handles.push_back(corio::spawn(value_after(1, 2h)));
        handles.push_back(corio::spawn(value_after(2, 1h)));
        auto winner = co_await corio::race(handles); // an lvalue range: copied
        CHECK(winner.first == 1);
        CHECK(winner.second == 2);
        REQUIRE(handles[0]);
        CHECK(handles[0].cancelled());

        std::vector<corio::task<>> voids;
        voids.push_back(nothing_after(2h));
        voids.push_back(nothing_after(1h));
        auto void_winner = co_await corio::race(std::move(voids));
        STATIC_REQUIRE(std::is_same_v<decltype(void_winner.second), std::monostate>);
        CHECK(void_winner.first == 1);
        CHECK(since(start) == 3h);
        CHECK(other_live_tasks() == 0);
    };
    run_virtual(body());
}

TEST_CASE("race names the winner whether it held the task's join slot or not", "[race]") {
    auto body = []() -> corio::task<> {
        auto slow = corio::spawn(value_after(1, 2h));
        auto fast = corio::spawn(value_after(2, 1h));
        auto holder = corio::spawn(corio::gather(fast)); // waits in fast's join slot
        co_await corio::sleep(0s);
        std::vector<corio::task_handle<int>> both{slow, fast};
        auto [index, value] = co_await corio::race(both);
        CHECK(index == 1);
        CHECK(value == 2);
        CHECK(slow.cancelled());
        CHECK(std::get<0>(co_await holder) == 2);

        auto again = corio::spawn(value_after(3, 1h));
        std::vector<corio::task_handle<int>> twice{again, again};
        auto winner = co_await corio::race(twice); // the first holds the slot, the second not
        CHECK(winner.first == 0);
        CHECK(winner.second == 3);
        CHECK(other_live_tasks() == 0);
    };
    run_virtual(body());
}

TEST_CASE("race over a range rethrows the winner's exception", "[race]") {
    auto body = []() -> corio::task<> {
        std::vector<corio::task<int>> tasks;
        tasks.push_back(value_after(1, 2h));
        tasks.push_back(fail_after(1h, "range winner failed"));
        CHECK_THROWS_WITH(co_await corio::race(std::move(tasks)), "range winner failed");
        CHECK(other_live_tasks() == 0);
    };
    run_virtual(body());
}

TEST_CASE("race of an empty range or with an empty handle throws at the call", "[race]") {
    auto body = []() -> corio::task<> {
        std::vector<corio::task<int>> none;
        CHECK_THROWS_AS(corio::race(std::move(none)), std::invalid_argument);
        std::vector<corio::task_handle<int>> no_handles;
        CHECK_THROWS_AS(corio::race(no_handles), std::invalid_argument);
        CHECK_THROWS_AS(corio::race(value_after(1, 1h), corio::task_handle<int>{}),
                        corio::invalid_state_error);
        std::vector<corio::task_handle<int>> with_empty(1);
        CHECK_THROWS_AS(corio::race(with_empty), corio::invalid_state_error);
        CHECK(other_live_tasks() == 0);
        co_return;
    };
    run_virtual(body());
}

TEST_CASE("cancelling the task awaiting race cancels every child and waits for them",
          "[race][cancel]") {
    log_t log;
    auto racing = [&]() -> corio::task<> {
        co_await corio::race(worker(log, "a", 1, 5h, 10min), worker(log, "b", 2, 6h, 20min));
        log.push_back("race returned"); // must not happen
    };
    auto body = [&]() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        auto h = corio::spawn(racing());
        co_await corio::sleep(1h);
        h.cancel("stop");
        bool cancelled = false;
        try {
            co_await h;
        } catch (const corio::cancelled_error& e) {
            cancelled = true;
            CHECK(e.message() == "stop");
        }
        CHECK(cancelled);
        CHECK(since(start) == 1h + 20min); // after both clean-ups
        CHECK(other_live_tasks() == 0);
    };
    run_virtual(body());
    const log_t expected{"a cancelled", "b cancelled", "a cleaned up", "b cleaned up"};
    CHECK(log == expected);
}

TEST_CASE("cancelling the task awaiting race while the losers clean up does not cut them short",
          "[race][cancel]") {
    log_t log;
    auto racing = [&]() -> corio::task<> {
        co_await corio::race(worker(log, "fast", 1, 1h), worker(log, "slow", 2, 5h, 20min));
        log.push_back("race returned"); // must not happen: cancelled before the losers are done
    };
    auto body = [&]() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        auto h = corio::spawn(racing());
        co_await corio::sleep(1h + 10min); // "fast" won; "slow" is in its clean-up
        h.cancel();
        bool cancelled = false;
        try {
            co_await h;
        } catch (const corio::cancelled_error&) {
            cancelled = true;
        }
        CHECK(cancelled);
        CHECK(since(start) == 1h + 20min);
        CHECK(other_live_tasks() == 0);
    };
    run_virtual(body());
    const log_t expected{"fast done", "slow cancelled", "slow cleaned up"};
    CHECK(log == expected);
}

// ---------------------------------------------------------------------------------------
// wait

TEST_CASE("wait(all_completed) waits for every task and keeps the input order", "[wait]") {
    auto body = []() -> corio::task<> {
        const auto start = corio::get_running_loop().time();
        std::vector<corio::task_handle<int>> handles;
        handles.push_back(corio::spawn(value_after(1, 3h)));
        handles.push_back(corio::spawn(fail_after(1h, "second failed")));
        handles.push_back(corio::spawn(value_after(3, 2h)));
        auto result = co_await corio::wait(handles);
        CHECK(since(start) == 3h);
        CHECK(result.pending.empty());
        REQUIRE(result.done.size() == 3);
        CHECK(result.done[0] == handles[0]);
        CHECK(result.done[1] == handles[1]);
        CHECK(result.done[2] == handles[2]);
        CHECK(result.done[0].result() == 1);
        CHECK_THROWS_WITH(result.done[1].result(), "second failed"); // not thrown by wait
        CHECK(result.done[2].result() == 3);
    };
    run_virtual(body());
}

TEST_CASE("wait(first_completed) returns at the first finish and cancels nothing", "[wait]") {
    auto body = []() -> corio::task<> {
        const auto start = corio::get_running_loop().time();
        std::vector<corio::task_handle<int>> handles;
        handles.push_back(corio::spawn(value_after(1, 3h)));
        handles.push_back(corio::spawn(value_after(2, 1h)));
        handles.push_back(corio::spawn(value_after(3, 2h)));
        auto result = co_await corio::wait(handles, corio::return_when::first_completed);
        CHECK(since(start) == 1h);
        REQUIRE(result.done.size() == 1);
        CHECK(result.done[0] == handles[1]);
        CHECK(result.done[0].result() == 2);
        REQUIRE(result.pending.size() == 2);
        CHECK(result.pending[0] == handles[0]); // input order, not completion order
        CHECK(result.pending[1] == handles[2]);
        CHECK_FALSE(handles[0].done());
        CHECK_FALSE(handles[2].done());
        CHECK(co_await handles[0] == 1); // still running: they finish normally
        CHECK(co_await handles[2] == 3);
        CHECK(since(start) == 3h);
    };
    run_virtual(body());
}

TEST_CASE("wait(first_exception) returns at the first failure, ignoring cancellations", "[wait]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        std::vector<corio::task_handle<int>> handles;
        handles.push_back(corio::spawn(value_after(1, 5h)));
        handles.push_back(corio::spawn(value_after(2, 4h)));    // cancelled at 1h
        handles.push_back(corio::spawn(fail_after(2h, "bad"))); // the first failure
        handles.push_back(corio::spawn(value_after(4, 30min))); // done, not a failure
        loop.call_later(1h, [&] { handles[1].cancel(); });
        auto result = co_await corio::wait(handles, corio::return_when::first_exception);
        CHECK(since(start) == 2h);
        REQUIRE(result.done.size() == 3);
        CHECK(result.done[0] == handles[1]);
        CHECK(result.done[1] == handles[2]);
        CHECK(result.done[2] == handles[3]);
        CHECK(result.done[0].cancelled());
        CHECK_THROWS_WITH(result.done[1].result(), "bad");
        REQUIRE(result.pending.size() == 1);
        CHECK(result.pending[0] == handles[0]);
        CHECK(co_await handles[0] == 1);
    };
    run_virtual(body());
}

TEST_CASE("wait(first_exception) without a failure waits for every task", "[wait]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        std::vector<corio::task_handle<int>> handles;
        handles.push_back(corio::spawn(value_after(1, 1h)));
        handles.push_back(corio::spawn(value_after(2, 3h)));
        handles.push_back(corio::spawn(value_after(3, 2h)));
        loop.call_later(30min, [&] { handles[2].cancel(); }); // a cancellation is no failure
        auto result = co_await corio::wait(handles, corio::return_when::first_exception);
        CHECK(since(start) == 3h);
        CHECK(result.done.size() == 3);
        CHECK(result.pending.empty());
        CHECK(handles[2].cancelled());
    };
    run_virtual(body());
}

TEST_CASE("wait with a timeout returns the pending tasks still running", "[wait]") {
    auto body = []() -> corio::task<> {
        const auto start = corio::get_running_loop().time();
        std::vector<corio::task_handle<int>> handles;
        handles.push_back(corio::spawn(value_after(1, 3h)));
        handles.push_back(corio::spawn(value_after(2, 1h)));
        handles.push_back(corio::spawn(value_after(3, 2h)));
        auto result = co_await corio::wait(handles, corio::return_when::all_completed, 90min);
        CHECK(since(start) == 90min);
        REQUIRE(result.done.size() == 1);
        CHECK(result.done[0] == handles[1]);
        REQUIRE(result.pending.size() == 2);
        CHECK(result.pending[0] == handles[0]);
        CHECK(result.pending[1] == handles[2]);
        CHECK_FALSE(handles[0].cancelled());
        CHECK_FALSE(handles[0].done());

        // A timeout with nothing done: every task pending, none cancelled.
        auto none = co_await corio::wait(result.pending, corio::return_when::first_completed, 1min);
        CHECK(since(start) == 91min);
        CHECK(none.done.empty());
        CHECK(none.pending.size() == 2);

        // A timeout longer than needed does not make wait last longer.
        auto rest = co_await corio::wait(result.pending, corio::return_when::all_completed, 10h);
        CHECK(since(start) == 3h);
        CHECK(rest.done.size() == 2);
        CHECK(rest.pending.empty());
        CHECK(handles[0].result() == 1);
        CHECK(handles[2].result() == 3);
    };
    run_virtual(body());
}

TEST_CASE("cancelling the task awaiting wait leaves the tasks running", "[wait][cancel]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        std::vector<corio::task_handle<int>> handles;
        handles.push_back(corio::spawn(value_after(1, 2h)));
        handles.push_back(corio::spawn(value_after(2, 3h)));
        clock::duration cancelled_at{};
        auto waiter = corio::spawn([&]() -> corio::task<> {
            try {
                co_await corio::wait(handles);
            } catch (const corio::cancelled_error&) {
                cancelled_at = since(start);
                throw;
            }
        });
        loop.call_later(1h, [&] { waiter.cancel(); });
        CHECK_THROWS_AS(co_await waiter, corio::cancelled_error);
        CHECK(cancelled_at == 1h);
        CHECK_FALSE(handles[0].done());
        CHECK_FALSE(handles[1].done());
        CHECK(co_await handles[0] == 1);
        CHECK(co_await handles[1] == 2);
        CHECK(since(start) == 3h);
    };
    run_virtual(body());
}

TEST_CASE("cancelling a wait with a timeout removes its timer", "[wait][cancel]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        std::vector<corio::task_handle<>> handles;
        handles.push_back(corio::spawn(nothing_after(10h)));
        auto waiter = corio::spawn([&]() -> corio::task<> {
            co_await corio::wait(handles, corio::return_when::all_completed, 5h);
        });
        loop.call_later(1h, [&] { waiter.cancel(); });
        CHECK_THROWS_AS(co_await waiter, corio::cancelled_error);
        CHECK(since(start) == 1h);
        // Nothing wakes at 5h: the next thing to happen is the task's end at 10h.
        co_await handles[0];
        CHECK(since(start) == 10h);
    };
    run_virtual(body());
}

TEST_CASE("wait returns at once, without suspending, when already satisfied", "[wait]") {
    auto body = []() -> corio::task<> {
        const auto start = corio::get_running_loop().time();
        log_t log;
        std::vector<corio::task_handle<int>> handles;
        handles.push_back(corio::spawn(value_after(1, 0s)));
        handles.push_back(corio::spawn(value_after(2, 1h)));
        co_await handles[0];
        auto other = corio::spawn([&]() -> corio::task<> {
            log.push_back("other ran");
            co_return;
        });
        auto first = co_await corio::wait(handles, corio::return_when::first_completed);
        log.push_back("wait returned");
        REQUIRE(first.done.size() == 1);
        CHECK(first.done[0] == handles[0]);
        CHECK(first.pending.size() == 1);

        auto done_only = co_await corio::wait(first.done, corio::return_when::all_completed, 1h);
        log.push_back("second wait returned");
        CHECK(done_only.done.size() == 1);
        CHECK(done_only.pending.empty());
        CHECK(since(start) == 0s);
        const log_t expected{"wait returned", "second wait returned"};
        CHECK(log == expected); // `other` never got to run: wait did not suspend
        co_await other;
        handles[1].cancel();
        CHECK_THROWS_AS(co_await handles[1], corio::cancelled_error);
    };
    run_virtual(body());
}

TEST_CASE("wait of no task or of an empty handle throws at the call", "[wait]") {
    auto body = []() -> corio::task<> {
        std::vector<corio::task_handle<int>> none;
        CHECK_THROWS_AS(corio::wait(none), std::invalid_argument);
        std::vector<corio::task_handle<int>> with_empty(1);
        CHECK_THROWS_AS(corio::wait(with_empty), corio::invalid_state_error);
        std::vector<corio::task_handle<int>> mixed;
        mixed.push_back(corio::spawn(value_after(1, 1h)));
        mixed.emplace_back();
        CHECK_THROWS_AS(corio::wait(mixed, corio::return_when::first_completed),
                        corio::invalid_state_error);
        CHECK(co_await mixed[0] == 1);
    };
    run_virtual(body());
}

TEST_CASE("wait accepts a span of void handles", "[wait]") {
    auto body = []() -> corio::task<> {
        const auto start = corio::get_running_loop().time();
        std::vector<corio::task_handle<>> handles;
        handles.push_back(corio::spawn(nothing_after(2h)));
        handles.push_back(corio::spawn(nothing_after(1h)));
        handles.push_back(corio::spawn(nothing_after(3h)));
        auto result =
            co_await corio::wait(std::span(handles).first(2), corio::return_when::first_completed);
        STATIC_REQUIRE(std::is_same_v<decltype(result), corio::wait_result<>>);
        CHECK(since(start) == 1h);
        REQUIRE(result.done.size() == 1);
        CHECK(result.done[0] == handles[1]);
        REQUIRE(result.pending.size() == 1);
        CHECK(result.pending[0] == handles[0]);
        co_await corio::wait(handles);
        CHECK(since(start) == 3h);
    };
    run_virtual(body());
}

// ---------------------------------------------------------------------------------------
// as_completed

TEST_CASE("as_completed hands out tasks in completion order, then nullopt", "[as_completed]") {
    auto body = []() -> corio::task<> {
        const auto start = corio::get_running_loop().time();
        std::vector<corio::task_handle<int>> handles;
        handles.push_back(corio::spawn(value_after(1, 3h)));
        handles.push_back(corio::spawn(fail_after(1h, "middle")));
        handles.push_back(corio::spawn(value_after(3, 2h)));
        auto queue = corio::as_completed(handles);
        std::vector<clock::duration> times;
        std::vector<corio::task_handle<int>> order;
        while (auto h = co_await queue.next()) {
            times.push_back(since(start));
            REQUIRE(h->done());
            order.push_back(*h);
        }
        REQUIRE(order.size() == 3);
        CHECK(order[0] == handles[1]);
        CHECK(order[1] == handles[2]);
        CHECK(order[2] == handles[0]);
        const std::vector<clock::duration> expected_times{1h, 2h, 3h};
        CHECK(times == expected_times);
        CHECK_THROWS_WITH(order[0].result(), "middle");
        CHECK(order[1].result() == 3);
        CHECK(order[2].result() == 1);
        CHECK_FALSE(co_await queue.next()); // stays at the end
        CHECK(since(start) == 3h);
    };
    run_virtual(body());
}

TEST_CASE("as_completed hands out tasks done before it was made first, in the given order",
          "[as_completed]") {
    auto body = []() -> corio::task<> {
        const auto start = corio::get_running_loop().time();
        std::vector<corio::task_handle<int>> handles;
        handles.push_back(corio::spawn(value_after(1, 2h)));
        handles.push_back(corio::spawn(value_after(2, 30min))); // done second
        handles.push_back(corio::spawn(value_after(3, 1h)));
        handles.push_back(corio::spawn(value_after(4, 10min))); // done first
        co_await corio::sleep(90min);
        auto queue = corio::as_completed(handles);
        std::vector<int> values;
        while (auto h = co_await queue.next())
            values.push_back(h->result());
        // 2, 3 and 4 were done (finished 4, 2, 3): handed out in the given order first.
        const std::vector<int> expected{2, 3, 4, 1};
        CHECK(values == expected);
        CHECK(since(start) == 2h);
    };
    run_virtual(body());
}

TEST_CASE("as_completed given the same handle twice hands it out twice", "[as_completed]") {
    auto body = []() -> corio::task<> {
        auto h = corio::spawn(value_after(1, 1h));
        std::vector<corio::task_handle<int>> handles{h, h}; // asyncio would make it a set
        auto queue = corio::as_completed(handles);
        int handed_out = 0;
        while (auto done = co_await queue.next()) {
            CHECK(*done == h);
            ++handed_out;
        }
        CHECK(handed_out == 2);
    };
    run_virtual(body());
}

TEST_CASE("as_completed of no task is at its end at once", "[as_completed]") {
    auto body = []() -> corio::task<> {
        std::vector<corio::task_handle<>> none;
        auto queue = corio::as_completed(none);
        CHECK_FALSE(co_await queue.next());
        std::vector<corio::task_handle<>> with_empty(1);
        CHECK_THROWS_AS(corio::as_completed(with_empty), corio::invalid_state_error);
    };
    run_virtual(body());
}

TEST_CASE("a cancelled next() loses no task: the next call hands it out",
          "[as_completed][cancel]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        std::vector<corio::task_handle<int>> handles;
        handles.push_back(corio::spawn(value_after(1, 2h)));
        handles.push_back(corio::spawn(value_after(2, 3h)));
        auto queue = corio::as_completed(handles);
        auto consumer = corio::spawn([&]() -> corio::task<> { (void)co_await queue.next(); });
        loop.call_later(1h, [&] { consumer.cancel(); });
        CHECK_THROWS_AS(co_await consumer, corio::cancelled_error);
        CHECK(since(start) == 1h);
        auto first = co_await queue.next();
        REQUIRE(first);
        CHECK(*first == handles[0]);
        CHECK(since(start) == 2h);
        auto second = co_await queue.next();
        REQUIRE(second);
        CHECK(second->result() == 2);
        CHECK_FALSE(co_await queue.next());
    };
    run_virtual(body());
}

TEST_CASE("a next() cancelled after its task finished still hands that task out",
          "[as_completed][cancel]") {
    auto body = []() -> corio::task<> {
        log_t log;
        std::vector<corio::task_handle<int>> handles;
        handles.push_back(corio::spawn(value_after(1, 1h)));
        handles.push_back(corio::spawn(value_after(2, 2h)));
        auto queue = corio::as_completed(handles);
        auto consumer = corio::spawn([&]() -> corio::task<> {
            auto h = co_await queue.next();
            log.push_back(h ? "got " + std::to_string(h->result()) : "got nothing");
            co_await corio::sleep(10h); // the cancellation lands here
            log.push_back("slept");
        });
        // Same deadline as handles[0], set later: runs after that task finished and woke the
        // consumer, before the consumer resumed.
        auto canceller = corio::spawn([&]() -> corio::task<> {
            co_await corio::sleep(1h);
            consumer.cancel();
        });
        CHECK_THROWS_AS(co_await consumer, corio::cancelled_error);
        co_await canceller;
        const log_t expected{"got 1"};
        CHECK(log == expected);
        auto rest = co_await queue.next();
        REQUIRE(rest);
        CHECK(*rest == handles[1]);
        CHECK_FALSE(co_await queue.next());
        co_await handles[1];
    };
    run_virtual(body());
}

TEST_CASE("wait_for(next()) times out without losing the task it waited for",
          "[as_completed][wait_for]") {
    auto body = []() -> corio::task<> {
        std::vector<corio::task_handle<int>> handles{corio::spawn(value_after(1, 2h)),
                                                     corio::spawn(value_after(2, 3h))};
        auto queue = corio::as_completed(handles);
        bool timed_out = false;
        try {
            (void)co_await corio::wait_for(queue.next(), 1h);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        auto first = co_await queue.next();
        REQUIRE(first);
        CHECK(first->result() == 1);
        auto second = co_await queue.next();
        REQUIRE(second);
        CHECK(second->result() == 2);
        auto end = co_await queue.next();
        CHECK_FALSE(end);
    };
    run_virtual(body());
}

TEST_CASE("two tasks awaiting next() at once is an invalid_state_error", "[as_completed]") {
    auto body = []() -> corio::task<> {
        std::vector<corio::task_handle<int>> handles;
        handles.push_back(corio::spawn(value_after(1, 1h)));
        auto queue = corio::as_completed(handles);
        auto first = corio::spawn([&]() -> corio::task<int> {
            auto h = co_await queue.next();
            co_return h ? h->result() : -1;
        });
        co_await corio::sleep(1min); // `first` is now waiting
        CHECK_THROWS_AS(co_await queue.next(), corio::invalid_state_error);
        CHECK(co_await first == 1); // the failed call did not disturb the waiting one
    };
    run_virtual(body());
}

TEST_CASE("a second next() while the first waiter is woken but not yet resumed fails",
          "[as_completed]") {
    auto body = []() -> corio::task<> {
        std::vector<corio::task_handle<int>> handles;
        handles.push_back(corio::spawn(value_after(1, 1h)));
        handles.push_back(corio::spawn(value_after(2, 2h)));
        auto queue = corio::as_completed(handles);
        auto first = corio::spawn([&]() -> corio::task<int> {
            auto h = co_await queue.next();
            co_return h ? h->result() : -1;
        });
        // Wakes at 1h just after handles[0] finished and woke `first`, before `first` runs.
        auto second = corio::spawn([&]() -> corio::task<bool> {
            co_await corio::sleep(1h);
            bool refused = false;
            try {
                (void)co_await queue.next();
            } catch (const corio::invalid_state_error&) {
                refused = true;
            }
            co_return refused;
        });
        CHECK(co_await second);
        CHECK(co_await first == 1); // the woken waiter gets its task, not a premature end
        auto rest = co_await queue.next();
        REQUIRE(rest);
        CHECK(rest->result() == 2);
        CHECK_FALSE(co_await queue.next());
    };
    run_virtual(body());
}

// ---------------------------------------------------------------------------------------
// shield

TEST_CASE("shield: a cancelled awaiter stops at once and the task keeps running",
          "[shield][cancel]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        log_t log;
        auto inner = corio::spawn(worker(log, "inner", 42, 3h));
        clock::duration cancelled_at{};
        auto outer = corio::spawn([&]() -> corio::task<int> {
            try {
                co_return co_await corio::shield(inner);
            } catch (const corio::cancelled_error&) {
                cancelled_at = since(start);
                throw;
            }
        });
        loop.call_later(1h, [&] { outer.cancel(); });
        CHECK_THROWS_AS(co_await outer, corio::cancelled_error);
        CHECK(cancelled_at == 1h);
        CHECK(since(start) == 1h);
        CHECK_FALSE(inner.done());
        CHECK(inner.cancelling() == 0);
        CHECK(co_await inner == 42);
        CHECK(since(start) == 3h);
        const log_t expected{"inner done"};
        CHECK(log == expected);
    };
    run_virtual(body());
}

TEST_CASE("without shield, a cancelled awaiter cancels the awaited task", "[shield][cancel]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        log_t log;
        auto inner = corio::spawn(worker(log, "inner", 42, 3h));
        auto outer = corio::spawn([&]() -> corio::task<int> { co_return co_await inner; });
        loop.call_later(1h, [&] { outer.cancel(); });
        CHECK_THROWS_AS(co_await outer, corio::cancelled_error);
        CHECK(since(start) == 1h);
        REQUIRE(inner.done());
        CHECK(inner.cancelled());
        const log_t expected{"inner cancelled", "inner cleaned up"};
        CHECK(log == expected);
    };
    run_virtual(body());
}

TEST_CASE("shield yields the task's value or exception when not cancelled", "[shield]") {
    auto body = []() -> corio::task<> {
        const auto start = corio::get_running_loop().time();
        auto ok = corio::spawn(value_after(5, 1h));
        // Bound first: g++ evaluates a co_await inside a Catch2 macro twice.
        const int first = co_await corio::shield(ok);
        CHECK(first == 5);
        CHECK(since(start) == 1h);
        const int again = co_await corio::shield(ok); // already done: at once
        CHECK(again == 5);
        CHECK(since(start) == 1h);

        auto bad = corio::spawn(fail_after(1h, "shielded failure"));
        std::string failure;
        try {
            (void)co_await corio::shield(bad);
        } catch (const std::runtime_error& e) {
            failure = e.what();
        }
        CHECK(failure == "shielded failure");
        CHECK(since(start) == 2h);

        auto nothing = corio::spawn(nothing_after(1h));
        co_await corio::shield(nothing);
        CHECK(nothing.done());

        CHECK_THROWS_AS(corio::shield(corio::task_handle<int>{}), corio::invalid_state_error);
    };
    run_virtual(body());
}

TEST_CASE("wait_for(shield(h)) times out and leaves the task running; gather takes a shield",
          "[shield][wait_for]") {
    auto body = []() -> corio::task<> {
        const auto start = corio::get_running_loop().time();
        auto h = corio::spawn(value_after(7, 2h));
        bool timed_out = false;
        try {
            (void)co_await corio::wait_for(corio::shield(h), 1h); // asyncio's idiom
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(since(start) == 1h);
        CHECK_FALSE(h.done());
        auto [value] = co_await corio::gather(corio::shield(h));
        CHECK(value == 7);
        CHECK(since(start) == 2h);
    };
    run_virtual(body());
}

TEST_CASE("shield: cancelling the shielded task itself reaches the awaiter", "[shield][cancel]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        auto inner = corio::spawn(value_after(1, 3h));
        auto outer =
            corio::spawn([&]() -> corio::task<int> { co_return co_await corio::shield(inner); });
        loop.call_later(1h, [&] { inner.cancel(); });
        CHECK_THROWS_AS(co_await outer, corio::cancelled_error);
        CHECK(since(start) == 1h);
        CHECK(inner.cancelled());
    };
    run_virtual(body());
}

TEST_CASE("shield: an awaiter cancelled twice in one iteration resumes once", "[shield][cancel]") {
    auto body = []() -> corio::task<> {
        auto inner = corio::spawn(value_after(1, 1h));
        auto outer =
            corio::spawn([&]() -> corio::task<int> { co_return co_await corio::shield(inner); });
        co_await settle();
        outer.cancel();
        outer.cancel(); // a second resume of outer's frame would run a finished coroutine
        CHECK(co_await ended_cancelled(outer));
        CHECK(outer.cancelling() == 2);
        CHECK_FALSE(inner.done());
        inner.cancel();
        CHECK(co_await ended_cancelled(inner));
    };
    run_virtual(body());
}
