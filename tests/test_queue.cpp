// SPDX-License-Identifier: MIT
// queue, lifo_queue, priority_queue: order, bounded puts, fairness, hand-off on cancellation,
// task_done and join, shutdown, move-only items.
#include <algorithm>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "corio_test.hpp"

using namespace corio_test;

namespace {

template <class T>
corio::task<bool> ended_shut_down(corio::task_handle<T> h) {
    try {
        co_await h;
    } catch (const corio::queue_shut_down&) {
        co_return true;
    }
    co_return false;
}

template <class Q>
std::vector<int> drain(Q& q) {
    std::vector<int> out;
    while (!q.empty())
        out.push_back(q.get_nowait());
    return out;
}

} // namespace

TEST_CASE("queue kinds: FIFO, LIFO, and smallest first for priority_queue", "[queue]") {
    corio::queue<int> fifo;
    corio::lifo_queue<int> lifo;
    corio::priority_queue<int> prio;
    corio::priority_queue<int, std::greater<int>> largest_first;
    for (int v : {3, 1, 4, 1, 5, 9, 2, 6}) {
        fifo.put_nowait(v);
        lifo.put_nowait(v);
        prio.put_nowait(v);
        largest_first.put_nowait(v);
    }
    CHECK(fifo.qsize() == 8);
    CHECK(drain(fifo) == std::vector<int>{3, 1, 4, 1, 5, 9, 2, 6});
    CHECK(drain(lifo) == std::vector<int>{6, 2, 9, 5, 1, 4, 1, 3});
    CHECK(drain(prio) == std::vector<int>{1, 1, 2, 3, 4, 5, 6, 9});
    CHECK(drain(largest_first) == std::vector<int>{9, 6, 5, 4, 3, 2, 1, 1});
}

TEST_CASE("queue: co_await put and get in every kind", "[queue]") {
    auto body = []() -> corio::task<> {
        corio::priority_queue<std::pair<int, std::string>> q;
        co_await q.put({2, "two"});
        co_await q.put({1, "one"});
        co_await q.put({3, "three"});
        auto first = co_await q.get();
        CHECK(first.second == "one");
        corio::lifo_queue<int> s;
        co_await s.put(1);
        co_await s.put(2);
        int top = co_await s.get();
        CHECK(top == 2);
    };
    corio::run(body());
}

TEST_CASE("queue: nowait forms throw queue_full and queue_empty", "[queue]") {
    corio::queue<int> q(2);
    CHECK(q.maxsize() == 2);
    CHECK(q.empty());
    CHECK_FALSE(q.full());
    CHECK_THROWS_AS(q.get_nowait(), corio::queue_empty);
    q.put_nowait(1);
    q.put_nowait(2);
    CHECK(q.full());
    CHECK_THROWS_AS(q.put_nowait(3), corio::queue_full);
    CHECK(q.qsize() == 2);
    CHECK(q.get_nowait() == 1);
    CHECK_FALSE(q.full());
    corio::queue<int> unbounded;
    for (int i = 0; i < 1000; ++i)
        unbounded.put_nowait(i);
    CHECK_FALSE(unbounded.full());
    CHECK(unbounded.maxsize() == 0);
}

TEST_CASE("queue: get and put outside a running loop throw no_running_loop", "[queue]") {
    corio::queue<int> q;
    CHECK_THROWS_AS(q.get(), corio::no_running_loop);
    CHECK_THROWS_AS(q.put(1), corio::no_running_loop);
}

TEST_CASE("queue: maxsize blocks puts, which complete in order as getters make room", "[queue]") {
    corio::queue<int> q(2);
    std::size_t most = 0;
    std::vector<int> got;
    auto producer = [&](int first) -> corio::task<> {
        for (int i = first; i < first + 5; ++i) {
            co_await q.put(i);
            most = std::max(most, q.qsize());
        }
    };
    auto consumer = [&]() -> corio::task<> {
        for (int i = 0; i < 10; ++i) {
            co_await corio::sleep(1ms);
            got.push_back(co_await q.get());
        }
    };
    auto body = [&]() -> corio::task<> {
        co_await corio::gather(producer(0), producer(100), consumer());
    };
    run_virtual(body());
    CHECK(most == 2);
    // The first producer fills the queue with 0 and 1 and waits to put 2; the second waits
    // behind it with 100. Each get frees a slot for the longest-waiting put, whose producer
    // then queues its next put behind the other one: the producers alternate.
    CHECK(got == std::vector<int>{0, 1, 2, 100, 3, 101, 4, 102, 103, 104});
}

