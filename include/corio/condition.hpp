// SPDX-License-Identifier: MIT
// corio/condition.hpp: condition, a condition variable for tasks bound to a corio::lock
// (asyncio.Condition).
// Layer L5.
#pragma once

#include <corio/errors.hpp>
#include <corio/lock.hpp>
#include <corio/task.hpp>

#include <corio/detail/loop_core.hpp>
#include <corio/detail/wait_queue.hpp>

#include <coroutine>
#include <cstddef>
#include <optional>
#include <ostream>
#include <type_traits>

namespace corio {

class condition;

namespace detail {

class condition_waiter final : public queued_waiter {
public:
    explicit condition_waiter(condition& c) : queued_waiter(running_core()), cond_(&c) {}

    bool await_ready() const noexcept { return false; }
    inline void await_suspend(std::coroutine_handle<> frame);
    void await_resume() { resumed(); }

    void describe(std::ostream& out) const override { describe_as(out, "condition.wait"); }

private:
    // Notified, then cancelled before it ran: the cancellation is delivered now, and wait()
    // passes the notification on once it holds the lock again.
    bool give_back() noexcept override { return true; }

    condition* cond_;
};

} // namespace detail

/// A condition variable: tasks wait until another task notifies them. Bound to a
/// `corio::lock` that must be held to wait or notify. asyncio: `asyncio.Condition(lock)`.
/// Waiters are notified in the order they began to wait.
/// Thread safety: loop thread only. The condition and its lock must outlive the tasks
/// waiting on them.
class condition {
public:
    explicit condition(corio::lock& l) noexcept : lock_(&l) {}
    condition(const condition&) = delete;
    condition& operator=(const condition&) = delete;

    /// Releases the lock, waits until notified, then acquires the lock again before
    /// returning. asyncio: `await Condition.wait()`.
    /// Cancellation: the lock is acquired again even when the wait is cancelled (a
    /// cancellation during that re-acquisition is held back until it succeeds), then
    /// `cancelled_error` is rethrown, as asyncio does; so the caller always holds the lock
    /// when wait() ends. A wait that ends with an error, at any moment, notifies the next
    /// waiter before it rethrows, so a notification this task may have taken is never lost
    /// (asyncio 3.13; the other waiter may wake spuriously, which a condition allows).
    /// Throws: `invalid_state_error` if the lock is not held; `no_running_loop` outside a
    /// running loop.
    [[nodiscard]] task<> wait() {
        if (!lock_->locked())
            throw invalid_state_error("corio: condition.wait() called without holding its lock");
        lock_->release();
        std::optional<cancelled_error> cancelled;
        try {
            co_await detail::condition_waiter(*this);
        } catch (const cancelled_error& e) {
            cancelled = e;
        }
        for (;;) {
            try {
                co_await lock_->acquire();
                break;
            } catch (const cancelled_error& e) {
                if (!cancelled)
                    cancelled = e;
            }
        }
        if (cancelled) {
            wake(1);
            throw *cancelled;
        }
    }

    /// Waits until `pred()` is true, checking it first and after each notification; returns
    /// its last value. The lock is held whenever `pred` runs. asyncio:
    /// `await Condition.wait_for(predicate)`.
    /// Cancellation and throws: as wait().
    template <class Pred>
    [[nodiscard]] task<std::decay_t<std::invoke_result_t<Pred&>>> wait_for(Pred pred) {
        auto result = pred();
        while (!result) {
            co_await wait();
            result = pred();
        }
        co_return result;
    }

    /// Wakes up to `n` waiting tasks, longest-waiting first. asyncio: `Condition.notify(n)`.
    /// Throws: `invalid_state_error` if the lock is not held.
    void notify(std::size_t n = 1) {
        if (!lock_->locked())
            throw invalid_state_error("corio: condition.notify() called without holding its lock");
        wake(n);
    }

    /// Wakes every waiting task. asyncio: `Condition.notify_all()`.
    /// Throws: `invalid_state_error` if the lock is not held.
    void notify_all() { notify(waiters_.size()); }

    /// The lock the condition is bound to.
    [[nodiscard]] corio::lock& get_lock() const noexcept { return *lock_; }

    /// True while the lock is held. asyncio: `Condition.locked()`.
    [[nodiscard]] bool locked() const noexcept { return lock_->locked(); }

private:
    friend class detail::condition_waiter;

    void wake(std::size_t n) noexcept {
        for (; n > 0; --n) {
            detail::condition_waiter* w = waiters_.pop_front();
            if (w == nullptr)
                return;
            w->grant();
        }
    }

    corio::lock* lock_;
    detail::wait_queue<detail::condition_waiter> waiters_;
};

namespace detail {

void condition_waiter::await_suspend(std::coroutine_handle<> frame) {
    bind(frame);
    cond_->waiters_.push_back(*this);
    wait();
}

} // namespace detail
} // namespace corio
