// SPDX-License-Identifier: MIT
// event_loop's own surface: call_soon, call_later, call_at, call_soon_threadsafe, stop,
// run_forever, the exception handler and the report of exceptions nobody retrieved, debug
// mode.
#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "corio_test.hpp"

using namespace corio_test;

namespace {

// Every exception_context the loop reported, kept as text.
struct recorded_reports {
    std::vector<std::string> lines;

    void install(corio::event_loop& loop) {
        loop.set_exception_handler([this](corio::event_loop&, const corio::exception_context& c) {
            std::string line = c.message;
            if (c.task)
                line += " [" + c.task.name() + "]";
            if (c.exception)
                line += ": " + corio::detail::describe(c.exception);
            lines.push_back(line);
        });
    }
};

corio::task<> fail_after(std::chrono::milliseconds delay, std::string what) {
    co_await corio::sleep(delay);
    throw std::runtime_error(what);
}

} // namespace

TEST_CASE("call_soon runs callbacks in order, interleaved with tasks, with their arguments",
          "[loop]") {
    corio::event_loop loop;
    std::vector<std::string> order;
    auto body = [&]() -> corio::task<> {
        auto& l = corio::get_running_loop();
        l.call_soon([&] { order.push_back("a"); });
        (void)corio::spawn([&]() -> corio::task<> {
            order.push_back("task");
            co_return;
        });
        l.call_soon([&](const std::string& s, int n) { order.push_back(s + std::to_string(n)); },
                    std::string("b"),
                    2);
        co_await corio::sleep(0s);
        order.push_back("main");
    };
    loop.run_until_complete(body());
    CHECK(order == std::vector<std::string>{"a", "task", "b2", "main"});
}