TEST_CASE("queue: waiting getters are served in arrival order", "[queue]") {
    corio::queue<int> q;
    std::string trace;
    auto getter = [&](char name) -> corio::task<> {
        int v = co_await q.get();
        trace += name;
        trace += std::to_string(v);
    };
    auto body = [&]() -> corio::task<> {
        auto a = corio::spawn(getter('a'));
        auto b = corio::spawn(getter('b'));
        auto c = corio::spawn(getter('c'));
        co_await settle();
        q.put_nowait(1);
        co_await q.put(2);
        q.put_nowait(3);
        // The items are promised to the getters: they are not counted and a newcomer
        // cannot take them.
        CHECK(q.qsize() == 0);
        CHECK(q.empty());
        CHECK_THROWS_AS(q.get_nowait(), corio::queue_empty);
        co_await corio::gather(a, b, c);
        CHECK(trace == "a1b2c3");
    };
    corio::run(body());
}

TEST_CASE("queue: a getter cancelled in the step it was handed an item passes it on", "[queue]") {
    corio::queue<int> q;
    std::vector<int> got_b;
    auto body = [&]() -> corio::task<> {
        auto a = corio::spawn([&]() -> corio::task<int> { co_return co_await q.get(); });
        auto b = corio::spawn([&]() -> corio::task<int> { co_return co_await q.get(); });
        co_await settle();
        q.put_nowait(42); // to a...
        a.cancel();       // ...which gives it to b
        bool a_cancelled = co_await ended_cancelled(a);
        CHECK(a_cancelled);
        int from_b = co_await b;
        CHECK(from_b == 42);
        CHECK(q.empty());

        // Nobody behind: the item stays in the queue, in its place.
        auto c = corio::spawn([&]() -> corio::task<int> { co_return co_await q.get(); });
        co_await settle();
        q.put_nowait(1); // to c
        q.put_nowait(2); // into the queue
        c.cancel();
        bool c_cancelled = co_await ended_cancelled(c);
        CHECK(c_cancelled);
        CHECK(drain(q) == std::vector<int>{1, 2});
        // Every item put is still counted once: three task_done() calls end the join.
        q.task_done();
        q.task_done();
        q.task_done();
        co_await q.join();
        CHECK_THROWS_AS(q.task_done(), corio::invalid_state_error);
    };
    corio::run(body());
}

TEST_CASE("queue: an item promised to a cancelled getter keeps its place in every kind",
          "[queue]") {
    auto body = []() -> corio::task<> {
        corio::lifo_queue<int> s;
        auto a = corio::spawn([&]() -> corio::task<int> { co_return co_await s.get(); });
        co_await settle();
        s.put_nowait(1); // to a
        s.put_nowait(2);
        a.cancel();
        bool ac = co_await ended_cancelled(a);
        CHECK(ac);
        CHECK(drain(s) == std::vector<int>{2, 1});

        corio::priority_queue<int> p;
        auto b = corio::spawn([&]() -> corio::task<int> { co_return co_await p.get(); });
        co_await settle();
        p.put_nowait(5); // to b
        p.put_nowait(7);
        p.put_nowait(3);
        b.cancel();
        bool bc = co_await ended_cancelled(b);
        CHECK(bc);
        CHECK(drain(p) == std::vector<int>{3, 5, 7});
    };
    corio::run(body());
}

