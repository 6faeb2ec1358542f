// SPDX-License-Identifier: MIT
// corio/task_group.hpp: task_group, a scope that owns the tasks spawned into it and does not
// end before all of them have (asyncio.TaskGroup).
// Layer L5.
#pragma once

#include <corio/errors.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>
#include <corio/task_handle.hpp>

#include <corio/detail/loop_core.hpp>
#include <corio/detail/loop_waiter.hpp>
#include <corio/detail/ready.hpp>
#include <corio/detail/task_state.hpp>

#include <algorithm>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iterator>
#include <list>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace corio {

/// A scope for child tasks, entered with `with`:
///
///     co_await with(task_group{}, [&](task_group& tg) -> task<> {
///         tg.spawn(fetch("a"));
///         tg.spawn(fetch("b"));
///     });
///
/// Leaving the scope waits for every child. The first child to fail with anything but
/// `cancelled_error` cancels the other children and the body; once all are done the scope
/// throws `exception_group` with every such exception, the body's last. A child cancelled by
/// someone else does not fail the group. `keyboard_interrupt` (from the body or a child) is
/// never grouped: it aborts the group like a failure and the scope rethrows it as it is. The
/// task that entered the group is left with no cancellation request of the group's own making.
/// asyncio: `asyncio.TaskGroup`, with the same rules.
/// Cancellation: cancelling the task in the scope cancels every child; the scope waits for
/// them, then throws `cancelled_error`. If a child failed, it throws `exception_group` and the
/// outside request is armed again, so the task's next suspension throws `cancelled_error`
/// (and a task that returns without one ends cancelled), as asyncio does.
/// A group cannot outlive its children: it is only ever entered through `with`, whose aexit
/// waits for them, and destroying one that still has children aborts the program with a
/// message instead of leaving them running against a dead frame.
/// Thread safety: loop thread only.
class task_group {
public:
    task_group() noexcept = default;
    /// Only a group that was not entered can move (with moves a temporary into its frame).
    /// Throws: `invalid_state_error` for a group that was entered.
    task_group(task_group&& other) {
        if (other.parent_ != nullptr)
            throw invalid_state_error("corio: a task_group cannot move once entered");
    }
    task_group& operator=(task_group&&) = delete;

    ~task_group() {
        // A closing loop drops every frame: the children will not run again. A closed one
        // has dropped them all (and must not be asked: a group declared outside the loop can
        // outlive it).
        if (children_.empty() || abandoned() || loop_->closing())
            return;
        std::fprintf(stderr,
                     "corio: task_group destroyed with %zu running children; enter it with "
                     "corio::with so that its exit waits for them\n",
                     children_.size());
        std::abort();
    }

    /// Schedules `body` as a child of the group and returns its handle.
    /// Throws: `invalid_state_error` before the group is entered, while it shuts down after a
    /// failure, and after it has finished; `no_running_loop` outside a running loop.
    template <class T>
    task_handle<T> spawn(task<T> body, std::string name = {}) {
        check_open();
        children_.emplace_back(*this); // first: if it throws, nothing was spawned
        try {
            task_handle<T> handle = corio::spawn(std::move(body), std::move(name));
            adopt(std::prev(children_.end()), handle.state());
            return handle;
        } catch (...) {
            children_.pop_back();
            throw;
        }
    }

    /// Schedules `fn(args...)` as a child, keeping the callable and the arguments alive in the
    /// child's frame as corio::spawn(fn, args...) does.
    template <class F, class... Args>
    requires detail::task_factory<std::decay_t<F>, std::decay_t<Args>...>
    auto spawn(F&& fn, Args&&... args) {
        return spawn(detail::invoke_in_frame<std::decay_t<F>, std::decay_t<Args>...>(
            std::forward<F>(fn), std::forward<Args>(args)...));
    }

    /// The number of children still running.
    [[nodiscard]] std::size_t size() const noexcept { return children_.size(); }

    /// Enters the group in the running task; yields the group itself.
    /// Throws: `invalid_state_error` when entered twice; `std::logic_error` outside a task.
    detail::ready<task_group&> aenter() {
        if (parent_ != nullptr)
            throw invalid_state_error("corio: task_group has already been entered");
        detail::scheduler& loop = detail::running_core();
        if (loop.current_task_state() == nullptr)
            throw std::logic_error("corio: task_group entered outside a task");
        loop_ = &loop;
        parent_ = loop.current_task_state();
        return detail::ready<task_group&>(*this);
    }

    class exit_awaiter;

    /// Waits for every child, then throws as the class comment says. `error` is the body's.
    exit_awaiter aexit(std::exception_ptr error);

private:
    struct child final : detail::done_listener {
        explicit child(task_group& g) noexcept : group(&g) {}
        void task_done(detail::task_state& task) noexcept override {
            group->child_done(task, self);
        }

        task_group* group;
        std::list<child>::iterator self;
        detail::task_ref task;
    };

    // True when the loop has dropped every child's frame.
    [[nodiscard]] bool abandoned() const noexcept {
        return std::all_of(
            children_.begin(), children_.end(), [](const child& c) { return !c.task->frame(); });
    }

