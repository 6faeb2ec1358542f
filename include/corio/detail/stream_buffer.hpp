// SPDX-License-Identifier: MIT
// corio/detail/stream_buffer.hpp: stream_buffer, the bytes a stream received and nobody read.
// Layer L1.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace corio::detail {

/// A byte queue: received bytes are appended at the back (space, then commit), readers take
/// them from the front. Memory is allocated when first needed and never zero-filled; the
/// bytes move to the front only when the back has no room left.
class stream_buffer {
public:
    [[nodiscard]] std::size_t size() const noexcept { return end_ - begin_; }
    [[nodiscard]] bool empty() const noexcept { return begin_ == end_; }
    [[nodiscard]] std::string_view view() const noexcept { return {data_.get() + begin_, size()}; }

    /// Room for `want` more bytes at the back, to be filled and then committed.
    [[nodiscard]] std::span<std::byte> space(std::size_t want) {
        if (capacity_ - end_ < want)
            make_room(want);
        return {reinterpret_cast<std::byte*>(data_.get() + end_), want};
    }
    void commit(std::size_t n) noexcept { end_ += n; }

    /// The first `n` bytes (at most size()), removed.
    std::string take(std::size_t n) {
        n = std::min(n, size());
        std::string out(data_.get() + begin_, n);
        consume(n);
        return out;
    }
    /// Copies the first bytes into `out` and removes them: how many.
    std::size_t take_into(std::span<std::byte> out) noexcept {
        const std::size_t n = std::min(out.size(), size());
        std::memcpy(out.data(), data_.get() + begin_, n);
        consume(n);
        return n;
    }
    void consume(std::size_t n) noexcept {
        begin_ += n;
        if (begin_ == end_)
            begin_ = end_ = 0;
    }

private:
    static constexpr std::size_t first_capacity = 16 * 1024;

    void make_room(std::size_t want) {
        const std::size_t held = size();
        if (capacity_ - held >= want) { // enough in all: the unread bytes go to the front
            std::memmove(data_.get(), data_.get() + begin_, held);
        } else {
            const std::size_t capacity = std::max({first_capacity, capacity_ * 2, held + want});
            auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
            if (held > 0)
                std::memcpy(bigger.get(), data_.get() + begin_, held);
            data_ = std::move(bigger);
            capacity_ = capacity;
        }
        begin_ = 0;
        end_ = held;
    }

    std::unique_ptr<char[]> data_;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

} // namespace corio::detail