TEST_CASE("queue: a put granted a slot but cancelled before it ran inserts nothing and "
          "passes the slot on",
          "[queue]") {
    corio::queue<int> q(1);
    auto body = [&]() -> corio::task<> {
        q.put_nowait(0);
        auto p1 = corio::spawn([&]() -> corio::task<> { co_await q.put(1); });
        auto p2 = corio::spawn([&]() -> corio::task<> { co_await q.put(2); });
        co_await settle();
        CHECK(q.full());
        CHECK(q.get_nowait() == 0); // the freed slot goes to p1...
        CHECK(q.full());            // ...so a newcomer cannot take it
        CHECK_THROWS_AS(q.put_nowait(9), corio::queue_full);
        p1.cancel(); // ...and p1, cancelled before it ran, passes it to p2
        bool p1c = co_await ended_cancelled(p1);
        CHECK(p1c);
        co_await p2;
        CHECK(drain(q) == std::vector<int>{2});
        // A waiting put that is cancelled inserts nothing either.
        q.put_nowait(3);
        auto p3 = corio::spawn([&]() -> corio::task<> { co_await q.put(4); });
        co_await settle();
        p3.cancel();
        bool p3c = co_await ended_cancelled(p3);
        CHECK(p3c);
        CHECK(drain(q) == std::vector<int>{3});
        // 0, 2 and 3 were put; 1 and 4 never were.
        for (int i = 0; i < 3; ++i)
            q.task_done();
        CHECK_THROWS_AS(q.task_done(), corio::invalid_state_error);
        co_await q.join();
    };
    corio::run(body());
}

TEST_CASE("queue: join waits until every item is marked done", "[queue]") {
    corio::queue<int> q;
    std::string trace;
    auto worker = [&]() -> corio::task<> {
        for (;;) {
            int v = co_await q.get();
            co_await corio::sleep(std::chrono::milliseconds(v));
            trace += std::to_string(v);
            q.task_done();
        }
    };
    auto body = [&]() -> corio::task<> {
        co_await q.join(); // nothing put yet: returns at once
        auto w = corio::spawn(worker());
        for (int v : {3, 1, 2})
            q.put_nowait(v);
        co_await q.join();
        trace += " joined";
        CHECK(trace == "312 joined");
        w.cancel();
        bool wc = co_await ended_cancelled(w);
        CHECK(wc);
    };
    run_virtual(body());
    corio::queue<int> q2;
    CHECK_THROWS_AS(q2.task_done(), corio::invalid_state_error);
    CHECK_THROWS_WITH(q2.task_done(), Catch::Contains("task_done() called more times"));
}

TEST_CASE("queue: shutdown lets getters drain, then raises queue_shut_down everywhere", "[queue]") {
    auto body = []() -> corio::task<> {
        corio::queue<int> q(2);
        q.put_nowait(1);
        q.put_nowait(2);
        auto putter = corio::spawn([&]() -> corio::task<> { co_await q.put(3); });
        co_await settle();
        q.shutdown();
        CHECK(q.is_shut_down());
        bool putter_shut = co_await ended_shut_down(putter);
        CHECK(putter_shut);
        CHECK_THROWS_AS(q.put_nowait(4), corio::queue_shut_down);
        CHECK_THROWS_AS(co_await q.put(4), corio::queue_shut_down);
        int first = co_await q.get();
        CHECK(first == 1);
        CHECK(q.get_nowait() == 2);
        CHECK_THROWS_AS(q.get_nowait(), corio::queue_shut_down);
        CHECK_THROWS_AS(co_await q.get(), corio::queue_shut_down);

        // Getters waiting on an empty queue are woken with queue_shut_down.
        corio::queue<int> e;
        auto g1 = corio::spawn([&]() -> corio::task<int> { co_return co_await e.get(); });
        auto g2 = corio::spawn([&]() -> corio::task<int> { co_return co_await e.get(); });
        co_await settle();
        e.shutdown();
        bool s1 = co_await ended_shut_down(g1);
        bool s2 = co_await ended_shut_down(g2);
        CHECK(s1);
        CHECK(s2);
    };
    corio::run(body());
}

