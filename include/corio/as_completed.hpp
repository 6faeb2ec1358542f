// SPDX-License-Identifier: MIT
// corio/as_completed.hpp: as_completed, which hands out tasks in the order they finish.
// Layer L5.
#pragma once

#include <corio/errors.hpp>
#include <corio/task_handle.hpp>
#include <corio/wait.hpp>

#include <corio/detail/loop_core.hpp>
#include <corio/detail/loop_waiter.hpp>
#include <corio/detail/task_state.hpp>

#include <coroutine>
#include <cstddef>
#include <memory>
#include <optional>
#include <ostream>
#include <ranges>
#include <utility>
#include <vector>

namespace corio {
namespace detail {

// The untyped part: listens to every task and queues them as they finish.
class completion_tracker {
public:
    explicit completion_tracker(std::span<task_state* const> tasks)
        : loop_(&running_core()), listeners_(std::make_unique<listener[]>(tasks.size())),
          finished_(std::make_unique<std::size_t[]>(tasks.size())), count_(tasks.size()) {
        for (std::size_t i = 0; i < count_; ++i) {
            listeners_[i].self = this;
            if (tasks[i]->done())
                finished_[finished_count_++] = i;
            else
                tasks[i]->add_listener(listeners_[i]);
        }
    }
    completion_tracker(const completion_tracker&) = delete;
    completion_tracker& operator=(const completion_tracker&) = delete;

    class next_awaiter : public loop_waiter {
    public:
        explicit next_awaiter(completion_tracker& tracker) noexcept
            : loop_waiter(*tracker.loop_), tracker_(&tracker) {}
        /// Only before it is awaited: wait_for and race move an awaitable into a frame or a
        /// task of their own (the protected destructor would otherwise suppress this).
        next_awaiter(next_awaiter&&) noexcept = default;

        bool await_ready() const noexcept {
            // A waiter woken but not resumed yet still owns the next task: a second caller
            // must not take it (await_suspend then throws).
            return tracker_->waiting_ == nullptr &&
                   (tracker_->handed_out_ < tracker_->finished_count_ ||
                    tracker_->handed_out_ == tracker_->count_);
        }

        void await_suspend(std::coroutine_handle<> frame) {
            if (tracker_->waiting_ != nullptr)
                throw invalid_state_error("corio: as_completed: another task awaits next()");
            bind(frame);
            tracker_->waiting_ = this;
            wait();
        }

        /// The index of the next task to finish; std::nullopt when every one was handed out.
        std::optional<std::size_t> next_index() {
            if (tracker_->waiting_ == this) // woken by arrived(): no longer waiting
                tracker_->waiting_ = nullptr;
            resumed();
            if (tracker_->handed_out_ == tracker_->finished_count_)
                return std::nullopt;
            return tracker_->finished_[tracker_->handed_out_++];
        }

        void describe(std::ostream& out) const override {
            out << "as_completed, " << tracker_->count_ - tracker_->handed_out_
                << " tasks not handed out";
        }

    protected:
        ~next_awaiter() = default;

    private:
        friend class completion_tracker;
        void wake() noexcept { resume_later(); }

        cancel_answer stop() noexcept override {
            if (resume_queued())
                return cancel_answer::too_late; // a task finished for it: it takes it
            tracker_->waiting_ = nullptr;
            return cancel_answer::stopped;
        }

        completion_tracker* tracker_;
    };

private:
    // The i-th listener waits for the i-th task.
    struct listener final : done_listener {
        completion_tracker* self = nullptr;

        void task_done(task_state&) noexcept override {
            self->arrived(static_cast<std::size_t>(this - self->listeners_.get()));
        }
    };

    void arrived(std::size_t i) noexcept {
        finished_[finished_count_++] = i;
        if (waiting_ != nullptr) // it stays set until it resumes and takes its task
            waiting_->wake();
    }

    scheduler* loop_;
    std::unique_ptr<listener[]> listeners_;
    // The tasks' indexes in the order they finished: each finishes once.
    std::unique_ptr<std::size_t[]> finished_;
    std::size_t count_;
    std::size_t finished_count_ = 0;
    std::size_t handed_out_ = 0;
    next_awaiter* waiting_ = nullptr;
};

} // namespace detail

/// The tasks of `as_completed`, handed out as they finish by `co_await next()`.
/// Thread safety: loop thread only. One task at a time may await next().
template <class T>
class completion_queue {
public:
    explicit completion_queue(std::vector<task_handle<T>> handles)
        : handles_(std::move(handles)), tracker_(detail::states_of(handles_)) {}

    class next_awaiter final : public detail::completion_tracker::next_awaiter {
    public:
        next_awaiter(detail::completion_tracker& tracker,
                     const std::vector<task_handle<T>>& handles)
            : detail::completion_tracker::next_awaiter(tracker), handles_(&handles) {}

        std::optional<task_handle<T>> await_resume() {
            std::optional<std::size_t> i = next_index();
            if (!i)
                return std::nullopt;
            return (*handles_)[*i];
        }

    private:
        const std::vector<task_handle<T>>* handles_;
    };

    /// Waits for the next task to finish and returns its handle (already done: its
    /// `result()` is ready); std::nullopt once every task has been handed out. Tasks done
    /// before the queue was made come first, in the order given.
    /// Cancellation: the waiting task gets `cancelled_error`; no task is lost: the next call
    /// hands out the one it would have had.
    /// Throws: `invalid_state_error` when another task is already awaiting next().
    [[nodiscard]] next_awaiter next() { return next_awaiter(tracker_, handles_); }

private:
    std::vector<task_handle<T>> handles_;
    detail::completion_tracker tracker_;
};

namespace detail {
template <class T>
completion_queue<T> make_completion_queue(std::vector<task_handle<T>> handles) {
    return completion_queue<T>(std::move(handles));
}
} // namespace detail

/// A completion_queue of `handles`: `while (auto h = co_await done.next()) use(h->result());`.
/// asyncio: `asyncio.as_completed(tasks)`; unlike asyncio it hands out the tasks themselves.
/// Throws: `invalid_state_error` for an empty handle; `no_running_loop` outside a loop.
template <std::ranges::input_range R>
requires detail::is_task_handle_v<detail::handle_range_value_t<R>>
[[nodiscard]] auto as_completed(R&& handles) {
    return detail::make_completion_queue(detail::collect_handles(std::forward<R>(handles)));
}

} // namespace corio
