// SPDX-License-Identifier: MIT
// uv_bench: the libuv peer of corio_bench for W3 (timers) of docs/benchmarks.md, with the same
// parameters and output line (bytes_per_op included). In libuv a sleeping task is one uv_timer_t
// and a callback, with no coroutine frame: that is what corio's sleeping task is measured against.
// Usage: uv_bench [--quick] [W3]...  (W3 when none is named; other names print nothing)
//        --quick: N = 100,000 only, not also N = 1,000,000.
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <sys/resource.h>

static void fail(const char* what) {
    fprintf(stderr, "uv_bench: %s\n", what);
    exit(1);
}

static long peak_rss_kb(void) {
    struct rusage usage;
    memset(&usage, 0, sizeof usage);
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

// Read with open/read into the stack rather than stdio, so that taking the baseline does not
// itself allocate on the heap the timers are about to grow.
static long current_rss_kb(void) {
    char text[128];
    const int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail("cannot open /proc/self/statm");
    const ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        fail("cannot read /proc/self/statm");
    text[n] = '\0';
    long size = 0, resident = 0;
    if (sscanf(text, "%ld %ld", &size, &resident) != 2)
        fail("cannot parse /proc/self/statm");
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void free_timer(uv_handle_t* handle) {
    free(handle);
}

static void wake(uv_timer_t* timer) {
    ++*(size_t*)timer->loop->data;
    uv_close((uv_handle_t*)timer, free_timer);
}

// W3: N concurrent sleeps of x % 100 ms, x an LCG from seed 12345; the figure is the wall time
// beyond the longest sleep (0.1 s), per sleeper.
static void timers(size_t n) {
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0)
        fail("uv_loop_init failed");
    size_t fired = 0;
    loop.data = &fired;
    uint32_t x = 12345;
    const long baseline_kb = current_rss_kb();
    const uint64_t start = uv_hrtime();
    for (size_t i = 0; i < n; ++i) {
        x = (uint32_t)((x * 1103515245ull + 12345ull) % (1ull << 31));
        uv_timer_t* timer = malloc(sizeof *timer);
        if (timer == NULL)
            fail("out of memory");
        uv_timer_init(&loop, timer);
        // libuv starts a timer from the loop's cached time. Left alone, that is the time of
        // uv_loop_init, before the clock starts, and later timers would start earlier than
        // they are created, so the creation of a million timers would overlap the 99 ms it is
        // meant to come on top of. corio's sleep reads the clock each time, so libuv does the
        // same here: the loop's time is brought up to date before each timer (a cheap
        // monotonic read, counted in the figure as corio's is).
        uv_update_time(&loop);
        if (uv_timer_start(timer, wake, x % 100, 0) != 0)
            fail("uv_timer_start failed");
    }
    uv_run(&loop, UV_RUN_DEFAULT); // returns once every timer has fired and been closed
    const double seconds = (double)(uv_hrtime() - start) / 1e9;
    if (fired != n) {
        fprintf(stderr, "uv_bench: W3: %zu of %zu sleepers woke\n", fired, n);
        exit(1);
    }
    if (uv_loop_close(&loop) != 0)
        fail("W3: handles were left open on the loop");
    const long peak_kb = peak_rss_kb();
    const long grown_kb = peak_kb > baseline_kb ? peak_kb - baseline_kb : 0;
    const long long bytes_per_op = (long long)grown_kb * 1024 / (long long)n;
    printf("workload=W3 impl=libuv n=%zu seconds=%.4f per_op_ns=%.1f rss_kb=%ld "
           "bytes_per_op=%lld\n",
           n,
           seconds,
           (seconds - 0.1) * 1e9 / (double)n,
           peak_kb,
           bytes_per_op);
    fflush(stdout);
}

int main(int argc, char** argv) {
    // As corio_bench: --quick, and anything else a workload name (unknown ones match nothing).
    bool quick = false, named = false, w3 = false;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else {
            named = true;
            w3 = w3 || strcmp(argv[i], "W3") == 0;
        }
    }
    if (named && !w3)
        return 0; // a runner asking for a workload libuv has no peer of gets no line
    timers(100000);
    if (!quick)
        timers(1000000);
    return 0;
}
