// SPDX-License-Identifier: MIT
// corio/detail/frame_cache.hpp: where coroutine frames and task states come from: per-thread
// free lists by size, refilled from chunks carved in order, so that the churn of short tasks
// reuses the same few blocks and a fan-out of many lays them out side by side, with no
// malloc call or header per block.
// Layer L0. Thread-local lists over a process-wide reserve: a block freed on another thread
// joins that thread's list, and a list that grows long, or whose thread ends, goes to the
// reserve, where any thread's next miss takes it.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>

#include <sys/mman.h>

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
    // Blocks come in size classes 16 bytes apart, up to 1,008 bytes; larger ones go to the
    // heap.
    static constexpr std::size_t granule = 16;
    static constexpr std::size_t classes = 64;
    // A thread's list of one class goes to the reserve once it holds this many blocks.
    static constexpr unsigned per_class = 4096;

    static void* allocate(std::size_t size) {
        if (const std::size_t c = size_class(size); c < classes) {
            if (list& l = local().lists[c]; l.head)
                return pop(l, c);
            return miss(c);
        }
        return ::operator new(size);
    }

    static void deallocate(void* block, std::size_t size) noexcept {
        if (const std::size_t c = size_class(size); c < classes) {
            if (list& l = local().lists[c]; l.count < per_class)
                push(l, block, c);
            else
                overflow(block, c);
            return;
        }
        ::operator delete(block);
    }

private:
    struct node {
        node* next;
    };
    struct list {
        node* head = nullptr;
        node* tail = nullptr; // the first block pushed: lists are spliced whole
        unsigned count = 0;
    };
    using lists_t = std::array<list, classes>;

    // A thread's list counted full takes no block: every one is, until the thread's first
    // miss opens them all (and arms the reaper), and again once the reaper has run.
    static constexpr lists_t full_lists() noexcept {
        lists_t lists{};
        for (list& l : lists)
            l.count = per_class;
        return lists;
    }
    enum class phase : unsigned char { unopened, open, closed };

    // Trivially destructible, so that reaching it is one thread-pointer-relative access: a
    // thread_local with a destructor is reached through a call that checks its guard.
    struct thread_cache {
        lists_t lists = full_lists();
        char* next = nullptr; // the free part of the chunk being carved
        char* end = nullptr;
        std::size_t chunk_bytes = 0; // of the last chunk; each doubles the one before
        phase state = phase::unopened;
    };

    // Blocks no thread holds; chunks are kept for the life of the process.
    struct reserve_t {
        std::mutex mutex;
        lists_t lists{};
        std::atomic<std::uint64_t> nonempty{0}; // bit c: lists[c] has blocks
        // Each chunk's first bytes link the next: held from a global, the chunks stay
        // reachable to the end, so leak checkers do not report them.
        node* chunks = nullptr;
    };

    // Gives the thread's blocks to the reserve when the thread ends; a frame destroyed later
    // in that exit (by another thread_local's destructor) goes there too.
    struct reaper {
        reaper() = default;
        reaper(const reaper&) = delete;
        reaper& operator=(const reaper&) = delete;
        ~reaper() {
            thread_cache& t = local();
            for (std::size_t c = 0; c < classes; ++c)
                if (t.lists[c].head)
                    give_back(t.lists[c], c);
            for (list& l : t.lists)
                l.count = per_class;
            t.state = phase::closed;
        }
    };

    static constexpr std::size_t first_chunk = 64 * 1024;
    static constexpr std::size_t last_chunk = 4 * 1024 * 1024;
    static constexpr std::size_t huge_page = 2 * 1024 * 1024;
#ifdef CORIO_FRAME_CACHE_ASAN
    // A poisoned gap after each block, so that AddressSanitizer still sees an overflow.
    static constexpr std::size_t redzone = granule;
#else
    static constexpr std::size_t redzone = 0;
