// SPDX-License-Identifier: MIT
// corio/fmt.hpp: fmt::formatter for tasks, task handles, endpoints and corio's errors, so they
// print as Python prints a coroutine object, a Task or an exception. The only corio header that
// needs fmt.
// Layer L7.
#pragma once

#include <corio/errors.hpp>
#include <corio/net/endpoint.hpp>
#include <corio/task.hpp>
#include <corio/task_handle.hpp>

#include <fmt/format.h>
#include <string_view>
#include <type_traits>

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

// The name an error prints under, as Python prints an exception's class name.
template <class E>
inline constexpr std::string_view error_name = {};
template <>
inline constexpr std::string_view error_name<timeout_error> = "timeout_error";
template <>
inline constexpr std::string_view error_name<invalid_state_error> = "invalid_state_error";
template <>
inline constexpr std::string_view error_name<no_running_loop> = "no_running_loop";
template <>
inline constexpr std::string_view error_name<queue_full> = "queue_full";
template <>
inline constexpr std::string_view error_name<queue_empty> = "queue_empty";
template <>
inline constexpr std::string_view error_name<queue_shut_down> = "queue_shut_down";
template <>
inline constexpr std::string_view error_name<broken_barrier_error> = "broken_barrier_error";
template <>
inline constexpr std::string_view error_name<incomplete_read_error> = "incomplete_read_error";
template <>
inline constexpr std::string_view error_name<limit_overrun_error> = "limit_overrun_error";

template <class E>
concept named_error = !error_name<E>.empty();

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

/// `timeout_error: corio: operation timed out`, like Python's `TimeoutError: ...` line.
template <class E>
requires corio::detail::named_error<E>
struct fmt::formatter<E> : fmt::formatter<std::string_view> {
    template <class Context>
    auto format(const E& e, Context& ctx) const {
        return fmt::format_to(ctx.out(), "{}: {}", corio::detail::error_name<E>, e.what());
    }
};

/// `exception_group: 2 tasks failed (2 sub-exceptions)`, as Python prints an ExceptionGroup.
template <>
struct fmt::formatter<corio::exception_group> : fmt::formatter<std::string_view> {
    template <class Context>
    auto format(const corio::exception_group& e, Context& ctx) const {
        const std::size_t n = e.exceptions().size();
        return fmt::format_to(
            ctx.out(), "exception_group: {} ({} sub-exception{})", e.what(), n, n == 1 ? "" : "s");
    }
};

/// `cancelled_error` or `cancelled_error: <message>`.
template <>
struct fmt::formatter<corio::cancelled_error> : fmt::formatter<std::string_view> {
    template <class Context>
    auto format(const corio::cancelled_error& e, Context& ctx) const {
        if (e.message().empty())
            return fmt::format_to(ctx.out(), "cancelled_error");
        return fmt::format_to(ctx.out(), "cancelled_error: {}", e.message());
    }
};

/// `keyboard_interrupt`.
template <>
struct fmt::formatter<corio::keyboard_interrupt> : fmt::formatter<std::string_view> {
    template <class Context>
    auto format(const corio::keyboard_interrupt&, Context& ctx) const {
        return fmt::format_to(ctx.out(), "keyboard_interrupt");
    }
};

/// `127.0.0.1:8080`, `[::1]:8080` or a Unix path, as endpoint::to_string; width and alignment
/// apply (`{:>21}`).
template <>
struct fmt::formatter<corio::endpoint> : fmt::formatter<std::string_view> {
    template <class Context>
    auto format(const corio::endpoint& e, Context& ctx) const {
        return fmt::formatter<std::string_view>::format(e.to_string(), ctx);
    }
};
