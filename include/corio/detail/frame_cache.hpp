// SPDX-License-Identifier: MIT
// corio/detail/frame_cache.hpp: a per-thread cache of freed coroutine frames and task states,
// by size, so that the create-run-destroy churn of short tasks reuses the same few blocks
// instead of going through malloc and free each time.
// Layer L0. Thread-local: a block freed on another thread joins that thread's cache.
#pragma once

#include <array>
#include <cstddef>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define CORIO_FRAME_CACHE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORIO_FRAME_CACHE_ASAN 1
#endif
#endif
#ifdef CORIO_FRAME_CACHE_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace corio::detail {

class frame_cache {
public:
    // Blocks are cached in size classes 16 bytes apart, up to 1 KiB, a few per class: enough
    // for the frames a loop of awaits or spawns keeps reusing, little for a thread to hold.
    // The classes are malloc's own sizes (glibc gives 16k + 8 usable bytes, its chunk header
    // taking the other 8), so rounding a block up to its class never costs memory.
    static constexpr std::size_t granule = 16;
    static constexpr std::size_t classes = 64;
    static constexpr unsigned per_class = 16;

    frame_cache() = default;
    frame_cache(const frame_cache&) = delete;
    frame_cache& operator=(const frame_cache&) = delete;

    ~frame_cache() {
        for (std::size_t c = 0; c < classes; ++c)
            while (lists_[c].head)
                ::operator delete(pop(lists_[c], block_size(c)));
        gone() = true;
    }

    static void* allocate(std::size_t size) {
        if (const std::size_t c = size_class(size); c < classes && !gone()) {
            if (list& l = local().lists_[c]; l.head)
                return pop(l, block_size(c));
            return ::operator new(block_size(c));
        }
        return ::operator new(size);
    }

    static void deallocate(void* block, std::size_t size) noexcept {
        if (const std::size_t c = size_class(size); c < classes && !gone()) {
            if (list& l = local().lists_[c]; l.count < per_class) {
                push(l, block, block_size(c));
                return;
            }
        }
        ::operator delete(block);
    }

private:
    struct node {
        node* next;
    };
    struct list {
        node* head = nullptr;
        unsigned count = 0;
    };

    static std::size_t size_class(std::size_t size) noexcept { return (size + 7) / granule; }
    static std::size_t block_size(std::size_t c) noexcept { return c * granule + 8; }

    // Set once the thread's cache is destroyed: frames freed later in the thread's exit (by
    // other thread_local destructors) go straight back to the heap.
    static bool& gone() noexcept {
        thread_local constinit bool destroyed = false;
        return destroyed;
    }

    static frame_cache& local() noexcept {
        thread_local frame_cache cache;
        return cache;
    }

    // Under AddressSanitizer a cached block stays poisoned, so a use of a destroyed frame is
    // still reported as it would be after a free.
    static void push(list& l, void* block, [[maybe_unused]] std::size_t size) noexcept {
        l.head = new (block) node{l.head};
        ++l.count;
#ifdef CORIO_FRAME_CACHE_ASAN
        ASAN_POISON_MEMORY_REGION(block, size);
#endif
    }

    static void* pop(list& l, [[maybe_unused]] std::size_t size) noexcept {
        node* n = l.head;
#ifdef CORIO_FRAME_CACHE_ASAN
        ASAN_UNPOISON_MEMORY_REGION(n, size);
#endif
        l.head = n->next;
        --l.count;
        return n;
    }

    std::array<list, classes> lists_{};
};

} // namespace corio::detail
