// SPDX-License-Identifier: MIT
// timeout, timeout_at and wait_for: expiry, nesting, rescheduling, outside cancellation and
// the uncancel bookkeeping that leaves the task clean.
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "corio_test.hpp"

using namespace corio_test;

TEST_CASE("a timeout cancels the body at its deadline and throws timeout_error", "[timeout]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        std::vector<std::string> log;
        auto scope = corio::timeout(100ms);
        CHECK(scope.when() == start + 100ms);
        auto slow = [&log](corio::timeout_scope&) -> corio::task<> {
            co_await sleeper(1h, log, "body");
        };
        bool timed_out = false;
        try {
            co_await corio::with(scope, slow);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(scope.expired());
        CHECK(loop.time() - start == 100ms);
        CHECK(log == std::vector<std::string>{"body cancelled"});
        CHECK(corio::current_task().cancelling() == 0);
        co_await corio::sleep(1ms); // no stray cancellation
    };
    run_virtual(body());
}

TEST_CASE("a body that finishes in time returns its value and the scope never expires",
          "[timeout]") {
    auto body = []() -> corio::task<> {
        auto scope = corio::timeout(100ms);
        auto fast = [](corio::timeout_scope& t) -> corio::task<int> {
            CHECK_FALSE(t.expired());
            co_return co_await value_after(7, 99ms);
        };
        const auto got1 = co_await corio::with(scope, fast);
        CHECK(got1 == 7);
        CHECK_FALSE(scope.expired());
        co_await corio::sleep(1s); // the timer is gone: nothing cancels this
    };
    run_virtual(body());
}

TEST_CASE("nested timeouts: only the one that expired converts", "[timeout]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        // The inner one expires first: the outer body goes on and finishes in time.
        auto inner_first = [&](corio::timeout_scope& outer) -> corio::task<> {
            auto inner_scope = corio::timeout(10ms);
            bool inner_timed_out = false;
            auto forever = [](corio::timeout_scope&) -> corio::task<> {
                co_await corio::sleep(1h);
            };
            try {
                co_await corio::with(inner_scope, forever);
            } catch (const corio::timeout_error&) {
                inner_timed_out = true;
            }
            CHECK(inner_timed_out);
            CHECK(inner_scope.expired());
            CHECK_FALSE(outer.expired());
            co_await corio::sleep(20ms);
        };
        co_await corio::with(corio::timeout(1s), inner_first);
        CHECK(loop.time() - start == 30ms);

        // The outer one expires first: the inner scope lets the cancellation through.
        bool inner_saw_timeout = false;
        std::optional<bool> inner_expired;
        auto outer_first = [&](corio::timeout_scope&) -> corio::task<> {
            auto inner_scope = corio::timeout(1h);
            auto forever = [](corio::timeout_scope&) -> corio::task<> {
                co_await corio::sleep(1h);
            };
            try {
                co_await corio::with(inner_scope, forever);
            } catch (const corio::timeout_error&) {
                inner_saw_timeout = true;
            }
            inner_expired = inner_scope.expired();
        };
        auto outer_scope = corio::timeout(50ms);
        bool outer_timed_out = false;
        try {
            co_await corio::with(outer_scope, outer_first);
        } catch (const corio::timeout_error&) {
            outer_timed_out = true;
        }
        CHECK(outer_timed_out);
        CHECK_FALSE(inner_saw_timeout);
        CHECK_FALSE(inner_expired.has_value()); // the cancellation went past the inner code
        CHECK(corio::current_task().cancelling() == 0);
    };
    run_virtual(body());
}

TEST_CASE("reschedule moves the deadline, and refuses outside the scope", "[timeout]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        auto scope = corio::timeout(10ms);
        CHECK_THROWS_AS(scope.reschedule(start + 1s), corio::invalid_state_error);
        auto extend = [&](corio::timeout_scope& t) -> corio::task<int> {
            t.reschedule(loop.time() + 100ms);
            CHECK(t.when() == start + 100ms);
            co_await corio::sleep(50ms); // past the first deadline
            t.reschedule(std::nullopt);
            CHECK_FALSE(t.when().has_value());
            co_await corio::sleep(1h);
            co_return 1;
        };
        const auto got2 = co_await corio::with(scope, extend);
        CHECK(got2 == 1);
        CHECK(loop.time() - start == 1h + 50ms);
        CHECK_THROWS_AS(scope.reschedule(start), corio::invalid_state_error);
    };
    run_virtual(body());
}

