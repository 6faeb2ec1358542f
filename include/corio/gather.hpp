// SPDX-License-Identifier: MIT
// corio/gather.hpp: gather, which runs tasks and other awaitables concurrently and collects
// their results (or, with return_exceptions, their outcomes).
// Layer L5.
#pragma once

#include <corio/outcome.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>
#include <corio/task_handle.hpp>

#include <corio/detail/awaitable.hpp>
#include <corio/detail/join_awaiter.hpp>
#include <corio/detail/task_state.hpp>

#include <array>
#include <exception>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace corio {

/// The tag of gather's outcome-collecting form: `gather(return_exceptions, aws...)`.
struct return_exceptions_t {
    explicit return_exceptions_t() = default;
};
inline constexpr return_exceptions_t return_exceptions{};

namespace detail {

template <class A>
struct gather_item {
    using result = std::remove_cvref_t<await_result_t<A>>;
};
template <class T>
struct gather_item<task<T>> {
    using result = T;
};
template <class T>
struct gather_item<task_handle<T>> {
    using result = T;
};

/// A task, a task handle, or any other awaitable that can be moved into a task of its own.
template <class A>
concept gatherable = awaitable<A> && std::move_constructible<A>;

template <class A>
using gather_result_t = typename gather_item<A>::result;

// A tuple cannot hold void: a void child fills its slot with std::monostate. With
// return_exceptions every slot is an outcome.
template <bool Outcomes, class T>
using gather_slot_t = std::
    conditional_t<Outcomes, outcome<T>, std::conditional_t<std::is_void_v<T>, std::monostate, T>>;

template <class R, class A>
task<R> await_in_task(A awaitable) {
    co_return co_await std::move(awaitable);
}

// Checked before anything is spawned: a bad argument must not leave earlier children running.
template <class A>
void check_child(const A& child) {
    if constexpr (std::is_same_v<A, task<gather_result_t<A>>>)
        check_unstarted(child, "gather");
    else if constexpr (std::is_same_v<A, task_handle<gather_result_t<A>>>)
        (void)child.state(); // throws invalid_state_error for an empty handle
}

template <class A, class T = gather_result_t<A>>
task_handle<T> as_handle(A&& child) {
    if constexpr (std::is_same_v<A, task_handle<T>>)
        return std::move(child);
    else if constexpr (std::is_same_v<A, task<T>>)
        return spawn(std::move(child));
    else
        return spawn(await_in_task<T>(std::move(child)));
}

template <bool Outcomes, class T>
gather_slot_t<Outcomes, T> take_slot(const task_handle<T>& handle) {
    if constexpr (Outcomes) {
        if (std::exception_ptr error = handle.state().retrieve())
            return outcome<T>::failure(error);
    }
    if constexpr (std::is_void_v<T>) {
        handle.result();
        return {};
    } else {
        return gather_slot_t<Outcomes, T>(handle.result());
    }
}

template <class... T>
std::array<task_state*, sizeof...(T)> states_of(const std::tuple<task_handle<T>...>& handles) {
    return std::apply(
        [](auto&... h) { return std::array<task_state*, sizeof...(T)>{&h.state()...}; }, handles);
}

// Spawns every item that is not a handle yet.
template <class A, class T = gather_result_t<A>>
std::vector<task_handle<T>> handles_of(std::vector<A> items) {
    std::vector<task_handle<T>> handles;
    handles.reserve(items.size());
    for (A& item : items)
        handles.push_back(as_handle(std::move(item)));
    return handles;
}

template <bool Outcomes, class... A>
task<std::tuple<gather_slot_t<Outcomes, gather_result_t<A>>...>> gather_each(A... children) {
    std::tuple handles{as_handle(std::move(children))...};
    auto states = states_of(handles);
    join_awaiter join(states, Outcomes ? join_mode::all : join_mode::fail_fast);
    if (std::exception_ptr error = co_await join)
        std::rethrow_exception(error);
    co_return std::apply(
        [](auto&... h) {
            return std::tuple<gather_slot_t<Outcomes, gather_result_t<A>>...>(
                take_slot<Outcomes>(h)...);
        },
        handles);
}

template <bool Outcomes, class T>
using gather_all_result_t = std::
    conditional_t<std::is_void_v<T> && !Outcomes, void, std::vector<gather_slot_t<Outcomes, T>>>;

template <bool Outcomes, class A, class T = gather_result_t<A>>
task<gather_all_result_t<Outcomes, T>> gather_all(std::vector<A> items) {
    std::vector<task_handle<T>> handles = handles_of(std::move(items));
    join_awaiter join(handles, Outcomes ? join_mode::all : join_mode::fail_fast);
    if (std::exception_ptr error = co_await join)
        std::rethrow_exception(error);
    if constexpr (!std::is_void_v<gather_all_result_t<Outcomes, T>>) {
        gather_all_result_t<Outcomes, T> results;
        results.reserve(handles.size());
        for (auto& h : handles)
            results.push_back(take_slot<Outcomes>(h));
        co_return results;
    }
}

template <class R>
using range_item_t = std::ranges::range_value_t<std::remove_cvref_t<R>>;

// An rvalue container (a vector of tasks) is moved out of; anything else, an lvalue or a
// view that borrows the caller's elements (a span, views::take), is copied, which only
// handles allow.
template <class R>
std::vector<range_item_t<R>> collect(R&& range) {
    constexpr bool owned = std::is_rvalue_reference_v<R&&> && !std::ranges::borrowed_range<R>;
    std::vector<range_item_t<R>> items;
    if constexpr (owned && std::is_same_v<std::remove_cvref_t<R>, decltype(items)>) {
        items = std::move(range); // a vector given away is taken whole, not copied
    } else {
        for (auto&& child : range) {
            if constexpr (owned)
                items.push_back(std::move(child));
            else
                items.push_back(child);
        }
    }
    for (const auto& child : items)
        check_child(child);
    return items;
}

} // namespace detail

