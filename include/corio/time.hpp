// SPDX-License-Identifier: MIT
// corio/time.hpp: sleep and sleep_until.
// Layer L4.
#pragma once

#include <corio/clock.hpp>

#include <corio/detail/loop_core.hpp>
#include <corio/detail/loop_waiter.hpp>
#include <corio/detail/timer_heap.hpp>

#include <chrono>
#include <coroutine>
#include <cstdio>
#include <ostream>

namespace corio {
namespace detail {

class sleep_awaiter final : public loop_waiter, public timer_node {
public:
    // The deadline `yield` means: yield once, behind every task that is ready now. It is the
    // earliest time there is, long past, so no sleep_until means anything else by it.
    static constexpr clock::time_point yield = clock::time_point::min();

    sleep_awaiter(scheduler& loop, clock::time_point deadline) noexcept
        : loop_waiter(loop), timer_node(deadline) {}
    sleep_awaiter(sleep_awaiter&&) noexcept = default; // before it is awaited only
    ~sleep_awaiter() {
        if (scheduled())
            loop_->remove_timer(*this);
    }

    bool await_ready() const noexcept { return false; }

    void await_suspend(std::coroutine_handle<> frame) {
        bind(frame);
        if (deadline() == yield)
            resume_later();
        else
            loop_->add_timer(*this, deadline());
        wait();
    }

    void await_resume() { resumed(); }

    // Also stopped when the timer expired already: a sleep has no result to keep.
    cancel_answer stop() noexcept override {
        if (scheduled())
            loop_->remove_timer(*this);
        return cancel_answer::stopped;
    }

    void expire() noexcept override { resume_later(); }

    void describe(std::ostream& out) const override {
        if (deadline() == yield) {
            out << "sleep(0), yielding once";
        } else if (deadline() == clock::time_point::max()) {
            out << "sleep, forever";
        } else {
            using seconds = std::chrono::duration<double>;
            char text[64];
            std::snprintf(text,
                          sizeof text,
                          "sleep, due in %.3f s",
                          seconds(deadline() - loop_->now()).count());
            out << text;
        }
    }
};

} // namespace detail

/// Suspends the calling task until `deadline`, letting other tasks run meanwhile.
/// asyncio: `asyncio.sleep` with an absolute time (`loop.call_at`).
/// Timers due in the same iteration resume in deadline order, equal deadlines in the order
/// they were set.
/// Cancellation: always cancellable; the timer is removed before `cancelled_error` is thrown.
/// Throws: `no_running_loop` outside a running loop.
[[nodiscard]] inline detail::sleep_awaiter sleep_until(clock::time_point deadline) {
    return detail::sleep_awaiter(detail::running_core(), deadline);
}

/// Suspends the calling task for `duration`. asyncio: `asyncio.sleep(duration)`.
/// `sleep(0s)`, and any negative duration, yields exactly once, as asyncio does: every other
/// task that is ready runs before the caller resumes.
/// Cancellation: as sleep_until.
/// Throws: `no_running_loop` outside a running loop.
template <class Rep, class Period>
[[nodiscard]] detail::sleep_awaiter sleep(std::chrono::duration<Rep, Period> duration) {
    detail::scheduler& loop = detail::running_core();
    if (duration <= duration.zero())
        return detail::sleep_awaiter(loop, detail::sleep_awaiter::yield);
    return detail::sleep_awaiter(loop, detail::deadline_after(loop.now(), duration));
}

} // namespace corio
