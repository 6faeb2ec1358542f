// SPDX-License-Identifier: MIT
// corio/outcome.hpp: outcome<T>, a value or the exception that took its place; what
// gather(return_exceptions, ...) returns for each child.
// Layer L1.
#pragma once

#include <exception>
#include <stdexcept>
#include <utility>
#include <variant>

namespace corio {
namespace detail {

inline std::exception_ptr non_null(std::exception_ptr error) {
    if (!error)
        throw std::invalid_argument("corio::outcome::failure: the exception_ptr is null");
    return error;
}

} // namespace detail

/// A value of type T, or the exception that was thrown instead. asyncio: an element of
/// `gather(..., return_exceptions=True)`'s list, which is either a result or an exception.
template <class T>
class outcome {
public:
    /// Holds `value`.
    explicit outcome(T value) : state_(std::in_place_index<0>, std::move(value)) {}

    /// Holds `error`. Throws: `std::invalid_argument` for a null exception_ptr.
    static outcome failure(std::exception_ptr error) {
        return outcome(error_tag{}, detail::non_null(std::move(error)));
    }

    [[nodiscard]] bool has_value() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    /// The value, or the exception rethrown.
    T& value() & {
        rethrow_if_error();
        return std::get<0>(state_);
    }
    const T& value() const& {
        rethrow_if_error();
        return std::get<0>(state_);
    }
    T&& value() && {
        rethrow_if_error();
        return std::get<0>(std::move(state_));
    }

    /// The exception, or null when there is a value.
    [[nodiscard]] std::exception_ptr error() const noexcept {
        return has_value() ? nullptr : std::get<1>(state_);
    }

private:
    // A tag, not an overload on exception_ptr: T may be std::exception_ptr itself.
    struct error_tag {};
    outcome(error_tag, std::exception_ptr error)
        : state_(std::in_place_index<1>, std::move(error)) {}

    void rethrow_if_error() const {
        if (!has_value())
            std::rethrow_exception(std::get<1>(state_));
    }

    std::variant<T, std::exception_ptr> state_;
};

/// The outcome of something that returns nothing: success, or an exception.
template <>
class outcome<void> {
public:
    /// Success.
    outcome() noexcept = default;

    /// Holds `error`. Throws: `std::invalid_argument` for a null exception_ptr.
    static outcome failure(std::exception_ptr error) {
        outcome o;
        o.error_ = detail::non_null(std::move(error));
        return o;
    }

    [[nodiscard]] bool has_value() const noexcept { return !error_; }
    explicit operator bool() const noexcept { return has_value(); }

    /// Returns, or rethrows the exception.
    void value() const {
        if (error_)
            std::rethrow_exception(error_);
    }

    [[nodiscard]] std::exception_ptr error() const noexcept { return error_; }

private:
    std::exception_ptr error_;
};

} // namespace corio
