// SPDX-License-Identifier: MIT
// corio/task_handle.hpp: task_handle<T>, a task scheduled on the loop (asyncio.Task).
// Layer L4.
#pragma once

#include <corio/errors.hpp>

#include <corio/detail/loop_core.hpp>
#include <corio/detail/loop_waiter.hpp>
#include <corio/detail/task_state.hpp>

#include <coroutine>
#include <exception>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace corio {
namespace detail {

// co_await on a handle: waits for the task to finish. Cancelling the awaiting task cancels
// the awaited one too, as in asyncio; the awaiter then gets the outcome of that task.
// Shielded (shield()), it stops waiting instead and leaves the task running.
// It holds its own reference: the handle it came from may be reset while it waits.
template <class T, bool Shielded = false>
class handle_awaiter final : public loop_waiter, public done_listener {
public:
    explicit handle_awaiter(task_ref target)
        : loop_waiter(running_core()), target_(std::move(target)) {}
    /// Only before it is awaited: wait_for and gather move an awaitable (a shield()) into a
    /// task of their own.
    handle_awaiter(handle_awaiter&& other) noexcept
        : loop_waiter(std::move(other)), done_listener(), target_(std::move(other.target_)) {}

    bool await_ready() const noexcept { return target_->done(); }

    void await_suspend(std::coroutine_handle<> frame) {
        bind(frame);
        if (&owner() == target_.get())
            throw_self_await();
        target_->add_listener(*this);
        wait();
    }

    T await_resume() {
        resumed();
        return target_->template result<T>();
    }

    void task_done(task_state&) noexcept override { resume_later(); }

    void describe(std::ostream& out) const override {
        out << "awaiting task '" << target_->name() << "'" << (Shielded ? ", shielded" : "");
    }

private:
    [[noreturn, gnu::cold]] void throw_self_await() const {
        throw invalid_state_error("corio: task '" + target_->name() + "' cannot await itself");
    }

    cancel_answer stop() noexcept override {
        if (target_->done())
            return cancel_answer::too_late; // its outcome is on the way
        if constexpr (!Shielded) {
            target_->cancel(owner().cancel_message());
            // Wait for the task to end, unless it awaits this one (its cancellation is what
            // brought the request here): it cannot end first, so the cycle unwinds from here.
            if (!target_->cancel_in_progress())
                return cancel_answer::pending;
        }
        unlink(); // from the task's listeners
        return cancel_answer::stopped;
    }

    task_ref target_;
};

} // namespace detail

/// A task scheduled on the loop, shared by every copy of the handle. asyncio: `asyncio.Task`.
/// The loop keeps the task running when every handle is dropped. `task_handle<T>` converts to
/// `task_handle<>`, an untyped view whose `co_await` and `result()` only rethrow.
/// A default-constructed handle is empty; using it throws `invalid_state_error`.
/// Thread safety: loop thread only.
template <class T = void>
class task_handle {
public:
    task_handle() noexcept = default;
    /// For corio: `state` is that of a task<T> (or any task, for task_handle<>).
    explicit task_handle(detail::task_ref state) noexcept : state_(std::move(state)) {}

    template <class U>
    requires(std::is_void_v<T> && !std::is_void_v<U>) task_handle(const task_handle<U>& typed)
    noexcept // NOLINT: an implicit widening, by design
        : state_(typed.state_.get()) {}

    /// True when the handle refers to a task.
    explicit operator bool() const noexcept { return static_cast<bool>(state_); }

    [[nodiscard]] bool done() const { return checked().done(); }
    [[nodiscard]] bool cancelled() const { return checked().cancelled(); }
    [[nodiscard]] const std::string& name() const { return checked().name(); }
    void set_name(std::string name) { checked().set_name(std::move(name)); }

    /// Requests cancellation: the task gets `cancelled_error` at its current suspension point,
    /// or at its next one if it is running. Returns false if the task is already done.
    /// asyncio: `Task.cancel(msg)`.
    bool cancel(std::string_view message = {}) { return checked().cancel(message); }

    /// The number of pending cancellation requests. asyncio: `Task.cancelling()`.
    [[nodiscard]] int cancelling() const { return checked().cancelling(); }

    /// Withdraws one cancellation request and returns how many remain. asyncio:
    /// `Task.uncancel()`.
    int uncancel() { return checked().uncancel(); }

    /// The task's value, or its exception rethrown (cancelled_error if it was cancelled).
    /// A move-only value is moved out, so it can be taken once.
    /// Throws: `invalid_state_error` while the task is pending.
    T result() const { return checked().template result<T>(); }

    /// The exception the task failed with, or null if it returned a value.
    /// Throws: `invalid_state_error` while pending; `cancelled_error` if it was cancelled, as
    /// asyncio's `Task.exception()` does.
    [[nodiscard]] std::exception_ptr exception() const {
        auto& s = checked();
        if (!s.done())
            throw invalid_state_error("corio: exception of task '" + s.name() + "' is not ready");
        if (s.cancelled())
            std::rethrow_exception(s.exception());
        return s.retrieve();
    }

    /// Waits for the task and yields its value or rethrows its exception.
    /// Cancellation: cancelling the awaiting task cancels this task too (asyncio's rule); the
    /// awaiter then gets this task's outcome, usually `cancelled_error`.
    auto operator co_await() const {
        checked(); // an empty handle throws here, not inside the awaiter
        return detail::handle_awaiter<T>(state_);
    }

    friend bool operator==(const task_handle& a, const task_handle& b) noexcept {
        return a.state_.get() == b.state_.get();
    }

    /// For corio's own composition code (gather and friends).
    [[nodiscard]] detail::task_state& state() const { return checked(); }

private:
    template <class>
    friend class task_handle;

    detail::task_state& checked() const {
        if (!state_)
            throw invalid_state_error("corio: use of an empty task_handle");
        return *state_;
    }

    detail::task_ref state_;
};

namespace detail {

template <class H>
inline constexpr bool is_task_handle_v = false;
template <class T>
inline constexpr bool is_task_handle_v<task_handle<T>> = true;

/// The states behind `handles`, for the awaiters that listen to many tasks.
template <class T>
std::vector<task_state*> states_of(const std::vector<task_handle<T>>& handles) {
    std::vector<task_state*> states;
    states.reserve(handles.size());
    for (auto& h : handles)
        states.push_back(&h.state());
    return states;
}

} // namespace detail
} // namespace corio
