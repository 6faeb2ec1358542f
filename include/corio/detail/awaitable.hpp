// SPDX-License-Identifier: MIT
// corio/detail/awaitable.hpp: the awaitable concept and await_result_t, what co_await on a
// value of a type gives, found the way the compiler finds it.
// Layer L2.
#pragma once

#include <coroutine>
#include <type_traits>
#include <utility>

namespace corio::detail {

template <class A>
decltype(auto) get_awaiter(A&& a) {
    if constexpr (requires { std::forward<A>(a).operator co_await(); })
        return std::forward<A>(a).operator co_await();
    else if constexpr (requires { operator co_await(std::forward<A>(a)); })
        return operator co_await(std::forward<A>(a));
    else
        return std::forward<A>(a);
}

template <class W>
concept awaiter = requires(W w, std::coroutine_handle<> h) {
    { w.await_ready() } -> std::convertible_to<bool>;
    w.await_suspend(h);
    w.await_resume();
};

/// Something a corio task can co_await as an rvalue.
template <class A>
concept awaitable = requires(A&& a) {
    { get_awaiter(std::forward<A>(a)) } -> awaiter;
};

/// The type `co_await std::declval<A>()` has.
template <awaitable A>
using await_result_t = decltype(get_awaiter(std::declval<A>()).await_resume());

} // namespace corio::detail
