// SPDX-License-Identifier: MIT
// corio/errors.hpp: the exception types of corio, asyncio's exceptions under C++ names.
// Layer L1. Depends on the standard library only.
#pragma once

#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace corio {

/// Thrown into a task at a suspension point when the task is cancelled.
/// asyncio: `CancelledError`, a BaseException. Deliberately not a `std::exception`, so that
/// `catch (const std::exception&)` in user code cannot swallow a cancellation by accident.
class cancelled_error {
public:
    cancelled_error() = default;
    explicit cancelled_error(std::string message) : message_(std::move(message)) {}

    /// The message given to `cancel(msg)`; empty when none was given.
    [[nodiscard]] const std::string& message() const noexcept { return message_; }

private:
    std::string message_;
};

/// Thrown by `run` when SIGINT interrupted the main task.
/// asyncio: `KeyboardInterrupt`. Not a `std::exception`, for the same reason as cancelled_error.
class keyboard_interrupt {};

/// asyncio: `TimeoutError`.
class timeout_error : public std::runtime_error {
public:
    timeout_error() : std::runtime_error("corio: operation timed out") {}
    using std::runtime_error::runtime_error;
};

/// Several exceptions raised together, as by the children of a task_group.
/// asyncio: `ExceptionGroup`.
class exception_group : public std::exception {
public:
    exception_group(std::string message, std::vector<std::exception_ptr> exceptions)
        : message_(std::move(message)), exceptions_(std::move(exceptions)) {}

    [[nodiscard]] const char* what() const noexcept override { return message_.c_str(); }
    [[nodiscard]] const std::vector<std::exception_ptr>& exceptions() const noexcept {
        return exceptions_;
    }

private:
    std::string message_;
    std::vector<std::exception_ptr> exceptions_;
};

/// An operation was attempted on an object in a state that does not allow it, such as asking
/// a pending task for its result. asyncio: `InvalidStateError`.
class invalid_state_error : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

/// An operation that needs a running event loop was called outside one.
/// asyncio: `RuntimeError("no running event loop")`.
class no_running_loop : public std::logic_error {
public:
    no_running_loop() : std::logic_error("corio: no running event loop") {}
    using std::logic_error::logic_error;
};

/// asyncio: `QueueFull`.
class queue_full : public std::runtime_error {
public:
    queue_full() : std::runtime_error("corio: queue is full") {}
};

/// asyncio: `QueueEmpty`.
class queue_empty : public std::runtime_error {
public:
    queue_empty() : std::runtime_error("corio: queue is empty") {}
};

/// asyncio: `QueueShutDown`.
class queue_shut_down : public std::runtime_error {
public:
    queue_shut_down() : std::runtime_error("corio: queue is shut down") {}
};

/// A barrier was aborted or reset while the task waited on it, or is broken when the task
/// arrives. asyncio: `BrokenBarrierError` (a RuntimeError).
class broken_barrier_error : public std::runtime_error {
public:
    broken_barrier_error() : std::runtime_error("corio: barrier is broken") {}
    using std::runtime_error::runtime_error;
};

/// The stream ended before the requested bytes arrived; `partial()` holds what did, and
/// `expected()` how many were asked for (none for read_until). asyncio: `IncompleteReadError`.
class incomplete_read_error : public std::runtime_error {
public:
    incomplete_read_error(std::string partial, std::optional<std::size_t> expected)
        : std::runtime_error("corio: stream ended after " + std::to_string(partial.size()) +
                             " bytes" +
                             (expected ? " of " + std::to_string(*expected) + " expected"
                                       : " without the delimiter")),
          partial_(std::move(partial)), expected_(expected) {}

    [[nodiscard]] const std::string& partial() const noexcept { return partial_; }
    [[nodiscard]] std::optional<std::size_t> expected() const noexcept { return expected_; }

private:
    std::string partial_;
    std::optional<std::size_t> expected_;
};

/// A delimiter was not found within the stream's buffer limit. asyncio: `LimitOverrunError`.
class limit_overrun_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace detail {

/// True when `e` holds an `E` (or a class derived from it).
template <class E>
bool holds(const std::exception_ptr& e) noexcept {
    if (!e)
        return false;
    try {
        std::rethrow_exception(e);
    } catch (const E&) {
        return true;
    } catch (...) {
        return false;
    }
}

inline bool is_cancellation(const std::exception_ptr& e) noexcept {
    return holds<cancelled_error>(e);
}

/// One line about an exception, for reports: its what(), or what kind it is.
inline std::string describe(const std::exception_ptr& e) {
    if (!e)
        return "no exception";
    try {
        std::rethrow_exception(e);
    } catch (const cancelled_error& c) {
        return c.message().empty() ? "cancelled" : "cancelled: " + c.message();
    } catch (const keyboard_interrupt&) {
        return "keyboard interrupt";
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "an exception of a type not derived from std::exception";
    }
}

} // namespace detail
} // namespace corio
