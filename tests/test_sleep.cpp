// SPDX-License-Identifier: MIT
// sleep and sleep_until: ordering, fairness, cancellation, many timers.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <sys/time.h>

#include "corio_test.hpp"

using namespace corio_test;

TEST_CASE("sleep outside a running loop throws no_running_loop", "[sleep]") {
    CHECK_THROWS_AS(corio::sleep(1s), corio::no_running_loop);
    CHECK_THROWS_AS(corio::sleep_until(corio::clock::now()), corio::no_running_loop);
}

TEST_CASE("sleep waits at least its duration", "[sleep]") {
    auto body = []() -> corio::task<double> {
        auto start = corio::clock::now();
        co_await corio::sleep(50ms);
        co_return seconds_since(start);
    };
    double elapsed = corio::run(body());
    CHECK(elapsed >= 0.050);
    CHECK(elapsed < 0.5);
}

TEST_CASE("timers resume in deadline order, equal deadlines in the order they were set",
          "[sleep]") {
    std::string order;
    auto sleeper = [&](char name, corio::clock::time_point deadline) -> corio::task<> {
        co_await corio::sleep_until(deadline);
        order += name;
    };
    auto body = [&]() -> corio::task<> {
        auto at = corio::clock::now() + 20ms;
        co_await corio::gather(sleeper('A', at),
                               sleeper('B', at),
                               sleeper('C', at - 10ms),
                               sleeper('D', at),
                               sleeper('E', at + 10ms),
                               sleeper('F', at));
    };
    corio::run(body());
    CHECK(order == "CABDFE");
}

namespace {

struct recorded_timer final : corio::detail::timer_node {
    explicit recorded_timer(std::vector<int>& fired, int id) : fired(&fired), id(id) {}
    void expire() noexcept override { fired->push_back(id); }
    std::vector<int>* fired;
    int id;
};

} // namespace

TEST_CASE("equal deadlines keep their order when the heap's insertion numbers run out",
          "[sleep]") {
    // Five numbers before the last: the renumbering happens among pending timers, one of
    // them removed and one added after it.
    corio::detail::timer_heap heap(std::uint32_t(-1) - 5);
    const auto at = corio::clock::time_point{} + 1s;
    std::vector<int> fired;
    std::vector<std::unique_ptr<recorded_timer>> timers;
    for (int id = 0; id < 12; ++id) {
        timers.push_back(std::make_unique<recorded_timer>(fired, id));
        heap.push(*timers.back(), id % 3 == 0 ? at - 1ms : at);
        if (id == 4)
            heap.erase(*timers[2]);
    }
    while (!heap.empty())
        heap.pop().expire();
    CHECK(fired == std::vector<int>{0, 3, 6, 9, 1, 4, 5, 7, 8, 10, 11});
}

TEST_CASE("two equal sleeps started by A then B end A then B", "[sleep]") {
    std::string order;
    auto sleeper = [&](char name) -> corio::task<> {
        co_await corio::sleep(30ms);
        order += name;
    };
    auto body = [&]() -> corio::task<> {
        co_await corio::gather(sleeper('A'), sleeper('B'));
    };
    corio::run(body());
    CHECK(order == "AB");
}

TEST_CASE("sleep(0) yields fairly, behind every ready task", "[sleep]") {
    std::string trace;
    auto worker = [&](char name) -> corio::task<> {
        for (int i = 0; i < 3; ++i) {
            trace += name;
            co_await corio::sleep(0s);
        }
    };
    auto body = [&]() -> corio::task<> {
        co_await corio::gather(worker('a'), worker('b'));
    };
    corio::run(body());
    CHECK(trace == "ababab");
}

TEST_CASE("a negative duration yields once and does not wait", "[sleep]") {
    std::string trace;
    auto other = [&]() -> corio::task<> {
        trace += "other ";
        co_return;
    };
    auto body = [&]() -> corio::task<double> {
        auto h = corio::spawn(other());
        auto start = corio::clock::now();
        co_await corio::sleep(-5s);
        trace += "main";
        co_await h;
        co_return seconds_since(start);
    };
    CHECK(corio::run(body()) < 0.1);
    CHECK(trace == "other main");
}

TEST_CASE("sleep_until a past deadline returns in the next iteration", "[sleep]") {
    auto body = []() -> corio::task<double> {
        auto start = corio::clock::now();
        co_await corio::sleep_until(start - 1h);
        co_await corio::sleep_until(corio::clock::time_point::min());
        co_return seconds_since(start);
    };
    CHECK(corio::run(body()) < 0.1);
}

TEST_CASE("cancelling a task blocked in a 10 s sleep ends it at once", "[sleep][cancel]") {
    auto sleeper = []() -> corio::task<> {
        co_await corio::sleep(10s);
    };
    auto body = [&]() -> corio::task<double> {
        auto h = corio::spawn(sleeper());
        co_await corio::sleep(10ms); // let it reach its sleep
        auto start = corio::clock::now();
        CHECK(h.cancel("enough"));
        try {
            co_await h;
            FAIL("awaiting a cancelled task must throw");
        } catch (const corio::cancelled_error& e) {
            CHECK(e.message() == "enough");
        }
        CHECK(h.cancelled());
        co_return seconds_since(start);
    };
    auto start = corio::clock::now();
    CHECK(corio::run(body()) < 0.1);
    CHECK(seconds_since(start) < 1.0); // the removed timer does not keep the loop waiting
}

