// SPDX-License-Identifier: MIT
// task<T>: laziness, values and exceptions, stack safety, misuse.
#include <algorithm>
#include <cstring>
#include <memory>
#include <set>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

#include "corio_test.hpp"

using namespace corio_test;

namespace {

corio::task<int> trivial(int i) {
    co_return i;
}

corio::task<long long> sum_of_trivial_awaits(int n) {
    long long sum = 0;
    for (int i = 0; i < n; ++i)
        sum += co_await trivial(i);
    co_return sum;
}

corio::task<int> throws_runtime_error() {
    throw std::runtime_error("boom");
    co_return 0;
}

} // namespace

TEST_CASE("calling a coroutine function runs nothing until it is awaited", "[task]") {
    bool ran = false;
    auto body = [&]() -> corio::task<int> {
        ran = true;
        co_return 1;
    };
    auto outer = [&]() -> corio::task<int> {
        corio::task<int> t = body();
        CHECK_FALSE(ran);
        CHECK_FALSE(t.done());
        int value = co_await t;
        CHECK(ran);
        CHECK(t.done());
        co_return value;
    };
    CHECK(corio::run(outer()) == 1);
}

TEST_CASE("a task is driven by any resumer, without a loop", "[task]") {
    corio::task<long long> t = sum_of_trivial_awaits(10);
    t.handle().resume();
    REQUIRE(t.done());
    CHECK(t.handle().promise().result() == 45);
}

TEST_CASE("a million synchronously completing co_awaits do not grow the stack", "[task]") {
    constexpr int n = 1'000'000;
    const long long expected = static_cast<long long>(n) * (n - 1) / 2;
    SECTION("driven by hand") {
        corio::task<long long> t = sum_of_trivial_awaits(n);
        t.handle().resume();
        REQUIRE(t.done());
        CHECK(t.handle().promise().result() == expected);
    }
    SECTION("inside run") {
        CHECK(corio::run(sum_of_trivial_awaits(n)) == expected);
    }
}

TEST_CASE("exceptions propagate through co_await", "[task]") {
    auto outer = []() -> corio::task<> {
        CHECK_THROWS_WITH(co_await throws_runtime_error(), "boom");
        co_return;
    };
    corio::run(outer());
    CHECK_THROWS_AS(corio::run(throws_runtime_error()), std::runtime_error);
}

TEST_CASE("cancelled_error and keyboard_interrupt are not std::exception", "[task]") {
    STATIC_REQUIRE_FALSE(std::is_base_of_v<std::exception, corio::cancelled_error>);
    STATIC_REQUIRE_FALSE(std::is_base_of_v<std::exception, corio::keyboard_interrupt>);
    auto cancelled = []() -> corio::task<> {
        throw corio::cancelled_error("stop");
        co_return;
    };
    bool swallowed = false;
    try {
        try {
            corio::run(cancelled());
        } catch (const std::exception&) {
            swallowed = true;
        }
    } catch (const corio::cancelled_error& e) {
        CHECK(e.message() == "stop");
    }
    CHECK_FALSE(swallowed);
}

TEST_CASE("a move-only value is handed over", "[task]") {
    auto make = []() -> corio::task<std::unique_ptr<int>> {
        co_return std::make_unique<int>(7);
    };
    auto outer = [&]() -> corio::task<int> {
        std::unique_ptr<int> p = co_await make();
        co_return *p;
    };
    CHECK(corio::run(outer()) == 7);
}

TEST_CASE("an lvalue task can be awaited again once done", "[task]") {
    auto outer = []() -> corio::task<int> {
        corio::task<int> t = trivial(21);
        int a = co_await t;
        int b = co_await t;
        co_return a + b;
    };
    CHECK(corio::run(outer()) == 42);
}

TEST_CASE("awaiting an empty task throws std::logic_error", "[task]") {
    auto outer = []() -> corio::task<> {
        corio::task<int> t = trivial(1);
        corio::task<int> moved = std::move(t);
        CHECK_THROWS_AS(co_await t, std::logic_error);
        CHECK(co_await moved == 1);
    };
    corio::run(outer());
}

TEST_CASE("a task that suspends resumes its awaiter when it finishes", "[task]") {
    auto child = [](int i) -> corio::task<int> {
        co_await corio::sleep(0ms);
        co_return i;
    };
    auto outer = [&]() -> corio::task<int> {
        int sum = 0;
        for (int i = 0; i < 1000; ++i)
            sum += co_await child(i);
        co_return sum;
    };
    CHECK(corio::run(outer()) == 999 * 1000 / 2);
}

// The frame cache (detail/frame_cache.hpp) that coroutine frames and task states come from.

