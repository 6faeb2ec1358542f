// SPDX-License-Identifier: MIT
// corio/race.hpp: race, which runs awaitables concurrently until the first one finishes and
// cancels the rest.
// Layer L5.
#pragma once

#include <corio/gather.hpp>
#include <corio/task.hpp>
#include <corio/task_handle.hpp>

#include <corio/detail/join_awaiter.hpp>

#include <array>
#include <cstddef>
#include <exception>
#include <ranges>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

namespace corio {
namespace detail {

template <class... A>
using race_variant_t = std::variant<gather_slot_t<false, gather_result_t<A>>...>;

template <class Variant, std::size_t I, class Handles>
Variant take_alternative(Handles& handles) {
    return Variant(std::in_place_index<I>, take_slot<false>(std::get<I>(handles)));
}

// The winner's index is only known at run time: one taker per alternative, picked by index.
template <class Variant, class Handles, std::size_t... I>
Variant take_winner(Handles& handles, std::size_t winner, std::index_sequence<I...>) {
    constexpr std::array<Variant (*)(Handles&), sizeof...(I)> takers{
        &take_alternative<Variant, I, Handles>...};
    return takers[winner](handles);
}

template <class... A>
task<race_variant_t<A...>> race_each(A... children) {
    std::tuple handles{as_handle(std::move(children))...};
    auto states = states_of(handles);
    join_awaiter join(states, join_mode::first_done);
    if (std::exception_ptr error = co_await join)
        std::rethrow_exception(error);
    co_return take_winner<race_variant_t<A...>>(
        handles, join.winner(), std::index_sequence_for<A...>{});
}

template <class A, class T = gather_result_t<A>>
task<std::pair<std::size_t, gather_slot_t<false, T>>> race_all(std::vector<A> items) {
    std::vector<task_handle<T>> handles = handles_of(std::move(items));
    join_awaiter join(handles, join_mode::first_done);
    if (std::exception_ptr error = co_await join)
        std::rethrow_exception(error);
    co_return std::pair<std::size_t, gather_slot_t<false, T>>(
        join.winner(), take_slot<false>(handles[join.winner()]));
}

} // namespace detail

/// Runs every argument concurrently until the first one finishes, however it ends; cancels
/// the others and waits for them, then returns the winner's result as the alternative of
/// the same index (`std::monostate` for void), or rethrows the winner's exception.
/// Arguments are what gather takes: tasks, task handles, movable awaitables.
/// Beyond asyncio (asyncio.wait with FIRST_COMPLETED leaves the others running).
/// Cancellation: cancelling the awaiting task cancels every child; race waits for all of
/// them, then throws `cancelled_error`.
template <class... A>
requires(sizeof...(A) > 0 && (detail::gatherable<A> && ...))
    [[nodiscard]] auto race(A... children) {
    (detail::check_child(children), ...);
    return detail::race_each(std::move(children)...);
}

/// race over a range: `(index, result)` of the winner. Same rules.
/// Throws: `std::invalid_argument` for an empty range.
template <std::ranges::input_range R>
requires detail::gatherable<detail::range_item_t<R>>
[[nodiscard]] auto race(R&& range) {
    auto items = detail::collect(std::forward<R>(range));
    if (items.empty())
        throw std::invalid_argument("corio: race of an empty range has no winner");
    return detail::race_all(std::move(items));
}

} // namespace corio