#endif

    // Zero bytes take a class too: two allocations must not share an address.
    static std::size_t size_class(std::size_t size) noexcept {
        return size == 0 ? 1 : (size + granule - 1) / granule;
    }
    static std::size_t block_size(std::size_t c) noexcept {
        return c * granule;
    }

    static thread_cache& local() noexcept {
        thread_local constinit thread_cache cache;
        return cache;
    }

    static reserve_t& reserve() noexcept {
        static constinit reserve_t r;
        return r;
    }

    // An empty list: the thread's first miss opens its lists; then the reserve's blocks of
    // the class, if it has some; else a block carved from the thread's chunk.
    [[gnu::noinline]] static void* miss(std::size_t c) {
        thread_cache& t = local();
        if (t.state == phase::unopened)
            open(t);
        if (t.state == phase::open && take_reserve(t.lists[c], c))
            return pop(t.lists[c], c);
        return carve(t, c);
    }

    static void open(thread_cache& t) {
        thread_local reaper r;
        for (list& l : t.lists)
            l.count = 0;
        t.state = phase::open;
    }

    // A full list (or one of a thread that is not open) goes to the reserve whole; the block
    // starts a new one.
    [[gnu::noinline]] static void overflow(void* block, std::size_t c) noexcept {
        thread_cache& t = local();
        if (t.state != phase::open) {
            list one;
            push(one, block, c);
            give_back(one, c);
            return;
        }
        give_back(t.lists[c], c);
        push(t.lists[c], block, c);
    }

    static void give_back(list& l, std::size_t c) noexcept {
        reserve_t& r = reserve();
        {
            const std::lock_guard lock(r.mutex);
            list& to = r.lists[c];
            set_next(l.tail, to.head);
            if (!to.head)
                to.tail = l.tail;
            to.head = l.head;
            to.count += l.count;
            r.nonempty.fetch_or(std::uint64_t{1} << c, std::memory_order_relaxed);
        }
        l.head = l.tail = nullptr;
        l.count = 0;
    }

    static bool take_reserve(list& l, std::size_t c) noexcept {
        reserve_t& r = reserve();
        if ((r.nonempty.load(std::memory_order_relaxed) & (std::uint64_t{1} << c)) == 0)
            return false;
        const std::lock_guard lock(r.mutex);
        list& from = r.lists[c];
        if (!from.head)
            return false;
        l = from;
        from = list{};
        r.nonempty.fetch_and(~(std::uint64_t{1} << c), std::memory_order_relaxed);
        return true;
    }

    // Blocks are laid out in the order they are first needed, with no header between them.
    static void* carve(thread_cache& t, std::size_t c) {
        const std::size_t bytes = block_size(c) + redzone;
        if (static_cast<std::size_t>(t.end - t.next) < bytes)
            new_chunk(t);
        char* block = t.next;
        t.next += bytes;
#ifdef CORIO_FRAME_CACHE_ASAN
        ASAN_UNPOISON_MEMORY_REGION(block, block_size(c));
#endif
        return block;
    }

    // Chunks double from 64 KiB to 4 MiB, so that a thread with few tasks holds little and
    // one with a million asks the heap a few dozen times. What is left of the last one when
    // a new one is needed, or when the thread ends, is not used (at most a block's worth,
    // or the untouched tail of a chunk, which takes no memory until touched).
    static void new_chunk(thread_cache& t) {
        const std::size_t bytes = t.chunk_bytes == 0           ? first_chunk
                                  : t.chunk_bytes < last_chunk ? 2 * t.chunk_bytes
                                                               : last_chunk;
        char* chunk = static_cast<char*>(allocate_chunk(bytes));
        reserve_t& r = reserve();
        {
            const std::lock_guard lock(r.mutex);
            r.chunks = new (chunk) node{r.chunks};
        }
        t.chunk_bytes = bytes;
        t.next = chunk + granule; // after the link, keeping blocks 16-byte aligned
        t.end = chunk + bytes;
#ifdef CORIO_FRAME_CACHE_ASAN
        ASAN_POISON_MEMORY_REGION(t.next, bytes - granule);
#endif
    }

    // Chunks of 2 MiB and more are aligned to a huge page and marked for transparent huge
    // pages, so that a fan-out of a hundred thousand tasks takes a dozen page faults instead
    // of several thousand: those faults were half of W2's time. Only a thread that already
    // holds 4 MiB of frames gets one, and its untouched tail costs at most one huge page. The
    // advice is a hint: where the kernel has huge pages off, madvise fails and nothing changes.
    static void* allocate_chunk(std::size_t bytes) {
        if (bytes < huge_page)
            return ::operator new(bytes);
        void* chunk = ::operator new (bytes, std::align_val_t{huge_page});
        (void)::madvise(chunk, bytes, MADV_HUGEPAGE);
        return chunk;
    }

    // Under AddressSanitizer a cached block stays poisoned, so a use of a destroyed frame is
    // still reported as it would be after a free: the list's own writes unpoison its link.
    static void push(list& l, void* block, [[maybe_unused]] std::size_t c) noexcept {
        l.head = new (block) node{l.head};
        if (l.count++ == 0)
            l.tail = l.head;
#ifdef CORIO_FRAME_CACHE_ASAN
        ASAN_POISON_MEMORY_REGION(block, block_size(c));
#endif
    }

    static void set_next(node* n, node* next) noexcept {
#ifdef CORIO_FRAME_CACHE_ASAN
        ASAN_UNPOISON_MEMORY_REGION(n, sizeof(node));
#endif
        n->next = next;
#ifdef CORIO_FRAME_CACHE_ASAN
        ASAN_POISON_MEMORY_REGION(n, sizeof(node));
#endif
    }

    static void* pop(list& l, [[maybe_unused]] std::size_t c) noexcept {
        node* n = l.head;
#ifdef CORIO_FRAME_CACHE_ASAN
        ASAN_UNPOISON_MEMORY_REGION(n, block_size(c));
#endif
        l.head = n->next;
        --l.count;
        return n;
    }
};

} // namespace corio::detail