TEST_CASE("a deadline already past expires at the next suspension", "[timeout]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        auto no_suspension = [](corio::timeout_scope&) -> corio::task<int> {
            co_return 5;
        };
        const auto got3 = co_await corio::with(corio::timeout_at(loop.time() - 1s), no_suspension);
        CHECK(got3 == 5);
        CHECK(corio::current_task().cancelling() == 0);

        auto suspends = [](corio::timeout_scope&) -> corio::task<> {
            co_await corio::sleep(1s);
        };
        const auto start = loop.time();
        bool timed_out = false;
        try {
            co_await corio::with(corio::timeout(0s), suspends);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(loop.time() == start);
    };
    run_virtual(body());
}

TEST_CASE("timeout_at(nullopt) never expires", "[timeout]") {
    auto body = []() -> corio::task<> {
        auto wait = [](corio::timeout_scope& t) -> corio::task<int> {
            CHECK_FALSE(t.when().has_value());
            co_return co_await value_after(3, 1h);
        };
        const auto got4 = co_await corio::with(corio::timeout_at(std::nullopt), wait);
        CHECK(got4 == 3);
    };
    run_virtual(body());
}

TEST_CASE("a cancellation from outside passes through a timeout scope unchanged",
          "[timeout][cancel]") {
    auto body = []() -> corio::task<> {
        auto scoped = []() -> corio::task<> {
            auto forever = [](corio::timeout_scope&) -> corio::task<> {
                co_await corio::sleep(1h);
            };
            co_await corio::with(corio::timeout(1s), forever);
        };
        auto h = corio::spawn(scoped());
        co_await corio::sleep(10ms);
        h.cancel("outside");
        bool cancelled = false;
        try {
            co_await h;
        } catch (const corio::cancelled_error& e) {
            cancelled = e.message() == "outside";
        }
        CHECK(cancelled);
    };
    run_virtual(body());
}

TEST_CASE("a body that swallows the timeout's cancellation ends normally and clean",
          "[timeout][cancel]") {
    auto body = []() -> corio::task<> {
        auto stubborn = [](corio::timeout_scope&) -> corio::task<std::string> {
            try {
                co_await corio::sleep(1h);
            } catch (const corio::cancelled_error&) {
            }
            co_return "kept going";
        };
        auto scope = corio::timeout(10ms);
        const auto got5 = co_await corio::with(scope, stubborn);
        CHECK(got5 == "kept going");
        CHECK(scope.expired());
        CHECK(corio::current_task().cancelling() == 0);
        co_await corio::sleep(1ms);
    };
    run_virtual(body());
}

