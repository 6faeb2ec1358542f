// SPDX-License-Identifier: MIT
// corio/detail/task_registry.hpp: task_registry, the loop's list of live tasks and of failed
// ones whose exception nobody retrieved yet, and the report of those failures.
// Layer L4.
#pragma once

#include <corio/exception_context.hpp>
#include <corio/task_handle.hpp>

#include <corio/detail/intrusive_list.hpp>
#include <corio/detail/task_state.hpp>

#include <utility>

namespace corio::detail {

/// Where the registry reports a failure nobody retrieved: the loop's exception handler.
class exception_reporter {
public:
    virtual void call_exception_handler(const exception_context& context) noexcept = 0;

protected:
    ~exception_reporter() = default;
};

/// Holds one reference to each task from its spawn until it finishes. A failure nobody
/// retrieved then waits in a second list until a handle retrieves it, or the last handle
/// goes (report_unretrieved), or the loop closes: then it is reported.
class task_registry final : private unretrieved_sink {
public:
    explicit task_registry(exception_reporter& reporter) noexcept : reporter_(&reporter) {}
    task_registry(const task_registry&) = delete;
    task_registry& operator=(const task_registry&) = delete;

    void add(task_state& task) noexcept {
        task.add_ref();
        live_.push_back(task);
    }

    /// The task finished: out of the live list, into the unretrieved one if it failed.
    void retire(task_state& task) noexcept {
        task.unlink();
        if (task.failed_unretrieved()) {
            task.set_sink(*this);
            unretrieved_.push_back(task);
        }
        task.release();
    }

    [[nodiscard]] bool empty() const noexcept { return live_.empty(); }

    template <class F>
    void for_each(F&& f) const {
        live_.for_each(std::forward<F>(f));
    }
    template <class F>
    void for_each(F&& f) {
        live_.for_each(std::forward<F>(f));
    }

    /// Cancels every live task.
    void cancel_all() {
        live_.for_each([](task_state& t) { t.cancel({}); });
    }

    /// The loop is closing: every live task's frame is destroyed unrun, every failure not
    /// retrieved yet is reported.
    void close() noexcept {
        while (task_state* t = live_.pop_front()) {
            t->abandon();
            t->release();
        }
        while (task_state* t = unretrieved_.pop_front())
            report(*t);
    }

private:
    void report_unretrieved(task_state& task) noexcept override {
        task.unlink();
        report(task);
    }

    void report(task_state& task) noexcept {
        // The context's handle may hold the last reference: the state goes with it.
        reporter_->call_exception_handler({"Task exception was never retrieved",
                                           task.exception(),
                                           task_handle<>(task_ref(&task))});
    }

    exception_reporter* reporter_;
    intrusive_list<task_state> live_;
    intrusive_list<task_state> unretrieved_;
};

} // namespace corio::detail