TEST_CASE("queue: shutdown(immediate) drops the items and releases join", "[queue]") {
    auto body = []() -> corio::task<> {
        corio::queue<int> q;
        for (int i = 0; i < 5; ++i)
            q.put_nowait(i);
        CHECK(q.get_nowait() == 0); // taken, not done yet: join still waits for it
        bool joined = false;
        auto joiner = corio::spawn([&]() -> corio::task<> {
            co_await q.join();
            joined = true;
        });
        co_await settle();
        q.shutdown(true);
        CHECK(q.empty());
        CHECK(q.qsize() == 0);
        CHECK_THROWS_AS(q.get_nowait(), corio::queue_shut_down);
        co_await settle();
        CHECK_FALSE(joined); // item 0 is still unfinished
        q.task_done();
        co_await joiner;
        CHECK(joined);
        CHECK_THROWS_AS(q.task_done(), corio::invalid_state_error);

        // A get promised an item that shutdown(true) drops gets queue_shut_down.
        corio::queue<int> d;
        auto promised = corio::spawn([&]() -> corio::task<int> { co_return co_await d.get(); });
        co_await settle();
        d.put_nowait(1);
        d.shutdown(true);
        bool promised_shut = co_await ended_shut_down(promised);
        CHECK(promised_shut);
        // Without immediate, it still gets its item.
        corio::queue<int> k;
        auto kept = corio::spawn([&]() -> corio::task<int> { co_return co_await k.get(); });
        co_await settle();
        k.put_nowait(5);
        k.shutdown();
        int five = co_await kept;
        CHECK(five == 5);

        // Nothing unfinished after the drop: join returns at once.
        corio::queue<int> r;
        r.put_nowait(1);
        auto g = corio::spawn([&]() -> corio::task<> { co_await r.join(); });
        co_await settle();
        r.shutdown(true);
        co_await g;
    };
    corio::run(body());
}

TEST_CASE("queue: move-only items through every path", "[queue]") {
    using item = std::unique_ptr<int>;
    auto body = []() -> corio::task<> {
        corio::queue<item> q(1);
        co_await q.put(std::make_unique<int>(1));
        // A waiting put (queue full), then a waiting get (queue empty).
        auto putter =
            corio::spawn([&]() -> corio::task<> { co_await q.put(std::make_unique<int>(2)); });
        co_await settle();
        item a = co_await q.get();
        co_await putter;
        item b = q.get_nowait();
        auto getter = corio::spawn([&]() -> corio::task<item> { co_return co_await q.get(); });
        co_await settle();
        q.put_nowait(std::make_unique<int>(3));
        item c = co_await getter;
        CHECK(*a == 1);
        CHECK(*b == 2);
        CHECK(*c == 3);

        auto by_value = [](const item& x, const item& y) {
            return *x < *y;
        };
        corio::priority_queue<item, decltype(by_value)> p(0, by_value);
        p.put_nowait(std::make_unique<int>(5));
        p.put_nowait(std::make_unique<int>(2));
        co_await p.put(std::make_unique<int>(8));
        item smallest = co_await p.get();
        CHECK(*smallest == 2);
        CHECK(*p.get_nowait() == 5);

        corio::lifo_queue<item> s;
        s.put_nowait(std::make_unique<int>(1));
        s.put_nowait(std::make_unique<int>(2));
        item top = co_await s.get();
        CHECK(*top == 2);
    };
    corio::run(body());
}

TEST_CASE("queue: items keep their order while its store wraps around and grows", "[queue]") {
    auto body = []() -> corio::task<> {
        corio::queue<std::string> q;
        int put = 0;
        int got = 0;
        // Take fewer than are put each round: the head moves on, new items wrap around to
        // the start of the store's array behind it, and the array grows while they do.
        for (int round = 1; round <= 40; ++round) {
            for (int k = 0; k < round; ++k)
                q.put_nowait(std::to_string(put++));
            for (int k = 0; k < round / 2 + 1 && !q.empty(); ++k)
                CHECK(co_await q.get() == std::to_string(got++));
        }
        while (!q.empty())
            CHECK(q.get_nowait() == std::to_string(got++));
        CHECK(got == put);
    };
    corio::run(body());
}

