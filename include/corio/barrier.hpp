// SPDX-License-Identifier: MIT
// corio/barrier.hpp: barrier, where a fixed number of tasks wait for each other
// (asyncio.Barrier).
// Layer L5.
#pragma once

#include <corio/errors.hpp>

#include <corio/detail/loop_core.hpp>
#include <corio/detail/wait_queue.hpp>

#include <coroutine>
#include <cstddef>
#include <ostream>
#include <stdexcept>

namespace corio {

class barrier;

namespace detail {

class barrier_waiter final : public queued_waiter {
public:
    explicit barrier_waiter(barrier& b) : queued_waiter(running_core()), barrier_(&b) {}
    barrier_waiter(barrier_waiter&&) noexcept = default; // before it is awaited only

    inline bool await_ready();
    inline void await_suspend(std::coroutine_handle<> frame);
    std::size_t await_resume() {
        resumed();
        if (broken_)
            throw broken_barrier_error();
        return index_;
    }

    void describe(std::ostream& out) const override { describe_as(out, "barrier.wait"); }

private:
    friend class corio::barrier;

    // Passed, then cancelled before it ran: the barrier has tripped for everyone, so the task
    // keeps its index and the cancellation waits for its next suspension. Broken: nothing to
    // keep, the cancellation wins.
    bool give_back() noexcept override { return broken_; }

    barrier* barrier_;
    std::size_t index_ = 0;
    bool broken_ = false;
};

} // namespace detail

/// Tasks wait at the barrier until `parties` of them have arrived; then all pass together and
/// the barrier is ready for the next round. asyncio: `asyncio.Barrier(parties)`.
/// The last task to arrive passes without suspending; the others are woken in arrival order.
/// Differences from asyncio: a barrier that has tripped is ready for the next round at once
/// (asyncio makes newcomers wait while the passing tasks drain), and a task that passed keeps
/// its index even if reset() or abort() comes before it runs.
/// Thread safety: loop thread only. A barrier must outlive the tasks waiting on it.
class barrier {
public:
    /// Throws: `std::invalid_argument` if `parties` is 0 (asyncio: ValueError).
    explicit barrier(std::size_t parties) : parties_(parties) {
        if (parties == 0)
            throw std::invalid_argument("corio: a barrier needs at least one party");
    }
    barrier(const barrier&) = delete;
    barrier& operator=(const barrier&) = delete;

    /// Arrives and waits until `parties()` tasks have arrived; returns this task's arrival
    /// index in the round, 0 for the first to arrive up to parties() - 1 for the last.
    /// asyncio: `await Barrier.wait()`.
    /// Cancellation: a waiting task leaves the barrier (it no longer counts as arrived) and
    /// gets `cancelled_error`. A task cancelled after the barrier tripped but before it ran
    /// keeps its index; the cancellation is delivered at its next suspension.
    /// Throws: `broken_barrier_error` if the barrier is broken (abort()) when the task
    /// arrives, or is aborted or reset while it waits; `no_running_loop` outside a loop.
    [[nodiscard]] detail::barrier_waiter wait() { return detail::barrier_waiter(*this); }

    /// Breaks the barrier: every waiting task, and every later wait() until reset(), throws
    /// `broken_barrier_error`. asyncio: `Barrier.abort()`.
    void abort() noexcept {
        broken_ = true;
        break_waiters();
    }

    /// Returns the barrier to its initial, empty state: waiting tasks throw
    /// `broken_barrier_error`, and a broken barrier works again. asyncio: `Barrier.reset()`.
    void reset() noexcept {
        break_waiters();
        broken_ = false;
    }

    /// asyncio: `Barrier.parties`.
    [[nodiscard]] std::size_t parties() const noexcept { return parties_; }
    /// Tasks waiting in the current round. asyncio: `Barrier.n_waiting`.
    [[nodiscard]] std::size_t n_waiting() const noexcept { return waiters_.size(); }
    /// asyncio: `Barrier.broken`.
    [[nodiscard]] bool broken() const noexcept { return broken_; }

private:
    friend class detail::barrier_waiter;

    void break_waiters() noexcept {
        while (detail::barrier_waiter* w = waiters_.pop_front()) {
            w->broken_ = true;
            w->grant();
        }
    }

    // The last arrival: everyone waiting passes, numbered in arrival order.
    void trip() noexcept {
        std::size_t index = 0;
        while (detail::barrier_waiter* w = waiters_.pop_front()) {
            w->index_ = index++;
            w->grant();
        }
    }

    std::size_t parties_;
    detail::wait_queue<detail::barrier_waiter> waiters_;
    bool broken_ = false;
};

namespace detail {

bool barrier_waiter::await_ready() {
    if (barrier_->broken_)
        throw broken_barrier_error();
    if (barrier_->waiters_.size() + 1 < barrier_->parties_)
        return false;
    index_ = barrier_->parties_ - 1;
    barrier_->trip();
    return true;
}

void barrier_waiter::await_suspend(std::coroutine_handle<> frame) {
    bind(frame);
    barrier_->waiters_.push_back(*this);
    wait();
}

} // namespace detail
} // namespace corio
