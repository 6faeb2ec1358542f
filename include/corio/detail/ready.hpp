// SPDX-License-Identifier: MIT
// corio/detail/ready.hpp: ready<T>, an awaitable that never suspends and yields a value it
// already has (a reference too, which task<T> cannot return).
// Layer L0. The aenter/aexit of corio's own resources return it.
#pragma once

#include <coroutine>
#include <type_traits>
#include <utility>

namespace corio::detail {

template <class T = void>
class ready {
public:
    explicit ready(T value) noexcept(std::is_nothrow_move_constructible_v<T>)
        : value_(std::forward<T>(value)) {}

    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    T await_resume() noexcept(std::is_nothrow_move_constructible_v<T>) {
        return std::forward<T>(value_);
    }

private:
    T value_;
};

template <>
class ready<void> {
public:
    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    void await_resume() const noexcept {}
};

} // namespace corio::detail
