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

    static void* allocate(std::size_t size) {
        if (const std::size_t c = size_class(size); c < classes) {
            if (list& l = local().lists[c]; l.head)
                return pop(l, block_size(c));
            return allocate_new(c);
        }
        return ::operator new(size);
    }

    static void deallocate(void* block, std::size_t size) noexcept {
        if (const std::size_t c = size_class(size); c < classes) {
            if (list& l = local().lists[c]; l.count < per_class) {
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
    // A list counted full caches nothing: every list is, until the thread allocates its first
    // block (and arms its reaper), and again once the reaper has run.
    struct list {
        node* head = nullptr;
        unsigned count = per_class;
    };
    enum class phase : unsigned char { unopened, open, closed };

    // Trivially destructible, so that reaching it is one thread-pointer-relative access: a
    // thread_local with a destructor is reached through a call that checks its guard.
    struct lists_t {
        std::array<list, classes> lists{};
        phase state = phase::unopened;
    };

    // Frees the thread's cached blocks when the thread ends; a frame destroyed later in the
    // thread's exit (by another thread_local's destructor) goes straight back to the heap.
    struct reaper {
        reaper() = default;
        reaper(const reaper&) = delete;
        reaper& operator=(const reaper&) = delete;
        ~reaper() {
            lists_t& l = local();
            for (std::size_t c = 0; c < classes; ++c) {
                while (l.lists[c].head)
                    ::operator delete(pop(l.lists[c], block_size(c)));
                l.lists[c].count = per_class;
            }
            l.state = phase::closed;
        }
    };

    static std::size_t size_class(std::size_t size) noexcept { return (size + 7) / granule; }
    static std::size_t block_size(std::size_t c) noexcept { return c * granule + 8; }

    static lists_t& local() noexcept {
        thread_local constinit lists_t cache;
        return cache;
    }

    // A miss. The thread's first opens its cache, constructing the reaper (which is then
    // destroyed when the thread ends): a thread that only frees blocks made elsewhere never
    // caches one, so never needs it.
    [[gnu::noinline]] static void* allocate_new(std::size_t c) {
        if (lists_t& l = local(); l.state == phase::unopened) {
            thread_local reaper r;
            for (list& each : l.lists)
                each.count = 0;
            l.state = phase::open;
        }
        return ::operator new(block_size(c));
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
};

} // namespace corio::detail
