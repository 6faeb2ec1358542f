// SPDX-License-Identifier: MIT
// corio/with.hpp: with(resource, body), the `async with` of C++, and the async_resource
// concept it is written against.
// Layer L5.
#pragma once

#include <corio/task.hpp>

#include <corio/detail/awaitable.hpp>

#include <concepts>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace corio {
namespace detail {

template <class R>
using enter_result_t = await_result_t<decltype(std::declval<R&>().aenter())>;

template <class R>
using exit_result_t =
    await_result_t<decltype(std::declval<R&>().aexit(std::declval<std::exception_ptr>()))>;

} // namespace detail

/// A type `with` can enter and exit: `aenter()` returns an awaitable (of the value the body
/// gets, or void) and `aexit(std::exception_ptr)` an awaitable of bool or void; aexit gets
/// the body's exception (or null) and a `true` result suppresses it.
/// asyncio: an object with `__aenter__` and `__aexit__`.
template <class R>
concept async_resource = requires(R& resource, std::exception_ptr error) {
    { resource.aenter() } -> detail::awaitable;
    { resource.aexit(error) } -> detail::awaitable;
}
&&(std::is_void_v<detail::exit_result_t<R>> || std::same_as<detail::exit_result_t<R>, bool>);

namespace detail {

// The entered value as the body sees it: an lvalue, or nothing when aenter yields void.
template <class R>
using entered_ref_t = std::add_lvalue_reference_t<std::remove_reference_t<enter_result_t<R>>>;

template <class B, class R>
struct body_call {
    using type = std::invoke_result_t<B&, entered_ref_t<R>>;
};
template <class B, class R>
requires std::is_void_v<enter_result_t<R>>
struct body_call<B, R> {
    using type = std::invoke_result_t<B&>;
};

// A body is called with the entered value (or nothing) and returns an awaitable.
template <class B, class R>
concept scope_body = ((std::is_void_v<enter_result_t<R>> && std::invocable<B&>) ||
                      (!std::is_void_v<enter_result_t<R>> &&
                       std::invocable<B&, entered_ref_t<R>>)) &&
                     awaitable<typename body_call<B, R>::type>;

template <class B, class R>
using body_result_t = std::remove_cvref_t<await_result_t<typename body_call<B, R>::type>>;

// What with returns: the body's result, made optional when aexit may suppress an exception.
template <class R, class T>
using with_result_t =
    std::conditional_t<std::is_same_v<exit_result_t<R>, bool> && !std::is_void_v<T>,
                       std::optional<T>,
                       T>;

// aenter's result, with void made std::monostate so that the scope below is written once.
// An rvalue reference is taken as a value: the awaiter it points into is gone after the
// co_await.
template <class A>
class entering {
public:
    explicit entering(A&& awaitable) : awaiter_(get_awaiter(std::forward<A>(awaitable))) {}

    bool await_ready() { return awaiter_.await_ready(); }
    template <class Promise>
    decltype(auto) await_suspend(std::coroutine_handle<Promise> frame) {
        return awaiter_.await_suspend(frame);
    }
    auto await_resume()
        -> std::conditional_t<std::is_void_v<await_result_t<A>>,
                              std::monostate,
                              std::conditional_t<std::is_rvalue_reference_v<await_result_t<A>>,
                                                 std::remove_reference_t<await_result_t<A>>,
                                                 await_result_t<A>>> {
        if constexpr (std::is_void_v<await_result_t<A>>) {
            awaiter_.await_resume();
            return {};
        } else {
            return awaiter_.await_resume();
        }
    }

private:
    // The awaitable itself when it is its own awaiter: it lives until the co_await ends.
    decltype(get_awaiter(std::declval<A>())) awaiter_;
};

// std::invoke, as scope_body checks with std::invocable: a pointer to a member function of
// the entered type is a body too.
template <class B, class E>
decltype(auto) call_body(B& body, E& entered) {
    if constexpr (std::is_same_v<E, std::monostate>)
        return std::invoke(body);
    else
        return std::invoke(body, entered);
}

// Resource is a value moved in from with's argument, or an lvalue reference to the caller's.
// Both parameters live in this frame for the whole scope.
template <class Resource, class Body, class R = std::remove_reference_t<Resource>>
task<with_result_t<R, body_result_t<Body, R>>> with_scope(Resource resource, Body body) {
    using T = body_result_t<Body, R>;
    auto&& entered = co_await entering<decltype(resource.aenter())>(resource.aenter());
    std::exception_ptr error;
    std::optional<std::conditional_t<std::is_void_v<T>, std::monostate, T>> value;
    try {
        if constexpr (std::is_void_v<T>) {
            co_await call_body(body, entered);
            value.emplace();
        } else {
            value.emplace(co_await call_body(body, entered));
        }
    } catch (...) {
        error = std::current_exception();
    }
    if constexpr (std::is_same_v<exit_result_t<R>, bool>) {
        const bool suppress = co_await resource.aexit(error);
        if (error && !suppress)
            std::rethrow_exception(error);
        if constexpr (!std::is_void_v<T>) {
            if (error)
                co_return std::nullopt;
            co_return std::move(*value);
        }
    } else {
        co_await resource.aexit(error);
        if (error)
            std::rethrow_exception(error);
        if constexpr (!std::is_void_v<T>)
            co_return std::move(*value);
    }
}

template <class R>
concept storable_resource = std::is_lvalue_reference_v<R> || std::move_constructible<R>;

} // namespace detail

/// Enters `resource`, awaits `body(entered)` (`body()` when aenter yields void), then always
/// awaits `resource.aexit(e)` with the body's exception or null, and returns the body's
/// result. When aexit returns bool, `true` suppresses the exception and `with` then returns
/// an empty `std::optional` (a non-void body's result is wrapped in one).
/// asyncio: `async with resource as entered: body`.
/// A resource passed as an lvalue is used in place; a temporary is moved into the scope's
/// frame, and so is the body, so a lambda's captures stay valid while the scope runs.
/// Nothing runs until the returned task is awaited.
/// Cancellation: the body is cancelled like any code of the awaiting task; aexit still runs
/// and sees `cancelled_error`.
template <class Resource, class Body>
requires async_resource<std::remove_reference_t<Resource>> && detail::storable_resource<Resource> &&
    detail::scope_body<std::decay_t<Body>, std::remove_reference_t<Resource>>
[[nodiscard]] auto with(Resource&& resource, Body&& body) {
    return detail::with_scope<Resource, std::decay_t<Body>>(std::forward<Resource>(resource),
                                                            std::forward<Body>(body));
}

} // namespace corio