TEST_CASE("queue: dump_tasks says what a waiter waits for", "[queue]") {
    auto body = []() -> corio::task<> {
        corio::queue<int> q(1);
        q.put_nowait(0);
        auto p = corio::spawn([&]() -> corio::task<> { co_await q.put(1); });
        corio::queue<int> e;
        auto g = corio::spawn([&]() -> corio::task<int> { co_return co_await e.get(); });
        co_await settle();
        std::ostringstream dump;
        corio::dump_tasks(dump);
        CHECK_THAT(dump.str(), Catch::Contains("queue.put, 0 waiters ahead"));
        CHECK_THAT(dump.str(), Catch::Contains("queue.get, 0 waiters ahead"));
        (void)q.get_nowait();
        e.put_nowait(1);
        co_await p;
        co_await g;
    };
    corio::run(body());
}

TEST_CASE("queue: getters and putters cancelled in the step they were served lose and "
          "duplicate nothing",
          "[queue]") {
    constexpr int n = 400;
    auto body = []() -> corio::task<> {
        // n getters wait; n items arrive; every third getter is cancelled before it runs.
        corio::queue<int> q;
        std::vector<corio::task_handle<int>> getters;
        for (int i = 0; i < n; ++i)
            getters.push_back(
                corio::spawn([&]() -> corio::task<int> { co_return co_await q.get(); }));
        co_await settle();
        for (int i = 0; i < n; ++i)
            q.put_nowait(i);
        for (int i = 0; i < n; i += 3)
            getters[static_cast<std::size_t>(i)].cancel();
        std::vector<int> seen;
        int cancelled = 0;
        for (auto& g : getters) {
            try {
                seen.push_back(co_await g);
            } catch (const corio::cancelled_error&) {
                ++cancelled;
            }
        }
        CHECK(cancelled == (n + 2) / 3);
        for (int v : drain(q))
            seen.push_back(v);
        // Every item exactly once; those the surviving getters took, in order.
        std::vector<int> sorted = seen;
        std::sort(sorted.begin(), sorted.end());
        std::vector<int> all(n);
        for (int i = 0; i < n; ++i)
            all[static_cast<std::size_t>(i)] = i;
        CHECK(sorted == all);
        CHECK(std::is_sorted(seen.begin(), seen.begin() + (n - cancelled)));

        // n putters wait on a full queue of size 1; as slots free, every third is cancelled.
        corio::queue<int> p(1);
        p.put_nowait(-1);
        std::vector<corio::task_handle<>> putters;
        for (int i = 0; i < n; ++i)
            putters.push_back(corio::spawn([&p, i]() -> corio::task<> { co_await p.put(i); }));
        co_await settle();
        std::vector<int> got;
        std::size_t next = 0; // the put the slot freed by get_nowait() is promised to
        while (next < n) {
            got.push_back(p.get_nowait());
            if (next % 3 == 0) {
                putters[next].cancel(); // before it runs: the slot passes to the next put
                ++next;
            }
            ++next;
            co_await settle();
        }
        while (!p.empty())
            got.push_back(p.get_nowait());
        std::vector<int> expected{-1};
        for (int i = 0; i < n; ++i) {
            bool c = false;
            try {
                co_await putters[static_cast<std::size_t>(i)];
            } catch (const corio::cancelled_error&) {
                c = true;
            }
            CHECK(c == (i % 3 == 0));
            if (!c)
                expected.push_back(i);
        }
        // Every put that was not cancelled inserted its item once, in order; no other did.
        CHECK(got == expected);
    };
    corio::run(body());
}

TEST_CASE("queue: shutdown(true) drops an item promised to a waiting get, and qsize() stays 0",
          "[queue][cancel]") {
    for (const bool cancel_the_get : {false, true}) {
        corio::queue<int> q;
        auto body = [&]() -> corio::task<> {
            auto getter = corio::spawn([&]() -> corio::task<int> { co_return co_await q.get(); });
            co_await settle();
            q.put_nowait(1); // promised to the waiting get
            CHECK(q.qsize() == 0);
            q.shutdown(true);
            CHECK(q.qsize() == 0);
            CHECK(q.empty());
            if (cancel_the_get) {
                getter.cancel(); // it has nothing to give back
                CHECK(co_await ended_cancelled(getter));
            } else {
                CHECK_THROWS_AS(co_await getter, corio::queue_shut_down);
            }
            CHECK(q.qsize() == 0);
            CHECK(q.empty());
        };
        run_virtual(body());
    }
}
