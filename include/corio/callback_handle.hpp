// SPDX-License-Identifier: MIT
// corio/callback_handle.hpp: callback_handle and timer_handle, returned by the loop's
// call_soon, call_later and call_at (asyncio.Handle and asyncio.TimerHandle).
// Layer L4.
#pragma once

#include <corio/clock.hpp>

#include <corio/detail/callback.hpp>

#include <utility>

namespace corio {

/// A callback queued on the loop. Copyable; a default-constructed handle is empty and
/// cancelling it does nothing. asyncio: `asyncio.Handle`.
/// Thread safety: loop thread only.
class callback_handle {
public:
    callback_handle() noexcept = default;
    explicit callback_handle(detail::callback_node& node) noexcept : node_(&node) {
        node_->add_ref();
    }
    callback_handle(const callback_handle& other) noexcept : node_(other.node_) {
        if (node_)
            node_->add_ref();
    }
    callback_handle(callback_handle&& other) noexcept
        : node_(std::exchange(other.node_, nullptr)) {}
    callback_handle& operator=(callback_handle other) noexcept {
        std::swap(node_, other.node_);
        return *this;
    }
    ~callback_handle() {
        if (node_)
            node_->release();
    }

    /// The callback will not run, if it has not run yet. asyncio: `Handle.cancel()`.
    void cancel() noexcept {
        if (node_)
            node_->cancel();
    }

    /// True once cancel() was called, as asyncio's `Handle.cancelled()`.
    [[nodiscard]] bool cancelled() const noexcept { return node_ && node_->cancelled(); }

protected:
    detail::callback_node* node_ = nullptr;
};

/// A callback queued for a time: call_later and call_at. asyncio: `asyncio.TimerHandle`.
class timer_handle : public callback_handle {
public:
    timer_handle() noexcept = default;
    explicit timer_handle(detail::callback_node& node) noexcept : callback_handle(node) {}

    /// When the callback is due. asyncio: `TimerHandle.when()`.
    [[nodiscard]] clock::time_point when() const noexcept {
        return node_ ? node_->deadline() : clock::time_point{};
    }
};

} // namespace corio
