// SPDX-License-Identifier: MIT
// corio/timeout.hpp: timeout and timeout_at, scopes that cancel their body at a deadline
// and turn that cancellation into timeout_error; and wait_for, built on them.
// Layer L5.
#pragma once

#include <corio/clock.hpp>
#include <corio/errors.hpp>
#include <corio/task.hpp>
#include <corio/task_handle.hpp>
#include <corio/with.hpp>

#include <corio/detail/awaitable.hpp>
#include <corio/detail/loop_core.hpp>
#include <corio/detail/ready.hpp>
#include <corio/detail/task_state.hpp>
#include <corio/detail/timer_heap.hpp>

#include <chrono>
#include <concepts>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace corio {

/// The scope `timeout` and `timeout_at` make, entered with `with`:
///
///     co_await with(timeout(2s), [&](timeout_scope& t) -> task<> { co_await slow(); });
///
/// At the deadline the task in the scope is cancelled; when that cancellation ends the body,
/// the scope throws `timeout_error` instead. Scopes nest: only the one that expired converts,
/// and a cancellation from anywhere else passes through unchanged.
/// asyncio: `asyncio.Timeout` (what `asyncio.timeout` returns), with the same rules.
/// Thread safety: loop thread only.
class timeout_scope final : private detail::timer_node {
public:
    /// No deadline (std::nullopt) means: never expire, until rescheduled.
    explicit timeout_scope(detail::scheduler& loop, std::optional<clock::time_point> when) noexcept
        : loop_(&loop), when_(when) {}
    /// Only a scope that was not entered can move (with moves a temporary into its frame).
    /// Throws: `invalid_state_error` for a scope that was entered.
    timeout_scope(timeout_scope&& other)
        : timer_node(std::move(other)), loop_(other.loop_), when_(other.when_) {
        if (other.state_ != state::created)
            throw invalid_state_error("corio: a timeout scope cannot move once entered");
    }
    timeout_scope& operator=(timeout_scope&&) = delete;
    ~timeout_scope() { disarm(); }

    /// The deadline, or std::nullopt for none.
    [[nodiscard]] std::optional<clock::time_point> when() const noexcept { return when_; }

    /// True once the deadline has passed and the body was cancelled for it.
    [[nodiscard]] bool expired() const noexcept {
        return state_ == state::expiring || state_ == state::expired;
    }

    /// Moves the deadline (std::nullopt: none). A deadline already past expires the scope at
    /// the loop's next iteration. asyncio: `Timeout.reschedule`.
    /// Throws: `invalid_state_error` unless the scope is entered and has not expired.
    void reschedule(std::optional<clock::time_point> when) {
        if (state_ != state::entered)
            throw invalid_state_error(state_ == state::created
                                          ? "corio: timeout scope has not been entered"
                                          : "corio: timeout scope has already expired or exited");
        disarm();
        when_ = when;
        arm();
    }

    /// Starts the clock in the running task.
    /// Throws: `invalid_state_error` when entered twice; `std::logic_error` outside a task.
    detail::ready<timeout_scope&> aenter() {
        if (state_ != state::created)
            throw invalid_state_error("corio: timeout scope has already been entered");
        task_ = loop_->current_task_state();
        if (task_ == nullptr)
            throw std::logic_error("corio: timeout scope entered outside a task");
        cancelling_ = task_->cancelling();
        state_ = state::entered;
        arm();
        return detail::ready<timeout_scope&>(*this);
    }

    /// Stops the clock. Throws `timeout_error` when the deadline cancelled the body.
    detail::ready<> aexit(const std::exception_ptr& error) {
        disarm();
        if (state_ == state::expiring) {
            state_ = state::expired;
            if (task_->uncancel() <= cancelling_ && detail::is_cancellation(error))
                throw timeout_error("corio: timeout expired");
        } else if (state_ == state::entered) {
            state_ = state::exited;
        }
        return {};
    }

private:
    enum class state { created, entered, expiring, expired, exited };

    void arm() {
        if (when_)
            loop_->add_timer(*this, *when_);
    }

    void disarm() noexcept {
        if (scheduled())
            loop_->remove_timer(*this);
    }

    void expire() noexcept override {
        state_ = state::expiring;
        task_->cancel({});
    }

    detail::scheduler* loop_;
    std::optional<clock::time_point> when_;
    detail::task_state* task_ = nullptr;
    int cancelling_ = 0;
    state state_ = state::created;
};

/// A scope that expires at `when` (std::nullopt: never, until rescheduled).
/// asyncio: `asyncio.timeout_at(when)`.
/// Throws: `no_running_loop` outside a running loop.
[[nodiscard]] inline timeout_scope timeout_at(std::optional<clock::time_point> when) {
    return timeout_scope(detail::running_core(), when);
}

/// A scope that expires `delay` from now, on the loop's clock; a negative delay gives a
/// deadline in the past (`when()` says so) that expires at once. asyncio: `asyncio.timeout`.
/// Throws: `no_running_loop` outside a running loop.
template <class Rep, class Period>
[[nodiscard]] timeout_scope timeout(std::chrono::duration<Rep, Period> delay) {
    detail::scheduler& loop = detail::running_core();
    return timeout_scope(loop, detail::time_after(loop.now(), delay));
}

namespace detail {

/// wait_for with no time at all: nothing is started. A handle already done gives its result;
/// a pending one is cancelled and awaited (a value that won the race is returned); anything
/// else is dropped unstarted.
template <class A, class R>
task<R> wait_for_expired(A aw) {
    if constexpr (is_task_handle_v<A>) {
        if (aw.done())
            co_return co_await std::move(aw);
        const task_state& self = *running_core().current_task_state();
        const int cancelling = self.cancelling();
        aw.cancel();
        try {
            co_return co_await std::move(aw);
        } catch (const cancelled_error&) {
            if (self.cancelling() > cancelling)
                throw; // the awaiting task was cancelled meanwhile: that is not a timeout
        }
    }
    throw timeout_error("corio: timeout expired");
}

} // namespace detail

/// Awaits `aw`, but for `delay` at most: at the deadline `aw` is cancelled, awaited until it
/// has finished, and `timeout_error` is thrown; a value that completed despite the cancel is
/// returned instead. `aw` is a task, a task handle (the task is cancelled too, as awaiting a
/// handle does) or any movable awaitable. With `delay <= 0`, as in asyncio, `aw` never starts:
/// a handle already done gives its result; a pending handle is cancelled and awaited; any
/// other awaitable is dropped, and `timeout_error` is thrown at once.
/// asyncio: `asyncio.wait_for(aw, timeout)`.
/// Cancellation: cancelling the awaiting task cancels `aw` and throws `cancelled_error`.
template <class A, class Rep, class Period>
requires detail::awaitable<A> && std::move_constructible<A>
    task<std::remove_cvref_t<detail::await_result_t<A>>>
    wait_for(A aw, std::chrono::duration<Rep, Period> delay) {
    using R = std::remove_cvref_t<detail::await_result_t<A>>;
    if (delay <= delay.zero())
        co_return co_await detail::wait_for_expired<A, R>(std::move(aw));
    auto body = [&aw](timeout_scope&) -> task<R> {
        co_return co_await std::move(aw);
    };
    co_return co_await with(timeout(delay), body);
}

} // namespace corio