    void check_open() const {
        if (parent_ == nullptr)
            throw invalid_state_error("corio: task_group has not been entered");
        if (aborting_)
            throw invalid_state_error("corio: task_group is shutting down after a failure");
        if (exiting_ && children_.empty())
            throw invalid_state_error("corio: task_group is finished");
    }

    void adopt(std::list<child>::iterator node, detail::task_state& task) noexcept {
        node->self = node;
        node->task = detail::task_ref(&task);
        task.add_listener(*node);
    }

    void child_done(detail::task_state& task, std::list<child>::iterator node) noexcept;

    void abort() noexcept {
        aborting_ = true;
        for (child& c : children_)
            c.task->cancel({});
    }

    void finish();

    std::list<child> children_;
    std::vector<std::exception_ptr> errors_;
    std::exception_ptr body_error_;
    std::exception_ptr propagate_; // a cancellation from outside, to rethrow at the end
    std::exception_ptr interrupt_; // the first keyboard_interrupt, rethrown ungrouped
    detail::scheduler* loop_ = nullptr;
    detail::task_state* parent_ = nullptr;
    exit_awaiter* waiting_ = nullptr;
    bool exiting_ = false;
    bool aborting_ = false;
    bool parent_cancel_requested_ = false;
};

/// What aexit returns: waits for the children. A cancellation of the waiting task is taken
/// in (it cancels the children) and rethrown once they are done, so aexit never ends early.
class task_group::exit_awaiter final : public detail::loop_waiter {
public:
    explicit exit_awaiter(task_group& group) noexcept : loop_waiter(*group.loop_), group_(&group) {}
    exit_awaiter(exit_awaiter&&) noexcept = default; // before it is awaited only

    bool await_ready() const noexcept { return group_->children_.empty(); }

    void await_suspend(std::coroutine_handle<> frame) {
        bind(frame);
        group_->waiting_ = this;
        wait();
    }

    void await_resume() {
        resumed();
        group_->finish();
    }

    void children_done() noexcept { resume_later(); }

    void describe(std::ostream& out) const override {
        out << "task_group exit, " << group_->children_.size() << " children running:";
        for (const child& c : group_->children_)
            out << " '" << c.task->name() << "'";
    }

private:
    // Takes the cancellation in and waits for the children it cancels. A group aborting
    // already (a child failed, or the body threw) keeps its reason, as asyncio's does.
    detail::cancel_answer stop() noexcept override {
        if (group_->children_.empty())
            return detail::cancel_answer::too_late; // the resume is queued
        if (!group_->aborting_) {
            group_->propagate_ = std::make_exception_ptr(cancelled_error(owner().cancel_message()));
            group_->abort();
        }
        return detail::cancel_answer::pending;
    }

    task_group* group_;
};

inline task_group::exit_awaiter task_group::aexit(std::exception_ptr error) {
    if (parent_ == nullptr)
        throw invalid_state_error("corio: task_group exited without being entered");
    exiting_ = true;
    body_error_ = std::move(error);
    if (detail::holds<keyboard_interrupt>(body_error_) && !interrupt_)
        interrupt_ = body_error_;
    if (detail::is_cancellation(body_error_))
        propagate_ = body_error_;
    if (body_error_ && !aborting_)
        abort();
    return exit_awaiter(*this);
}

inline void task_group::child_done(detail::task_state& task,
                                   std::list<child>::iterator node) noexcept {
    if (task.exception() && !task.cancelled()) {
        const std::exception_ptr& e = task.retrieve();
        if (!detail::holds<keyboard_interrupt>(e))
            errors_.push_back(e);
        else if (!interrupt_)
            interrupt_ = e;
        if (!aborting_ && !parent_cancel_requested_) {
            abort();
            parent_cancel_requested_ = true;
            parent_->cancel({});
        }
    }
    children_.erase(node); // the loop still holds the task: this is not its last reference
    if (children_.empty() && waiting_ != nullptr)
        std::exchange(waiting_, nullptr)->children_done();
}

inline void task_group::finish() {
    waiting_ = nullptr;
    if (parent_cancel_requested_ && parent_->uncancel() == 0)
        propagate_ = nullptr; // the only request was the group's own
    if (interrupt_)
        std::rethrow_exception(interrupt_);
    if (propagate_ && errors_.empty())
        std::rethrow_exception(propagate_);
    // A body that awaited a failed child's handle rethrows that child's exception, which is
    // in errors_ already: it is one failure, reported once.
    if (body_error_ && !detail::is_cancellation(body_error_) &&
        std::find(errors_.begin(), errors_.end(), body_error_) == errors_.end())
        errors_.push_back(body_error_);
    if (errors_.empty())
        return;
    // The group took in a cancellation from outside and is about to report failures instead:
    // arm it again (the count stays the same) so the task still ends up cancelled.
    if (parent_->cancelling() > 0) {
        std::string message = parent_->cancel_message();
        parent_->uncancel();
        parent_->cancel(message);
    }
    std::string message = "corio: " + std::to_string(errors_.size()) +
                          (errors_.size() == 1 ? " exception" : " exceptions") +
                          " in a task_group; the first: " + detail::describe(errors_.front());
    throw exception_group(std::move(message), std::move(errors_));
}

} // namespace corio
