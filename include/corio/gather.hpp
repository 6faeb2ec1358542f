// SPDX-License-Identifier: MIT
// corio/gather.hpp: gather, which runs tasks concurrently and collects their results.
// Layer L5.
#pragma once

#include <corio/spawn.hpp>
#include <corio/task.hpp>
#include <corio/task_handle.hpp>

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
namespace detail {

template <class A>
struct gather_item : std::false_type {};
template <class T>
struct gather_item<task<T>> : std::true_type {
    using result = T;
};
template <class T>
struct gather_item<task_handle<T>> : std::true_type {
    using result = T;
};

template <class A>
concept gatherable = gather_item<A>::value;

template <class A>
using gather_result_t = typename gather_item<A>::result;

// A tuple cannot hold void: a void child fills its slot with std::monostate.
template <class T>
using gather_slot_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
task_handle<T> as_handle(task<T>&& body) {
    return spawn(std::move(body));
}
template <class T>
task_handle<T> as_handle(task_handle<T>&& handle) {
    return std::move(handle);
}

template <class T>
gather_slot_t<T> take_slot(const task_handle<T>& handle) {
    if constexpr (std::is_void_v<T>) {
        handle.result();
        return {};
    } else {
        return handle.result();
    }
}

template <class... A>
task<std::tuple<gather_slot_t<gather_result_t<A>>...>> gather_each(A... children) {
    std::tuple handles{as_handle(std::move(children))...};
    auto states = std::apply(
        [](auto&... h) { return std::array<task_state_base*, sizeof...(A)>{&h.state()...}; },
        handles);
    join_awaiter join(states);
    if (std::exception_ptr error = co_await join)
        std::rethrow_exception(error);
    co_return std::apply(
        [](auto&... h) {
            return std::tuple<gather_slot_t<gather_result_t<A>>...>(take_slot(h)...);
        },
        handles);
}

template <class A, class T = gather_result_t<A>>
task<std::conditional_t<std::is_void_v<T>, void, std::vector<T>>> gather_all(std::vector<A> items) {
    std::vector<task_handle<T>> handles;
    handles.reserve(items.size());
    for (A& item : items)
        handles.push_back(as_handle(std::move(item)));
    std::vector<task_state_base*> states;
    states.reserve(handles.size());
    for (auto& h : handles)
        states.push_back(&h.state());
    join_awaiter join(states);
    if (std::exception_ptr error = co_await join)
        std::rethrow_exception(error);
    if constexpr (!std::is_void_v<T>) {
        std::vector<T> results;
        results.reserve(handles.size());
        for (auto& h : handles)
            results.push_back(h.result());
        co_return results;
    }
}

} // namespace detail

/// Runs every argument (tasks and task handles) concurrently and returns their results in
/// argument order, `std::monostate` for a void one. Nothing runs until the result is awaited;
/// tasks are then spawned on the running loop. asyncio: `asyncio.gather(*aws)`.
/// Differences (structured, where asyncio leaves children running): the first exception
/// cancels every other child, gather waits for all of them to finish, then rethrows it.
/// Cancellation: cancelling the awaiting task cancels every child; gather still waits for all
/// of them, then throws `cancelled_error`.
template <class... A>
requires(detail::gatherable<A>&&...) [[nodiscard]] auto gather(A... children) {
    return detail::gather_each(std::move(children)...);
}

/// gather over a range of tasks or handles: a `std::vector` of results in range order, or
/// void for void tasks. A range of tasks must be passed as an rvalue (the tasks are moved
/// out); a range of handles may be an lvalue. Same failure and cancellation rules.
template <std::ranges::input_range R>
requires detail::gatherable<std::ranges::range_value_t<std::remove_cvref_t<R>>>
[[nodiscard]] auto gather(R&& range) {
    using item = std::ranges::range_value_t<std::remove_cvref_t<R>>;
    std::vector<item> items;
    for (auto&& child : range) {
        if constexpr (std::is_lvalue_reference_v<R>)
            items.push_back(child);
        else
            items.push_back(std::move(child));
    }
    return detail::gather_all(std::move(items));
}

} // namespace corio