TEST_CASE("a huge duration does not overflow into the past", "[sleep]") {
    auto sleeper = []() -> corio::task<> {
        co_await corio::sleep(std::chrono::hours::max());
    };
    auto body = [&]() -> corio::task<> {
        auto h = corio::spawn(sleeper());
        co_await corio::sleep(5ms);
        CHECK_FALSE(h.done());
        h.cancel();
    };
    corio::run(body());
}

TEST_CASE("100,000 concurrent random sleeps of 0-100 ms finish together", "[sleep][stress]") {
    constexpr int n = 100'000;
    int late = 0;
    auto sleeper = [&](std::chrono::milliseconds d) -> corio::task<> {
        auto start = corio::clock::now();
        co_await corio::sleep(d);
        if (corio::clock::now() - start < d)
            ++late; // woke before its deadline
    };
    auto body = [&]() -> corio::task<double> {
        std::vector<corio::task<>> tasks;
        tasks.reserve(n);
        std::uint32_t x = 12345;
        for (int i = 0; i < n; ++i) {
            x = x * 1103515245u + 12345u;
            tasks.push_back(sleeper(std::chrono::milliseconds((x >> 16) % 101)));
        }
        auto start = corio::clock::now();
        co_await corio::gather(std::move(tasks));
        co_return seconds_since(start);
    };
    double elapsed = corio::run(body());
    CHECK(late == 0);
    CHECK(elapsed >= 0.1);
    CHECK(elapsed < 3.0); // a few hundred ms in Release; sanitizers are slower
}

TEST_CASE("on virtual time hours of sleeps pass at once, in deadline order", "[sleep][virtual]") {
    std::vector<std::string> order;
    auto sleeper = [&](std::string name, std::chrono::minutes d) -> corio::task<> {
        co_await corio::sleep(d);
        order.push_back(name);
    };
    auto body = [&]() -> corio::task<corio::clock::duration> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        co_await corio::gather(
            sleeper("2h", 120min), sleeper("1h", 60min), sleeper("30min", 30min));
        co_return loop.time() - start;
    };
    const auto real_start = corio::clock::now();
    const corio::clock::duration virtual_elapsed = run_virtual(body());
    CHECK(virtual_elapsed == std::chrono::hours(2)); // exactly: time only jumps to deadlines
    CHECK(seconds_since(real_start) < 1.0);
    CHECK(order == std::vector<std::string>{"30min", "1h", "2h"});
}

TEST_CASE("on virtual time a cancellation lands at an exact moment", "[sleep][virtual][cancel]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        corio::clock::duration cancelled_at{};
        auto victim = corio::spawn([&]() -> corio::task<> {
            try {
                co_await corio::sleep(24h);
            } catch (const corio::cancelled_error&) {
                cancelled_at = loop.time() - start;
                throw;
            }
        });
        loop.call_later(10min, [&] { victim.cancel(); });
        CHECK_THROWS_AS(co_await victim, corio::cancelled_error);
        CHECK(cancelled_at == std::chrono::minutes(10));
        CHECK(loop.time() - start == std::chrono::minutes(10));
    };
    run_virtual(body());
}

TEST_CASE("on virtual time a sleep forever does not end", "[sleep][virtual]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        auto forever = corio::spawn([]() -> corio::task<> {
            co_await corio::sleep_until(corio::clock::time_point::max());
        });
        co_await corio::sleep(1h);
        CHECK_FALSE(forever.done());
        CHECK(loop.time() - start == std::chrono::hours(1));
        forever.cancel();
        CHECK_THROWS_AS(co_await forever, corio::cancelled_error);
    };
    run_virtual(body());
}

namespace {

std::atomic<int> alarms_left{0};

// SIGALRM, without SA_RESTART: each one interrupts the loop's wait. The timer stops itself after
// the last one, so a loop that restarts its wait at every signal is slow, not stuck.
void on_alarm(int) {
    if (--alarms_left == 0) {
        itimerval off{};
        ::setitimer(ITIMER_REAL, &off, nullptr);
    }
}

} // namespace

TEST_CASE("signals every 20 ms do not hold back a 100 ms sleep", "[sleep][signal]") {
    struct sigaction action {};
    action.sa_handler = on_alarm;
    sigemptyset(&action.sa_mask);
    struct sigaction saved {};
    REQUIRE(::sigaction(SIGALRM, &action, &saved) == 0);
    alarms_left = 50; // a second of them
    itimerval every_20ms{{0, 20'000}, {0, 20'000}};
    REQUIRE(::setitimer(ITIMER_REAL, &every_20ms, nullptr) == 0);
    const auto start = corio::clock::now();
    corio::run(nothing_after(100ms));
    const double took = seconds_since(start);
    itimerval off{};
    ::setitimer(ITIMER_REAL, &off, nullptr);
    ::sigaction(SIGALRM, &saved, nullptr);
    CHECK(took >= 0.1);
    CHECK(took < 0.5);
}
