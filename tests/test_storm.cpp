// SPDX-License-Identifier: MIT
// The cancellation storm: thousands of tasks blocked in every kind of composition, cancelled
// at once. Each must end cancelled, nothing may hang or leak, and everything works after.
#include <string>
#include <vector>

#include "corio_test.hpp"

using namespace corio_test;

namespace {

// One blocked task of kind `k`; each kind suspends somewhere else.
corio::task<> blocked(int k) {
    switch (k % 8) {
    case 0:
        co_await corio::sleep(1h);
        break;
    case 1: {
        auto body = [](corio::task_group& tg) -> corio::task<> {
            tg.spawn(value_after(1, 1h));
            tg.spawn(value_after(2, 2h));
            co_await corio::sleep(3h);
        };
        co_await corio::with(corio::task_group{}, body);
        break;
    }
    case 2: {
        auto body = [](corio::timeout_scope&) -> corio::task<> {
            co_await corio::sleep(1h);
        };
        co_await corio::with(corio::timeout(2h), body);
        break;
    }
    case 3:
        co_await corio::wait_for(value_after(3, 1h), 2h);
        break;
    case 4:
        co_await corio::gather(value_after(4, 1h), value_after(5, 2h));
        break;
    case 5:
        co_await corio::race(value_after(6, 1h), corio::sleep(2h));
        break;
    case 6: {
        auto h = corio::spawn(value_after(7, 1h));
        std::vector<corio::task_handle<int>> handles{h};
        try {
            co_await corio::wait(handles, corio::return_when::all_completed);
        } catch (const corio::cancelled_error&) {
            h.cancel(); // wait leaves it running: the storm's owner cleans up
            throw;
        }
        break;
    }
    default: {
        auto h = corio::spawn(value_after(8, 1h));
        try {
            co_await corio::shield(h);
        } catch (const corio::cancelled_error&) {
            h.cancel();
            throw;
        }
        break;
    }
    }
}

// Primitives a task can block on, each held or empty so that nobody gets through.
struct primitives {
    corio::lock held;
    corio::lock cond_lock;
    corio::condition cond{cond_lock};
    corio::semaphore sem{0};
    corio::event never;
    corio::queue<int> empty;
    corio::queue<int> full{1};
    corio::barrier bar{1'000'000};
};

constexpr int kinds = 18;

// One blocked task of kind `k`: the compositions of blocked(), then the primitives, as_completed,
// a plain handle await and to_thread.
corio::task<> blocked_anywhere(int k, primitives& p) {
    switch (k % kinds) {
    case 8:
        co_await p.held.acquire();
        break;
    case 9: {
        auto g = co_await p.cond_lock.scoped();
        co_await p.cond.wait();
        break;
    }
    case 10:
        co_await p.sem.acquire();
        break;
    case 11:
        co_await p.never.wait();
        break;
    case 12:
        co_await p.empty.get();
        break;
    case 13:
        co_await p.full.put(1);
        break;
    case 14:
        co_await p.bar.wait();
        break;
    case 15: {
        auto h = corio::spawn(value_after(9, 1h));
        std::vector<corio::task_handle<int>> handles{h};
        auto q = corio::as_completed(handles);
        try {
            co_await q.next();
        } catch (const corio::cancelled_error&) {
            h.cancel();
            throw;
        }
        break;
    }
    case 16:
        co_await corio::spawn(value_after(10, 1h));
        break;
    case 17:
        co_await corio::to_thread([] {});
        co_await corio::sleep(1h);
        break;
    default:
        co_await blocked(k);
    }
}

// Blocks as blocked_anywhere(k) does; once cancelled, its clean-up awaits (a second cancellation
// delivered there would cut it short), then it counts itself and ends cancelled.
corio::task<> cleans_up(int k, primitives& p, int& cleaned) {
    bool cancelled = false;
    try {
        co_await blocked_anywhere(k, p);
    } catch (const corio::cancelled_error&) {
        cancelled = true;
    }
    REQUIRE(cancelled);
    co_await corio::sleep(0s);
    co_await corio::sleep(1ms);
    ++cleaned;
    throw corio::cancelled_error();
}

} // namespace

TEST_CASE("cancelled twice in one iteration, every composition and primitive delivers one "
          "cancellation",
          "[cancel][stress]") {
    auto body = []() -> corio::task<> {
        primitives p;
        co_await p.held.acquire();
        p.full.put_nowait(0);
        int cleaned = 0;
        std::vector<corio::task_handle<>> tasks;
        for (int i = 0; i < 50 * kinds; ++i)
            tasks.push_back(corio::spawn(cleans_up(i, p, cleaned)));
        co_await corio::sleep(1ms); // every one is blocked now
        for (auto& t : tasks) {
            t.cancel("first");
            t.cancel("second");
        }
        co_await corio::wait(tasks);
        for (auto& t : tasks) {
            CHECK(t.cancelled());
            CHECK(t.cancelling() == 2);
        }
        CHECK(cleaned == static_cast<int>(tasks.size()));
        co_await corio::sleep(0ms);
        CHECK(other_live_tasks() == 0);
        p.held.release();
    };
    run_virtual(body());
}

TEST_CASE("a storm of 20,000 cancellations across every composition ends clean",
          "[cancel][stress]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        std::vector<corio::task_handle<>> tasks;
        tasks.reserve(20000);
        for (int i = 0; i < 20000; ++i)
            tasks.push_back(corio::spawn(blocked(i)));
        co_await corio::sleep(1ms); // every one is blocked now
        const auto start = loop.time();
        for (auto& t : tasks)
            t.cancel();
        co_await corio::wait(tasks);
        CHECK(loop.time() == start); // no task needed any timer to end
        std::size_t cancelled = 0;
        for (auto& t : tasks)
            cancelled += t.cancelled() ? 1 : 0;
        CHECK(cancelled == tasks.size());
        co_await corio::sleep(0ms); // let the handles the storm cancelled finish
        CHECK(other_live_tasks() == 0);

        // Everything still works afterwards.
        auto scope = [](corio::task_group& tg) -> corio::task<> {
            tg.spawn(value_after(1, 10ms));
            co_return;
        };
        co_await corio::with(corio::task_group{}, scope);
        const int v = co_await corio::wait_for(value_after(9, 1ms), 1s);
        CHECK(v == 9);
    };
    run_virtual(body());
}
