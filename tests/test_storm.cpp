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

} // namespace

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
