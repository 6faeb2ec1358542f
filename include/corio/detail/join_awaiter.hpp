// SPDX-License-Identifier: MIT
// corio/detail/join_awaiter.hpp: join_awaiter, which waits for a set of tasks the structured
// way: the first failure (or, for race, the first to finish) cancels the others, and it
// resumes only once all of them are done.
// Layer L5. gather and race are built on it.
#pragma once

#include <corio/errors.hpp>

#include <corio/detail/loop_core.hpp>
#include <corio/detail/loop_waiter.hpp>
#include <corio/detail/task_state.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <memory>
#include <ostream>
#include <ranges>
#include <span>
#include <string_view>

namespace corio::detail {

enum class join_mode {
    all,        // wait for every child; their failures are left for the caller to collect
    fail_fast,  // the first child to fail cancels the others; its exception is the result
    first_done, // the first child to finish, however it ends, cancels the others: winner()
};

// The children are looked up where the caller keeps them (beside the awaiter, in the same
// coroutine frame, for as long as it lives), not copied, and the awaiter waits in each
// child's join slot: a gather of a million tasks needs no memory of its own per child. Only
// a child whose slot another join holds gets a listener.
class join_awaiter final : public loop_waiter, private join_listener {
public:
    join_awaiter(std::span<task_state* const> children, join_mode mode)
        : join_awaiter(children.data(), children.size(), mode) {
        child_at_ = [](const void* children, std::size_t i) noexcept -> task_state& {
            return *static_cast<task_state* const*>(children)[i];
        };
    }

    /// The children as task handles, so that a gather of many needs no array of states.
    template <std::ranges::random_access_range Handles>
    requires std::ranges::sized_range<Handles> &&
        requires(std::ranges::range_reference_t<const Handles> h) {
        h.state();
    }
    join_awaiter(const Handles& handles, join_mode mode)
        : join_awaiter(&handles, std::ranges::size(handles), mode) {
        child_at_ = [](const void* children, std::size_t i) noexcept -> task_state& {
            return std::ranges::begin(*static_cast<const Handles*>(children))[i].state();
        };
    }

    bool await_ready() {
        for (std::size_t i = 0; i < count_; ++i) {
            if (child(i).done())
                note_outcome(child(i), i);
            else
                ++pending_;
        }
        return pending_ == 0;
    }

    void await_suspend(std::coroutine_handle<> frame) {
        bind(frame);
        for (std::size_t i = 0; i < count_; ++i)
            if (!child(i).done() && !child(i).set_joiner(*this))
                add_listener(i);
        wait();
    }

    join_awaiter(const join_awaiter&) = delete;
    join_awaiter& operator=(const join_awaiter&) = delete;
    // Ends before its children only when its frame is destroyed unfinished (a closing loop
    // abandons it): no child may call it then.
    ~join_awaiter() {
        if (pending_ > 0)
            for (std::size_t i = 0; i < count_; ++i)
                child(i).clear_joiner(*this);
    }

    /// The first failure (a child's exception when failing fast, or cancelled_error when the
    /// awaiting task was cancelled first), or null.
    std::exception_ptr await_resume() {
        resumed();
        return first_error_;
    }

    /// In first_done mode, the index of the child that finished first.
    [[nodiscard]] std::size_t winner() const noexcept { return winner_; }

    void describe(std::ostream& out) const override {
        out << (mode_ == join_mode::first_done ? "race of " : "gather of ") << count_ << " tasks, "
            << pending_ << " pending:";
        for (std::size_t i = 0; i < count_; ++i)
            if (!child(i).done())
                out << " '" << child(i).name() << "'";
    }

private:
    // Cancels every child, then still waits for all of them. Children already cancelled (by
    // a race's winner, or by the first failure when failing fast) are left alone: a second
    // request would cut their clean-up short.
    cancel_answer stop() noexcept override {
        if (pending_ == 0)
            return cancel_answer::too_late; // every result is in: deliver them
        const bool children_cancelled = winner_ != no_winner || first_error_;
        if (!first_error_)
            first_error_ = std::make_exception_ptr(cancelled_error(owner().cancel_message()));
        if (!children_cancelled)
            cancel_children(owner().cancel_message());
        return cancel_answer::pending;
    }

    join_awaiter(const void* children, std::size_t count, join_mode mode)
        : loop_waiter(running_core()), children_(children), count_(count), mode_(mode) {}

    // The i-th listener, if there is one, waits for the i-th child.
    struct listener final : done_listener {
        join_awaiter* self = nullptr;

        void task_done(task_state& task) noexcept override {
            self->child_done(task, static_cast<std::size_t>(this - self->listeners_.get()));
        }
    };

    void add_listener(std::size_t i) {
        if (!listeners_) {
            listeners_ = std::make_unique<listener[]>(count_);
            for (std::size_t j = 0; j < count_; ++j)
                listeners_[j].self = this;
        }
        child(i).add_listener(listeners_[i]);
    }

    // From a child's join slot, which does not say which child it is.
    void task_done(task_state& task) noexcept override { child_done(task, unknown_index); }

    [[nodiscard]] task_state& child(std::size_t i) const noexcept {
        return child_at_(children_, i);
    }

    void child_done(task_state& child, std::size_t i) noexcept {
        note_outcome(child, i);
        if (--pending_ == 0)
            resume_later();
    }

    // Every child's exception counts as retrieved: the first is rethrown, the others are the
    // fallout of the cancellation it caused (asyncio's gather looks at each too).
    void note_outcome(task_state& child, std::size_t i) noexcept {
        const bool failed = child.retrieve() != nullptr;
        if (mode_ == join_mode::first_done && winner_ == no_winner) {
            winner_ = i != unknown_index ? i : index_of(child);
            if (!first_error_)       // else the awaiter's cancellation already cancelled them all:
                cancel_children({}); // a second request would cut their clean-up short
        } else if (mode_ == join_mode::fail_fast && failed && !first_error_) {
            first_error_ = child.exception();
            cancel_children({});
        }
    }

    [[nodiscard]] std::size_t index_of(const task_state& task) const noexcept {
        std::size_t i = 0;
        while (&child(i) != &task)
            ++i;
        return i;
    }

    void cancel_children(std::string_view message) noexcept {
        for (std::size_t i = 0; i < count_; ++i)
            child(i).cancel(message);
    }

    std::unique_ptr<listener[]> listeners_; // made for the first child whose slot is taken
    static constexpr std::size_t no_winner = static_cast<std::size_t>(-1);
    static constexpr std::size_t unknown_index = static_cast<std::size_t>(-1);

    const void* children_;
    task_state& (*child_at_)(const void* children, std::size_t i) noexcept = nullptr;
    std::size_t count_;
    join_mode mode_;
    std::size_t winner_ = no_winner;
    std::size_t pending_ = 0;
    std::exception_ptr first_error_;
};

} // namespace corio::detail