TEST_CASE("a freed frame is reused for any size of its 16-byte class", "[task][frame_cache]") {
    using corio::detail::frame_cache;
    // 33 to 48 bytes are one class.
    void* block = frame_cache::allocate(33);
    frame_cache::deallocate(block, 33);
    void* again = frame_cache::allocate(48);
    CHECK(again == block);
    frame_cache::deallocate(again, 48);
    void* next_class = frame_cache::allocate(49);
    CHECK(next_class != block);
    frame_cache::deallocate(next_class, 49);

    void* none = frame_cache::allocate(0); // a block of its own all the same
    void* none_again = frame_cache::allocate(0);
    CHECK(none != none_again);
    frame_cache::deallocate(none, 0);
    frame_cache::deallocate(none_again, 0);

    void* large = frame_cache::allocate(5000); // beyond the cached sizes: the heap's
    std::memset(large, 1, 5000);
    frame_cache::deallocate(large, 5000);
}

namespace {

// Each test below uses a size class of its own, so that blocks other tests left in the
// process-wide reserve do not come back here.
std::vector<void*> allocate_blocks(std::size_t n, std::size_t size) {
    std::vector<void*> blocks;
    for (std::size_t i = 0; i < n; ++i) {
        blocks.push_back(corio::detail::frame_cache::allocate(size));
        std::memset(blocks.back(), 0x5a, size); // every byte is the caller's
    }
    return blocks;
}

void deallocate_blocks(const std::vector<void*>& blocks, std::size_t size) {
    for (void* b : blocks)
        corio::detail::frame_cache::deallocate(b, size);
}

bool all_from(const std::vector<void*>& blocks, const std::vector<void*>& pool) {
    const std::set<void*> known(pool.begin(), pool.end());
    return std::all_of(blocks.begin(), blocks.end(), [&](void* b) { return known.count(b); });
}

} // namespace

TEST_CASE("a thread that frees more blocks than its list holds reuses them all later",
          "[task][frame_cache]") {
    constexpr std::size_t size = 1000;
    std::thread([] {
        const std::size_t n = 3 * corio::detail::frame_cache::per_class + 5;
        const std::vector<void*> first = allocate_blocks(n, size);
        CHECK(std::set<void*>(first.begin(), first.end()).size() == n); // no block twice
        deallocate_blocks(first, size); // the list fills twice: the reserve takes the rest
        const std::vector<void*> second = allocate_blocks(n, size);
        CHECK(all_from(second, first));
        CHECK(std::set<void*>(second.begin(), second.end()).size() == n);
        deallocate_blocks(second, size);
    }).join();
}

TEST_CASE("blocks a thread held when it ended serve another thread", "[task][frame_cache]") {
    constexpr std::size_t size = 984;
    std::vector<void*> held;
    std::thread([&] {
        held = allocate_blocks(100, size);
        deallocate_blocks(held, size); // in the thread's list when it ends
    }).join();
    std::thread([&] {
        const std::vector<void*> reused = allocate_blocks(100, size);
        CHECK(all_from(reused, held));
        deallocate_blocks(reused, size);
    }).join();
}

TEST_CASE("a block freed on a thread that never allocated is not lost", "[task][frame_cache]") {
    constexpr std::size_t size = 968;
    std::thread([] {
        void* block = corio::detail::frame_cache::allocate(size);
        std::thread([block] { corio::detail::frame_cache::deallocate(block, size); }).join();
        // It went to the reserve, which this thread takes from once its own list is empty.
        const std::vector<void*> later = allocate_blocks(10'000, size);
        CHECK(std::find(later.begin(), later.end(), block) != later.end());
        deallocate_blocks(later, size);
    }).join();
}

TEST_CASE("a frame created on one thread can be destroyed on another", "[task][frame_cache]") {
    corio::task<int> made = trivial(7);
    std::thread([t = std::move(made)]() mutable { CHECK(corio::run(std::move(t)) == 7); }).join();
}

namespace {

// Destroyed at its thread's exit after the frame cache, which was created after it.
struct outlives_the_cache {
    corio::task<int> kept;
};

} // namespace

TEST_CASE("a frame destroyed after its thread's cache is gone goes to the reserve",
          "[task][frame_cache]") {
    std::thread([] {
        thread_local outlives_the_cache holder;
        holder.kept = trivial(1); // the thread's first frame: the cache is created now
        corio::run(sum_of_trivial_awaits(100));
    }).join();
    // Nothing to check here but that the thread ended: under AddressSanitizer a frame put back
    // into the closed cache would show as a use after free.
    SUCCEED("the thread exited");
}
