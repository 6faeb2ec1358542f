// SPDX-License-Identifier: MIT
// corio/fmt.hpp: fmt::formatter for tasks and task handles, so they print as Python prints a
// coroutine object or a Task. The only corio header that needs fmt.
// Layer L7.
#pragma once

#include <corio/task.hpp>
#include <corio/task_handle.hpp>

#include <fmt/format.h>
#include <string_view>

namespace corio::detail {

template <class T>
std::string_view describe(const task<T>& t) noexcept {
    if (!t.valid())
        return "empty";
    if (t.done())
        return "done";
    return t.handle().promise().started() ? "running" : "not started";
}

template <class T>
std::string_view describe(const task_handle<T>& h) {
    if (!h)
        return "empty";
    if (!h.done())
        return "pending";
    return h.cancelled() ? "cancelled" : "done";
}

} // namespace corio::detail

/// `<corio::task at 0x55d0c3a4e2b0: not started>`, like Python's `<coroutine object foo at …>`.
template <class T>
struct fmt::formatter<corio::task<T>> : fmt::formatter<std::string_view> {
    template <class Context>
    auto format(const corio::task<T>& t, Context& ctx) const {
        return fmt::format_to(ctx.out(),
                              "<corio::task at {}: {}>",
                              fmt::ptr(t.handle().address()),
                              corio::detail::describe(t));
    }
};

/// `<task 'Task-3' pending|done|cancelled>`, like Python's `<Task pending name='Task-3'>`.
template <class T>
struct fmt::formatter<corio::task_handle<T>> : fmt::formatter<std::string_view> {
    template <class Context>
    auto format(const corio::task_handle<T>& h, Context& ctx) const {
        if (!h)
            return fmt::format_to(ctx.out(), "<task empty>");
        return fmt::format_to(ctx.out(), "<task '{}' {}>", h.name(), corio::detail::describe(h));
    }
};