/// Runs every argument concurrently and returns their results in argument order,
/// `std::monostate` for a void one. An argument is a task, a task handle, or any other
/// awaitable that can be moved (it is awaited in a task of its own). Nothing runs until the
/// result is awaited; tasks are then spawned on the running loop.
/// asyncio: `asyncio.gather(*aws)`.
/// Differences (structured, where asyncio leaves children running): the first exception
/// cancels every other child, gather waits for all of them to finish, then rethrows it.
/// Cancellation: cancelling the awaiting task cancels every child; gather still waits for all
/// of them, then throws `cancelled_error`.
template <class... A>
requires(detail::gatherable<A>&&...) [[nodiscard]] auto gather(A... children) {
    (detail::check_child(children), ...);
    return detail::gather_each<false>(std::move(children)...);
}

/// gather that never fails because of a child: each slot is an `outcome<R>` holding the
/// child's value or its exception (a child cancelled by someone else holds
/// `cancelled_error`), and no child is cancelled because another failed.
/// asyncio: `asyncio.gather(*aws, return_exceptions=True)`.
/// Cancellation: as gather: every child is cancelled and awaited, then `cancelled_error`.
template <class... A>
requires(detail::gatherable<A>&&...) [[nodiscard]] auto gather(return_exceptions_t, A... children) {
    (detail::check_child(children), ...);
    return detail::gather_each<true>(std::move(children)...);
}

/// gather over a range: a `std::vector` of results in range order, or void for void
/// children. A range of tasks must be passed as an rvalue (the tasks are moved out); a range
/// of handles may be an lvalue. Same failure and cancellation rules.
template <std::ranges::input_range R>
requires detail::gatherable<detail::range_item_t<R>>
[[nodiscard]] auto gather(R&& range) {
    return detail::gather_all<false>(detail::collect(std::forward<R>(range)));
}

/// gather(return_exceptions, ...) over a range: a `std::vector<outcome<R>>` in range order
/// (`outcome<void>` for void children).
template <std::ranges::input_range R>
requires detail::gatherable<detail::range_item_t<R>>
[[nodiscard]] auto gather(return_exceptions_t, R&& range) {
    return detail::gather_all<true>(detail::collect(std::forward<R>(range)));
}

} // namespace corio
