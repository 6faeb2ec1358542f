// SPDX-License-Identifier: MIT
// corio/event.hpp: event, a flag that tasks can wait for (asyncio.Event).
// Layer L5.
#pragma once

#include <corio/detail/loop_core.hpp>
#include <corio/detail/wait_queue.hpp>

#include <coroutine>
#include <ostream>
#include <utility>

namespace corio {

class event;

namespace detail {

class event_waiter final : public queued_waiter {
public:
    explicit event_waiter(event& e) : queued_waiter(running_core()), event_(&e) {}
    event_waiter(event_waiter&&) noexcept = default; // before it is awaited only

    inline bool await_ready() const noexcept;
    inline void await_suspend(std::coroutine_handle<> frame);
    void await_resume() { resumed(); }

    void describe(std::ostream& out) const override { describe_as(out, "event.wait"); }

private:
    // Woken by set(): nothing to pass on, and the wake-up is not dropped either.
    bool give_back() noexcept override { return false; }

    event* event_;
};

} // namespace detail

/// A flag, initially clear, that tasks can wait for. asyncio: `asyncio.Event`.
/// Thread safety: loop thread only. The event needs no loop until a task waits on it.
/// An event must outlive the tasks waiting on it.
class event {
public:
    event() = default;
    event(const event&) = delete;
    event& operator=(const event&) = delete;

    /// Sets the flag and wakes every waiting task, in the order they began to wait. Waiting
    /// after set() returns at once until clear(). asyncio: `Event.set()`.
    void set() noexcept {
        if (std::exchange(set_, true))
            return;
        while (detail::event_waiter* w = waiters_.pop_front())
            w->grant();
    }

    /// Clears the flag. Tasks already woken by set() still resume. asyncio: `Event.clear()`.
    void clear() noexcept { set_ = false; }

    /// asyncio: `Event.is_set()`.
    [[nodiscard]] bool is_set() const noexcept { return set_; }

    /// Waits until the flag is set; returns at once, without suspending, if it is set.
    /// asyncio: `await Event.wait()`.
    /// Cancellation: a waiting task is removed from the queue and gets `cancelled_error`. A
    /// task cancelled after set() woke it but before it ran keeps its wake-up; the cancellation
    /// is delivered at its next suspension (asyncio raises at this await).
    /// Throws: `no_running_loop` outside a running loop.
    [[nodiscard]] detail::event_waiter wait() { return detail::event_waiter(*this); }

private:
    friend class detail::event_waiter;

    detail::wait_queue<detail::event_waiter> waiters_;
    bool set_ = false;
};

namespace detail {

bool event_waiter::await_ready() const noexcept {
    return event_->set_;
}

void event_waiter::await_suspend(std::coroutine_handle<> frame) {
    bind(frame);
    event_->waiters_.push_back(*this);
    wait();
}

} // namespace detail
} // namespace corio
