// SPDX-License-Identifier: MIT
// corio/detail/release_guard.hpp: release_guard, what `co_await lock.scoped()` and
// `co_await semaphore.scoped()` return, and scoped_awaiter, the awaitable that makes it.
// Layer L4.
#pragma once

#include <coroutine>
#include <utility>

namespace corio::detail {

/// Owns one acquisition of a lock or a semaphore and releases it when destroyed (or at
/// `unlock()`). Move-only; a moved-from guard releases nothing.
template <class R>
class release_guard {
public:
    release_guard() noexcept = default;
    explicit release_guard(R& resource) noexcept : resource_(&resource) {}
    release_guard(release_guard&& other) noexcept
        : resource_(std::exchange(other.resource_, nullptr)) {}
    release_guard& operator=(release_guard&& other) noexcept {
        if (this != &other) {
            reset();
            resource_ = std::exchange(other.resource_, nullptr);
        }
        return *this;
    }
    ~release_guard() { reset(); }

    /// True while the guard still holds its acquisition.
    [[nodiscard]] bool owns() const noexcept { return resource_ != nullptr; }
    explicit operator bool() const noexcept { return owns(); }

    /// Releases early; the destructor then does nothing. Does nothing on an empty guard.
    void unlock() {
        if (resource_ != nullptr)
            std::exchange(resource_, nullptr)->release();
    }

private:
    void reset() noexcept {
        if (resource_ != nullptr)
            std::exchange(resource_, nullptr)->release(); // cannot fail: it holds the resource
    }

    R* resource_ = nullptr;
};

/// Awaits `Acquire` (the resource's acquire awaiter) and yields a release_guard.
template <class R, class Acquire>
class scoped_awaiter {
public:
    explicit scoped_awaiter(R& resource) : resource_(&resource), acquire_(resource) {}

    bool await_ready() { return acquire_.await_ready(); }
    void await_suspend(std::coroutine_handle<> frame) { acquire_.await_suspend(frame); }
    release_guard<R> await_resume() {
        acquire_.await_resume();
        return release_guard<R>(*resource_);
    }

private:
    R* resource_;
    Acquire acquire_;
};

} // namespace corio::detail