TEST_CASE("call_later and call_at run in deadline order and can be cancelled", "[loop]") {
    corio::event_loop loop;
    std::vector<int> order;
    auto body = [&]() -> corio::task<> {
        auto& l = corio::get_running_loop();
        auto start = corio::clock::now();
        l.call_later(20ms, [&] { order.push_back(3); });
        corio::timer_handle cancelled = l.call_later(10ms, [&] { order.push_back(99); });
        l.call_at(start + 5ms, [&] { order.push_back(1); });
        l.call_later(10ms, [&] { order.push_back(2); });
        CHECK(cancelled.when() >= start + 10ms);
        cancelled.cancel();
        CHECK(cancelled.cancelled());
        co_await corio::sleep(40ms);
        CHECK(seconds_since(start) >= 0.020);
    };
    loop.run_until_complete(body());
    CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("a callback cancelled while queued does not run; cancel after it ran only marks it",
          "[loop]") {
    corio::event_loop loop;
    int runs = 0;
    corio::callback_handle ran;
    auto body = [&]() -> corio::task<> {
        auto& l = corio::get_running_loop();
        corio::callback_handle queued = l.call_soon([&] { ++runs; });
        ran = l.call_soon([&] { runs += 10; });
        queued.cancel();
        co_await corio::sleep(0s);
        ran.cancel();
        CHECK(ran.cancelled()); // as asyncio's Handle.cancelled()
    };
    loop.run_until_complete(body());
    CHECK(runs == 10);
}

TEST_CASE("handles to callbacks that never ran outlive their loop safely", "[loop]") {
    corio::timer_handle later;
    corio::callback_handle soon;
    bool ran = false;
    {
        corio::event_loop loop;
        auto body = [&]() -> corio::task<> {
            later = corio::get_running_loop().call_later(1h, [&] { ran = true; });
            soon = corio::get_running_loop().call_soon([&] { ran = true; });
            co_return;
        };
        loop.run_until_complete(body());
    }
    later.cancel();
    soon.cancel();
    CHECK_FALSE(ran);
    CHECK(later.cancelled());
}

TEST_CASE("a callback that throws goes to the exception handler and the loop goes on", "[loop]") {
    corio::event_loop loop;
    recorded_reports reports;
    reports.install(loop);
    bool after = false;
    auto body = [&]() -> corio::task<> {
        corio::get_running_loop().call_soon([] { throw std::runtime_error("boom"); });
        corio::get_running_loop().call_soon([&] { after = true; });
        co_await corio::sleep(1ms);
    };
    loop.run_until_complete(body());
    CHECK(after);
    CHECK(reports.lines == std::vector<std::string>{"Exception in callback: boom"});
}

TEST_CASE("the default exception handler prints one line naming the task", "[loop]") {
    expect_lost_exceptions(1);
    stderr_capture err;
    auto body = []() -> corio::task<> {
        corio::spawn(fail_after(0ms, "lost failure")).set_name("worker");
        co_await corio::sleep(5ms);
    };
    corio::run(body());
    std::string text = err.text();
    CHECK(text == "corio: Task exception was never retrieved (task 'worker'): lost failure\n");
}

TEST_CASE("an exception nobody retrieves is reported once, when it can no longer be", "[loop]") {
    corio::event_loop loop;
    recorded_reports reports;
    reports.install(loop);

    SECTION("no handle left: reported when the task ends") {
        auto body = [&]() -> corio::task<> {
            corio::spawn(fail_after(1ms, "dropped")).set_name("t1");
            co_await corio::sleep(10ms);
            CHECK(reports.lines ==
                  std::vector<std::string>{"Task exception was never retrieved [t1]: dropped"});
        };
        loop.run_until_complete(body());
    }
    SECTION("the last handle goes without looking: reported then") {
        auto body = [&]() -> corio::task<> {
            auto h = corio::spawn(fail_after(1ms, "held"), "t2");
            co_await corio::sleep(10ms);
            CHECK(h.done());
            CHECK(reports.lines.empty());
            h = {};
            CHECK(reports.lines.size() == 1);
        };
        loop.run_until_complete(body());
    }
    SECTION("a handle outlives the loop: reported when the loop closes") {
        corio::task_handle<> h;
        {
            corio::event_loop inner;
            reports.install(inner);
            auto body = [&]() -> corio::task<> {
                h = corio::spawn(fail_after(0ms, "outlived"), "t3");
                co_await corio::sleep(5ms);
            };
            inner.run_until_complete(body());
            CHECK(reports.lines.empty());
        }
        CHECK(reports.lines ==
              std::vector<std::string>{"Task exception was never retrieved [t3]: outlived"});
        CHECK(h.done());
    }
    SECTION("retrieved by co_await, result(), exception() or gather: never reported") {
        auto body = [&]() -> corio::task<> {
            auto awaited = corio::spawn(fail_after(0ms, "a"));
            auto by_result = corio::spawn(fail_after(0ms, "b"));
            auto by_exception = corio::spawn(fail_after(0ms, "c"));
            auto gathered = corio::spawn(fail_after(0ms, "d"));
            CHECK_THROWS_AS(co_await awaited, std::runtime_error);
            co_await corio::sleep(5ms);
            CHECK_THROWS_AS(by_result.result(), std::runtime_error);
            CHECK(by_exception.exception() != nullptr);
            bool threw = false;
            try {
                co_await corio::gather(gathered);
            } catch (const std::runtime_error&) {
                threw = true;
            }
            CHECK(threw);
        };
        loop.run_until_complete(body());
        CHECK(reports.lines.empty());
    }
    SECTION("a cancelled task is not a failure") {
        auto body = [&]() -> corio::task<> {
            corio::spawn(fail_after(1h, "never")).cancel();
            co_await corio::sleep(5ms);
        };
        loop.run_until_complete(body());
        CHECK(reports.lines.empty());
    }
}

TEST_CASE("a handler that throws is reported by the default handler", "[loop]") {
    expect_lost_exceptions(2); // the handler's own exception, then the one it was given
    stderr_capture err;
    {
        corio::event_loop loop;
        loop.set_exception_handler([](corio::event_loop&, const corio::exception_context&) {
            throw std::logic_error("handler broke");
        });
        auto body = []() -> corio::task<> {
            corio::get_running_loop().call_soon([] { throw std::runtime_error("first"); });
            co_await corio::sleep(1ms);
        };
        loop.run_until_complete(body());
    }
    CHECK(err.text() == "corio: Unhandled error in exception handler: handler broke\n"
                        "corio: Exception in callback: first\n");
}

TEST_CASE("callbacks run in the order queued while the ready queue wraps around and grows",
          "[loop]") {
    corio::event_loop loop;
    constexpr int total = 5000;
    int queued = 0;
    std::vector<int> ran;
    // Each callback queues two more: the queue's head moves on while new entries wrap around
    // to the start of its buffer behind it, and the buffer grows while they do.
    std::function<void(int)> step = [&](int id) {
        ran.push_back(id);
        for (int k = 0; k < 2 && queued < total; ++k)
            loop.call_soon(step, queued++);
        if (ran.size() == total)
            loop.stop();
    };
    for (int k = 0; k < 40; ++k)
        loop.call_soon(step, queued++);
    loop.run_forever();
    std::vector<int> expected(total);
    std::iota(expected.begin(), expected.end(), 0);
    CHECK(ran == expected);
}

TEST_CASE("stop before run_forever still runs one iteration, as asyncio", "[loop]") {
    corio::event_loop loop;
    bool ran = false;
    loop.call_soon([&] { ran = true; });
    loop.stop();
    loop.run_forever();
    CHECK(ran);
}

TEST_CASE("stop ends run_forever after the current iteration", "[loop]") {
    corio::event_loop loop;
    std::vector<int> order;
    loop.call_soon([&] {
        order.push_back(1);
        loop.stop();
        loop.call_soon([&] { order.push_back(3); });
    });
    loop.call_soon([&] { order.push_back(2); });
    CHECK_FALSE(loop.is_running());
    loop.run_forever();
    CHECK(order == std::vector<int>{1, 2}); // 3 was queued for the next iteration
    loop.call_soon([&] { loop.stop(); });
    loop.run_forever(); // the first stop() was used up: this run needs its own
    CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("stop during run_until_complete throws and leaves the task pending", "[loop]") {
    corio::event_loop loop;
    corio::task_handle<> main;
    auto body = [&]() -> corio::task<> {
        main = corio::current_task();
        CHECK(corio::get_running_loop().is_running());
        corio::get_running_loop().stop();
        co_await corio::sleep(1h);
    };
    CHECK_THROWS_AS(loop.run_until_complete(body()), corio::invalid_state_error);
    REQUIRE(main);
    CHECK_FALSE(main.done());
}

TEST_CASE("call_soon_threadsafe from several threads wakes the loop and loses nothing",
          "[loop][threads]") {
    constexpr int threads = 4;
    constexpr int per_thread = 2000;
    corio::event_loop loop;
    int received = 0; // loop thread only
    auto body = [&]() -> corio::task<> {
        std::atomic<bool> go{false};
        std::vector<std::thread> senders;
        for (int t = 0; t < threads; ++t)
            senders.emplace_back([&] {
                while (!go.load())
                    std::this_thread::yield();
                for (int i = 0; i < per_thread; ++i)
                    loop.call_soon_threadsafe([&] { ++received; });
            });
        go = true;
        while (received < threads * per_thread)
            co_await corio::sleep(0s);
        for (auto& s : senders)
            s.join();
    };
    loop.run_until_complete(body());
    CHECK(received == threads * per_thread);
}

TEST_CASE("call_soon_threadsafe wakes a loop blocked with nothing else to do", "[loop][threads]") {
    corio::event_loop loop;
    std::thread waker;
    loop.call_soon([&] {
        waker = std::thread([&] {
            std::this_thread::sleep_for(20ms);
            loop.call_soon_threadsafe([&] { loop.stop(); });
        });
    });
    auto start = corio::clock::now();
    loop.run_forever(); // nothing is ready and no timer is set: only the wake ends the wait
    waker.join();
    CHECK(seconds_since(start) >= 0.015);
}

TEST_CASE("debug mode names a step that holds the loop too long", "[loop]") {
    stderr_capture err;
    corio::event_loop loop({.debug = true});
    CHECK(loop.get_debug());
    loop.set_slow_callback_duration(10ms);
    auto body = []() -> corio::task<> {
        corio::current_task().set_name("hog");
        std::this_thread::sleep_for(30ms); // blocks the loop, on purpose
        co_await corio::sleep(0s);
        co_return; // a quick step: not reported
    };
    loop.run_until_complete(body());
    std::string text = err.text();
    CHECK(text.rfind("corio: task 'hog' held the loop for ", 0) == 0);
    CHECK(text.find("(slow_callback_duration is 10.0 ms)\n") != std::string::npos);
    CHECK(std::count(text.begin(), text.end(), '\n') == 1);
}

TEST_CASE("debug mode reports a slow callback too", "[loop]") {
    stderr_capture err;
    corio::event_loop loop({.debug = true});
    loop.set_slow_callback_duration(10ms);
    loop.call_soon([] { std::this_thread::sleep_for(30ms); });
    loop.call_soon([&] { loop.stop(); });
    loop.run_forever();
    const std::string text = err.text();
    CHECK(text.rfind("corio: a callback held the loop for ", 0) == 0);
    CHECK(std::count(text.begin(), text.end(), '\n') == 1);
}

TEST_CASE("CORIO_DEBUG=1 turns debug mode on", "[loop]") {
    ::setenv("CORIO_DEBUG", "1", 1);
    corio::event_loop on;
    ::setenv("CORIO_DEBUG", "0", 1);
    corio::event_loop off;
    ::unsetenv("CORIO_DEBUG");
    CHECK(on.get_debug());
    CHECK_FALSE(off.get_debug());
}

TEST_CASE("a handler may replace itself while it runs", "[loop]") {
    corio::event_loop loop;
    std::vector<std::string> seen;
    std::string capture = "a string long enough to live on the heap, not in SSO";
    loop.set_exception_handler([&, capture](corio::event_loop& l, const corio::exception_context&) {
        l.set_exception_handler({}); // destroys the stored handler, not the running copy
        seen.push_back(capture);
    });
    auto body = []() -> corio::task<> {
        corio::get_running_loop().call_soon([] { throw std::runtime_error("once"); });
        co_await corio::sleep(1ms);
    };
    loop.run_until_complete(body());
    CHECK(seen == std::vector<std::string>{capture});
}

TEST_CASE("work the handler queues while the loop closes is dropped, not leaked", "[loop]") {
    corio::task_handle<> outlives;
    bool follow_up_ran = false;
    int reports = 0;
    {
        corio::event_loop loop;
        loop.set_exception_handler([&](corio::event_loop& l, const corio::exception_context&) {
            ++reports;
            l.call_soon([&] { follow_up_ran = true; });
            l.call_later(1h, [&] { follow_up_ran = true; });
        });
        auto body = [&]() -> corio::task<> {
            outlives = corio::spawn(fail_after(0ms, "reported at close"));
            co_await corio::sleep(5ms);
        };
        loop.run_until_complete(body());
    } // LeakSanitizer (make test-sanitize) fails the test if the queued callbacks leak
    CHECK(reports == 1);
    CHECK_FALSE(follow_up_ran);
}

TEST_CASE("a loop may be destroyed as soon as a call_soon_threadsafe callback ran",
          "[loop][threads]") {
    // The sender is still inside call_soon_threadsafe when the callback runs; AddressSanitizer
    // and ThreadSanitizer catch a wake() that touches the closed loop.
    for (int i = 0; i < 2000; ++i) {
        auto loop = std::make_unique<corio::event_loop>();
        std::atomic<bool> got{false};
        std::thread sender;
        auto body = [&]() -> corio::task<> {
            sender = std::thread([&] { loop->call_soon_threadsafe([&] { got = true; }); });
            while (!got)
                co_await corio::sleep(0s);
        };
        loop->run_until_complete(body());
        loop.reset();
        sender.join();
    }
}
