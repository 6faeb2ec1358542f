// SPDX-License-Identifier: MIT
// corio/wait.hpp: wait, which waits for some or all of a set of tasks without cancelling
// any of them, and reports which are done.
// Layer L5.
#pragma once

#include <corio/clock.hpp>
#include <corio/task.hpp>
#include <corio/task_handle.hpp>

#include <corio/detail/loop_core.hpp>
#include <corio/detail/loop_waiter.hpp>
#include <corio/detail/task_state.hpp>
#include <corio/detail/timer_heap.hpp>

#include <coroutine>
#include <cstddef>
#include <memory>
#include <optional>
#include <ostream>
#include <ranges>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace corio {

/// When wait returns. asyncio: `FIRST_COMPLETED`, `FIRST_EXCEPTION`, `ALL_COMPLETED`.
enum class return_when {
    all_completed,   ///< every task is done
    first_completed, ///< any task is done
    first_exception, ///< any task failed (a cancellation is not a failure), or all are done
};

/// wait's answer: the handles in the order given, split into done and pending.
template <class T = void>
struct wait_result {
    std::vector<task_handle<T>> done;
    std::vector<task_handle<T>> pending;
};

namespace detail {

class wait_awaiter final : public loop_waiter, private timer_node {
public:
    wait_awaiter(std::span<task_state* const> tasks,
                 return_when when,
                 std::optional<clock::time_point> deadline)
        : loop_waiter(running_core()), listeners_(std::make_unique<listener[]>(tasks.size())),
          count_(tasks.size()), when_(when), deadline_(deadline) {
        for (std::size_t i = 0; i < count_; ++i) {
            listeners_[i].self = this;
            listeners_[i].task = tasks[i];
        }
    }
    wait_awaiter(const wait_awaiter&) = delete;
    ~wait_awaiter() { detach(); }

    bool await_ready() noexcept {
        for (std::size_t i = 0; i < count_; ++i)
            if (listeners_[i].task->done())
                count_outcome(*listeners_[i].task);
        return satisfied();
    }

    void await_suspend(std::coroutine_handle<> frame) {
        bind(frame);
        for (std::size_t i = 0; i < count_; ++i)
            if (!listeners_[i].task->done())
                listeners_[i].task->add_listener(listeners_[i]);
        if (deadline_)
            loop_->add_timer(*this, *deadline_);
        wait();
    }

    void await_resume() { resumed(); }

    void describe(std::ostream& out) const override {
        out << "wait for " << count_ << " tasks, " << count_ - done_ << " pending";
    }

private:
    struct listener final : done_listener {
        wait_awaiter* self = nullptr;
        task_state* task = nullptr;

        void task_done(task_state& t) noexcept override { self->task_done(t); }
    };

    void task_done(task_state& task) noexcept {
        count_outcome(task);
        if (satisfied())
            finish();
    }

    void expire() noexcept override { finish(); }

    cancel_answer stop() noexcept override {
        if (resume_queued())
            return cancel_answer::too_late; // satisfied, or timed out: the sets are made
        detach();
        return cancel_answer::stopped;
    }

    void count_outcome(const task_state& task) noexcept {
        ++done_;
        failed_ = failed_ || (task.exception() && !task.cancelled());
    }

    [[nodiscard]] bool satisfied() const noexcept {
        switch (when_) {
        case return_when::first_completed:
            return done_ > 0;
        case return_when::first_exception:
            return failed_ || done_ == count_;
        case return_when::all_completed:
            break;
        }
        return done_ == count_;
    }

    void finish() noexcept {
        detach();
        resume_later();
    }

    void detach() noexcept {
        for (std::size_t i = 0; i < count_; ++i)
            listeners_[i].unlink();
        if (scheduled())
            loop_->remove_timer(*this);
    }

    std::unique_ptr<listener[]> listeners_;
    std::size_t count_;
    return_when when_;
    std::optional<clock::time_point> deadline_;
    std::size_t done_ = 0;
    bool failed_ = false;
};

template <class T>
task<wait_result<T>> wait_handles(std::vector<task_handle<T>> handles,
                                  return_when when,
                                  std::optional<clock::duration> timeout) {
    std::vector<task_state*> states = states_of(handles);
    std::optional<clock::time_point> deadline;
    if (timeout)
        deadline = deadline_after(running_core().now(), *timeout);
    co_await wait_awaiter(states, when, deadline);
    wait_result<T> result;
    for (auto& h : handles)
        (h.done() ? result.done : result.pending).push_back(std::move(h));
    co_return result;
}

template <class R>
using handle_range_value_t = std::ranges::range_value_t<std::remove_cvref_t<R>>;

// The handles of a range, copied; an empty handle throws here, before anything waits.
template <class R>
std::vector<handle_range_value_t<R>> collect_handles(R&& range) {
    std::vector<handle_range_value_t<R>> handles;
    for (const auto& h : range) {
        (void)h.state();
        handles.push_back(h);
    }
    return handles;
}

} // namespace detail

/// Waits until the tasks of `handles` meet `when`, or until `timeout` passes, and returns
/// them split into done and pending. Nothing is cancelled and no exception is thrown because
/// of a task: look at the done handles. asyncio: `asyncio.wait(tasks, timeout, return_when)`.
/// Cancellation: cancelling the awaiting task stops the wait (`cancelled_error`) and leaves
/// every task running.
/// Throws: `std::invalid_argument` for no handles; `invalid_state_error` for an empty one.
template <std::ranges::input_range R>
requires detail::is_task_handle_v<detail::handle_range_value_t<R>>
[[nodiscard]] auto wait(R&& handles,
                        return_when when = return_when::all_completed,
                        std::optional<clock::duration> timeout = std::nullopt) {
    auto copied = detail::collect_handles(std::forward<R>(handles));
    if (copied.empty())
        throw std::invalid_argument("corio: wait needs at least one task");
    return detail::wait_handles(std::move(copied), when, timeout);
}

} // namespace corio