TEST_CASE("wait_for returns the value in time, or cancels, awaits and throws timeout_error",
          "[timeout][wait_for]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto got6 = co_await corio::wait_for(value_after(4, 10ms), 20ms);
        CHECK(got6 == 4);

        std::vector<std::string> log;
        auto cleanup = [&log]() -> corio::task<> {
            try {
                co_await corio::sleep(1h);
            } catch (const corio::cancelled_error&) {
                log.push_back("cancelled");
            }
            co_await corio::sleep(30ms);
            log.push_back("cleaned up");
            throw corio::cancelled_error();
        };
        const auto start = loop.time();
        bool timed_out = false;
        try {
            co_await corio::wait_for(cleanup(), 20ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(loop.time() - start == 50ms); // it waited for the cleanup
        CHECK(log == std::vector<std::string>{"cancelled", "cleaned up"});
        CHECK(corio::current_task().cancelling() == 0);
    };
    run_virtual(body());
}

TEST_CASE("wait_for on a task handle cancels the task on expiry", "[timeout][wait_for]") {
    auto body = []() -> corio::task<> {
        std::vector<std::string> log;
        auto h = corio::spawn(sleeper(1h, log, "task"));
        bool timed_out = false;
        try {
            co_await corio::wait_for(h, 10ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(h.cancelled());
        CHECK(log == std::vector<std::string>{"task cancelled"});
    };
    run_virtual(body());
}

TEST_CASE("wait_for of any awaitable, and of void", "[timeout][wait_for]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        co_await corio::wait_for(corio::sleep(5ms), 10ms);
        CHECK(loop.time() - start == 5ms);
        bool timed_out = false;
        try {
            co_await corio::wait_for(corio::sleep(1h), 10ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(loop.time() - start == 15ms);
    };
    run_virtual(body());
}

TEST_CASE("a failure inside wait_for propagates as it is", "[timeout][wait_for]") {
    auto body = []() -> corio::task<> {
        auto failing = []() -> corio::task<int> {
            co_await corio::sleep(1ms);
            throw std::runtime_error("inner");
        };
        bool caught = false;
        try {
            co_await corio::wait_for(failing(), 1s);
        } catch (const std::runtime_error& e) {
            caught = std::string(e.what()) == "inner";
        }
        CHECK(caught);
    };
    run_virtual(body());
}

TEST_CASE("wait_for with a duration <= 0 never starts a coroutine", "[timeout][wait_for]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        bool started = false;
        auto work = [&]() -> corio::task<int> {
            started = true;
            co_return 1; // would complete at once, if it ran
        };
        CHECK_THROWS_AS(co_await corio::wait_for(work(), 0s), corio::timeout_error);
        CHECK_THROWS_AS(co_await corio::wait_for(work(), -5s), corio::timeout_error);
        CHECK_THROWS_AS(co_await corio::wait_for(corio::sleep(0s), 0s), corio::timeout_error);
        CHECK_FALSE(started);
        CHECK(loop.time() == start);
        CHECK(corio::current_task().cancelling() == 0);
        co_await corio::sleep(1ms); // no cancellation left behind
    };
    run_virtual(body());
}

TEST_CASE("wait_for with a duration <= 0 gives a done handle's result and cancels a pending one",
          "[timeout][wait_for]") {
    auto body = []() -> corio::task<> {
        auto done = corio::spawn(value_after(7, 0ms));
        co_await done;
        const auto got = co_await corio::wait_for(done, 0s);
        CHECK(got == 7);

        auto failed = corio::spawn([]() -> corio::task<int> { throw std::runtime_error("no"); });
        co_await settle();
        CHECK_THROWS_AS(co_await corio::wait_for(failed, -1s), std::runtime_error);

        std::vector<std::string> log;
        auto pending = corio::spawn(sleeper(1h, log, "pending"));
        co_await settle(); // started, so that it can say it was cancelled
        CHECK_THROWS_AS(co_await corio::wait_for(pending, 0s), corio::timeout_error);
        CHECK(pending.cancelled());
        CHECK(log == std::vector<std::string>{"pending cancelled"});

        // A value that wins the race against the cancel is returned, as asyncio does.
        auto stubborn = corio::spawn([]() -> corio::task<int> {
            try {
                co_await corio::sleep(1h);
            } catch (const corio::cancelled_error&) {
                corio::current_task().uncancel();
            }
            co_return 3;
        });
        co_await settle();
        const auto won = co_await corio::wait_for(stubborn, 0s);
        CHECK(won == 3);
        CHECK(corio::current_task().cancelling() == 0);
    };
    run_virtual(body());
}

TEST_CASE("a timeout with a negative delay has its deadline in the past", "[timeout]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto now = loop.time();
        auto scope = corio::timeout(-11s);
        CHECK(scope.when() == now - 11s);
        bool timed_out = false;
        try {
            co_await corio::with(
                scope, [](corio::timeout_scope&) -> corio::task<> { co_await corio::sleep(1h); });
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(loop.time() == now);
        CHECK(corio::timeout(std::chrono::hours::min()).when() == corio::clock::time_point::min());
    };
    run_virtual(body());
}

TEST_CASE("timeout outside a running loop throws no_running_loop", "[timeout]") {
    CHECK_THROWS_AS(corio::timeout(1s), corio::no_running_loop);
    CHECK_THROWS_AS(corio::timeout_at(std::nullopt), corio::no_running_loop);
}
