// SPDX-License-Identifier: MIT
// event, lock, semaphore, condition, barrier: FIFO order, hand-off on cancellation, errors,
// and a cancellation storm over every primitive.
#include <corio/fmt.hpp>

#include <algorithm>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "corio_test.hpp"

using namespace corio_test;

// ---------------------------------------------------------------------------------------------
// event

TEST_CASE("event: wait blocks until set, set wakes every waiter in order", "[sync][event]") {
    corio::event ev;
    std::string order;
    auto waiter = [&](char name) -> corio::task<> {
        co_await ev.wait();
        order += name;
    };
    auto body = [&]() -> corio::task<> {
        CHECK_FALSE(ev.is_set());
        auto a = corio::spawn(waiter('a'));
        auto b = corio::spawn(waiter('b'));
        auto c = corio::spawn(waiter('c'));
        co_await settle();
        CHECK(order.empty());
        ev.set();
        CHECK(ev.is_set());
        co_await corio::gather(a, b, c);
        CHECK(order == "abc");
        // Set: wait returns at once; after clear it blocks again.
        co_await ev.wait();
        ev.clear();
        CHECK_FALSE(ev.is_set());
        auto d = corio::spawn(waiter('d'));
        co_await settle();
        CHECK(order == "abc");
        ev.set();
        co_await d;
        CHECK(order == "abcd");
    };
    corio::run(body());
}

TEST_CASE("event: a cancelled waiter leaves, the others are still woken", "[sync][event]") {
    corio::event ev;
    int woken = 0;
    auto waiter = [&]() -> corio::task<> {
        co_await ev.wait();
        ++woken;
    };
    auto body = [&]() -> corio::task<> {
        auto a = corio::spawn(waiter());
        auto b = corio::spawn(waiter());
        auto c = corio::spawn(waiter());
        co_await settle();
        b.cancel();
        co_await settle();
        CHECK(b.cancelled());
        ev.set();
        co_await corio::gather(a, c);
        CHECK(woken == 2);
        auto r1 = co_await ended_cancelled(b);
        CHECK(r1);
    };
    corio::run(body());
}

TEST_CASE("event: a waiter woken and cancelled before it runs keeps its wake-up", "[sync][event]") {
    corio::event ev;
    bool passed = false;
    auto waiter = [&]() -> corio::task<> {
        co_await ev.wait();
        passed = true;
        co_await corio::sleep(1h); // the cancellation lands here
    };
    auto body = [&]() -> corio::task<> {
        auto a = corio::spawn(waiter());
        co_await settle();
        ev.set();
        a.cancel();
        auto r2 = co_await ended_cancelled(a);
        CHECK(r2);
        CHECK(passed);
    };
    run_virtual(body());
}

// ---------------------------------------------------------------------------------------------
// lock

TEST_CASE("lock: mutual exclusion, waiters served in arrival order", "[sync][lock]") {
    corio::lock l;
    std::string trace;
    int inside = 0;
    auto worker = [&](char name) -> corio::task<> {
        co_await l.acquire();
        CHECK(++inside == 1);
        trace += name;
        co_await corio::sleep(10ms);
        trace += name;
        --inside;
        l.release();
    };
    auto body = [&]() -> corio::task<> {
        co_await corio::gather(worker('a'), worker('b'), worker('c'), worker('d'));
        CHECK(trace == "aabbccdd");
        CHECK_FALSE(l.locked());
    };
    run_virtual(body());
}

TEST_CASE("lock: acquiring a free lock with nobody waiting does not suspend", "[sync][lock]") {
    corio::lock l;
    std::string trace;
    auto other = [&]() -> corio::task<> {
        trace += "other ";
        co_return;
    };
    auto body = [&]() -> corio::task<> {
        auto h = corio::spawn(other());
        co_await l.acquire(); // no yield: other has not run yet
        trace += "locked ";
        CHECK(l.locked());
        l.release();
        co_await h;
        CHECK(trace == "locked other ");
    };
    corio::run(body());
}

TEST_CASE("lock: a newcomer queues behind waiters even when the lock is momentarily free",
          "[sync][lock]") {
    corio::lock l;
    std::string trace;
    auto waiter = [&](char name) -> corio::task<> {
        co_await l.acquire();
        trace += name;
        l.release();
    };
    auto body = [&]() -> corio::task<> {
        co_await l.acquire();
        auto b = corio::spawn(waiter('b'));
        co_await settle();
        l.release(); // handed to b, which has not run yet
        CHECK(l.locked());
        co_await l.acquire(); // must wait behind b
        trace += 'a';
        l.release();
        co_await b;
        CHECK(trace == "ba");
        CHECK_FALSE(l.locked());
    };
    corio::run(body());
}

TEST_CASE("lock: a waiter cancelled in the step it was handed the lock passes it on",
          "[sync][lock]") {
    corio::lock l;
    std::string trace;
    auto waiter = [&](char name) -> corio::task<> {
        co_await l.acquire();
        trace += name;
        l.release();
    };
    auto body = [&]() -> corio::task<> {
        co_await l.acquire();
        auto b = corio::spawn(waiter('b'));
        auto c = corio::spawn(waiter('c'));
        co_await settle();
        l.release(); // granted to b...
        b.cancel();  // ...which is cancelled before it runs: c must get the lock
        auto r3 = co_await ended_cancelled(b);
        CHECK(r3);
        co_await c;
        CHECK(trace == "c");
        CHECK_FALSE(l.locked());

        // The same with nobody behind: the lock becomes free.
        co_await l.acquire();
        auto d = corio::spawn(waiter('d'));
        co_await settle();
        l.release();
        d.cancel();
        auto r4 = co_await ended_cancelled(d);
        CHECK(r4);
        CHECK_FALSE(l.locked());
    };
    corio::run(body());
}

TEST_CASE("lock: a cancelled waiter leaves the queue, the order of the others holds",
          "[sync][lock]") {
    corio::lock l;
    std::string trace;
    auto waiter = [&](char name) -> corio::task<> {
        co_await l.acquire();
        trace += name;
        l.release();
    };
    auto body = [&]() -> corio::task<> {
        co_await l.acquire();
        auto b = corio::spawn(waiter('b'));
        auto c = corio::spawn(waiter('c'));
        auto d = corio::spawn(waiter('d'));
        co_await settle();
        c.cancel();
        co_await settle();
        CHECK(c.cancelled());
        CHECK(l.locked());
        l.release();
        co_await corio::gather(b, d);
        CHECK(trace == "bd");
        auto r5 = co_await ended_cancelled(c);
        CHECK(r5);
    };
    corio::run(body());
}

TEST_CASE("lock: release of an unlocked lock throws invalid_state_error", "[sync][lock]") {
    corio::lock l;
    CHECK_THROWS_AS(l.release(), corio::invalid_state_error);
    CHECK_THROWS_WITH(l.release(), "corio: lock.release() called on an unlocked lock");
}

TEST_CASE("lock: acquire outside a running loop throws no_running_loop", "[sync][lock]") {
    corio::lock l;
    CHECK_THROWS_AS(l.acquire(), corio::no_running_loop);
}

TEST_CASE("lock: scoped() returns a move-only guard that releases", "[sync][lock]") {
    static_assert(!std::is_copy_constructible_v<corio::lock::guard>);
    corio::lock l;
    auto body = [&]() -> corio::task<> {
        {
            auto g = co_await l.scoped();
            CHECK(g.owns());
            CHECK(l.locked());
            corio::lock::guard moved = std::move(g);
            CHECK_FALSE(g.owns());
            CHECK(moved.owns());
            CHECK(l.locked());
        }
        CHECK_FALSE(l.locked());
        {
            auto g = co_await l.scoped();
            g.unlock();
            CHECK_FALSE(l.locked());
        }
        CHECK_FALSE(l.locked());
        // A failure inside the scope still releases.
        bool caught = false;
        try {
            auto g = co_await l.scoped();
            throw std::runtime_error("inside");
        } catch (const std::runtime_error&) {
            caught = true;
        }
        CHECK(caught);
        CHECK_FALSE(l.locked());
    };
    corio::run(body());
}

TEST_CASE("lock: aenter and aexit acquire and release, for with()", "[sync][lock]") {
    corio::lock l;
    auto body = [&]() -> corio::task<> {
        co_await l.aenter();
        CHECK(l.locked());
        co_await l.aexit(nullptr);
        CHECK_FALSE(l.locked());
    };
    corio::run(body());
}

TEST_CASE("with(lock, body) holds the lock for the body and releases it on failure",
          "[sync][lock][with]") {
    corio::lock l;
    std::string trace;
    auto body = [&]() -> corio::task<> {
        auto critical = [&](char name) -> corio::task<> {
            auto section = [&, name]() -> corio::task<> {
                CHECK(l.locked());
                trace += name;
                co_await corio::sleep(1ms);
                trace += name;
                if (name == 'b')
                    throw std::runtime_error("b failed");
            };
            co_await corio::with(l, section);
        };
        auto a = corio::spawn(critical('a'));
        auto b = corio::spawn(critical('b'));
        auto c = corio::spawn(critical('c'));
        auto outcomes = co_await corio::gather(corio::return_exceptions, a, b, c);
        CHECK(std::get<0>(outcomes).has_value());
        CHECK_FALSE(std::get<1>(outcomes).has_value());
        CHECK(std::get<2>(outcomes).has_value());
        CHECK(trace == "aabbcc"); // never interleaved, and b's failure released the lock
        CHECK_FALSE(l.locked());

        corio::semaphore sem(2);
        int inside = 0;
        int most = 0;
        auto limited = [&]() -> corio::task<> {
            auto section = [&]() -> corio::task<> {
                most = std::max(most, ++inside);
                co_await corio::sleep(1ms);
                --inside;
            };
            co_await corio::with(sem, section);
        };
        co_await corio::gather(limited(), limited(), limited(), limited());
        CHECK(most == 2);
    };
    run_virtual(body());
}

TEST_CASE("lock: dump_tasks says what a waiter waits for", "[sync][lock]") {
    corio::lock l;
    auto waiter = [&]() -> corio::task<> {
        co_await l.acquire();
        l.release();
    };
    auto body = [&]() -> corio::task<> {
        co_await l.acquire();
        auto b = corio::spawn(waiter(), "b");
        auto c = corio::spawn(waiter(), "c");
        co_await settle();
        std::ostringstream dump;
        corio::dump_tasks(dump);
        CHECK_THAT(dump.str(), Catch::Contains("lock.acquire, 0 waiters ahead"));
        CHECK_THAT(dump.str(), Catch::Contains("lock.acquire, 1 waiter ahead"));
        l.release();
        co_await corio::gather(b, c);
    };
    corio::run(body());
}

TEST_CASE("every primitive's waiter describes itself in dump_tasks", "[sync]") {
    corio::event ev;
    corio::semaphore sem(0);
    corio::lock cl;
    corio::condition cond(cl);
    corio::barrier bar(3);
    auto body = [&]() -> corio::task<> {
        auto e = corio::spawn([&]() -> corio::task<> { co_await ev.wait(); });
        auto s = corio::spawn([&]() -> corio::task<> { co_await sem.acquire(); });
        auto c = corio::spawn([&]() -> corio::task<> {
            auto g = co_await cl.scoped();
            co_await cond.wait();
        });
        auto b = corio::spawn([&]() -> corio::task<> { (void)co_await bar.wait(); });
        co_await settle();
        std::ostringstream dump;
        corio::dump_tasks(dump);
        const std::string text = dump.str();
        CHECK_THAT(text, Catch::Contains("event.wait, 0 waiters ahead"));
        CHECK_THAT(text, Catch::Contains("semaphore.acquire, 0 waiters ahead"));
        CHECK_THAT(text, Catch::Contains("condition.wait, 0 waiters ahead"));
        CHECK_THAT(text, Catch::Contains("barrier.wait, 0 waiters ahead"));
        ev.set();
        sem.release();
        co_await cl.acquire();
        cond.notify();
        cl.release();
        bar.abort();
        co_await corio::gather(e, s, c);
        CHECK_THROWS_AS(co_await b, corio::broken_barrier_error);
    };
    corio::run(body());
}

TEST_CASE("the primitives' awaitables can be passed to gather", "[sync]") {
    corio::event ev;
    corio::lock l;
    corio::semaphore sem(1);
    auto setter = [&]() -> corio::task<> {
        co_await corio::sleep(0s);
        ev.set();
    };
    auto body = [&]() -> corio::task<> {
        co_await corio::gather(ev.wait(), ev.wait(), setter(), l.acquire(), sem.acquire());
        CHECK(l.locked());
        CHECK(sem.locked());
        l.release();
        sem.release();
    };
    corio::run(body());
}

// ---------------------------------------------------------------------------------------------
// semaphore

TEST_CASE("semaphore: at most n holders, served in arrival order", "[sync][semaphore]") {
    corio::semaphore sem(2);
    std::string trace;
    int inside = 0;
    int most = 0;
    auto worker = [&](char name) -> corio::task<> {
        auto g = co_await sem.scoped();
        ++inside;
        most = std::max(most, inside);
        trace += name;
        co_await corio::sleep(10ms);
        --inside;
    };
    auto body = [&]() -> corio::task<> {
        co_await corio::gather(worker('a'), worker('b'), worker('c'), worker('d'), worker('e'));
        CHECK(most == 2);
        CHECK(trace == "abcde");
        CHECK(sem.value() == 2);
        CHECK_FALSE(sem.locked());
    };
    run_virtual(body());
}

TEST_CASE("semaphore: locked() and value() follow acquire and release", "[sync][semaphore]") {
    corio::semaphore sem(1);
    auto body = [&]() -> corio::task<> {
        CHECK_FALSE(sem.locked());
        co_await sem.acquire();
        CHECK(sem.locked());
        CHECK(sem.value() == 0);
        sem.release();
        sem.release(); // unbounded: the counter may grow past its initial value
        CHECK(sem.value() == 2);
        co_await sem.aenter();
        CHECK(sem.value() == 1);
        co_await sem.aexit(nullptr);
        CHECK(sem.value() == 2);
    };
    corio::run(body());
    CHECK_THROWS_AS(corio::semaphore(-1), std::invalid_argument);
}

TEST_CASE("semaphore: a newcomer waits behind waiters; a permit handed to a cancelled "
          "waiter goes to the next",
          "[sync][semaphore]") {
    corio::semaphore sem(1);
    std::string trace;
    auto waiter = [&](char name) -> corio::task<> {
        co_await sem.acquire();
        trace += name;
        sem.release();
    };
    auto body = [&]() -> corio::task<> {
        co_await sem.acquire();
        auto b = corio::spawn(waiter('b'));
        auto c = corio::spawn(waiter('c'));
        auto d = corio::spawn(waiter('d'));
        co_await settle();
        sem.release(); // to b
        b.cancel();    // b passes it to c
        CHECK(sem.locked());
        co_await sem.acquire(); // behind d
        trace += 'a';
        sem.release();
        auto r6 = co_await ended_cancelled(b);
        CHECK(r6);
        co_await corio::gather(c, d);
        CHECK(trace == "cda");
        CHECK(sem.value() == 1);
    };
    corio::run(body());
}

TEST_CASE("semaphore: a permit released while woken waiters have not run waits for them "
          "(FIFO, as asyncio 3.12)",
          "[sync][semaphore]") {
    corio::semaphore sem(1);
    std::vector<int> order;
    bool locked_while_woken = false;
    auto c1 = [&]() -> corio::task<> {
        co_await sem.acquire();
        order.push_back(1);
    };
    auto c2 = [&]() -> corio::task<> {
        co_await sem.acquire();
        order.push_back(2);
        sem.release(); // c3 was handed a permit and has not run yet: it comes first
        locked_while_woken = sem.locked();
        co_await sem.acquire();
        order.push_back(4);
    };
    auto c3 = [&]() -> corio::task<> {
        co_await sem.acquire();
        order.push_back(3);
    };
    auto body = [&]() -> corio::task<> {
        auto t1 = corio::spawn(c1);
        auto t2 = corio::spawn(c2);
        auto t3 = corio::spawn(c3);
        co_await corio::sleep(0s);
        sem.release();
        sem.release();
        co_await corio::gather(t1, t2, t3);
        CHECK(order == std::vector<int>{1, 2, 3, 4});
        CHECK(locked_while_woken);
        CHECK(sem.value() == 0);
    };
    run_virtual(body());
}

TEST_CASE("semaphore: a woken waiter cancelled before it runs passes its permit to a newcomer "
          "queued behind it",
          "[sync][semaphore]") {
    corio::semaphore sem(1);
    std::string trace;
    auto holder = [&](char name) -> corio::task<> {
        co_await sem.acquire();
        trace += name;
        sem.release();
    };
    auto body = [&]() -> corio::task<> {
        co_await sem.acquire();
        auto b = corio::spawn(holder('b'));
        co_await settle();                             // b waits
        auto x = corio::spawn([&]() -> corio::task<> { // runs before b, which is woken next
            b.cancel();
            co_return;
        });
        sem.release(); // handed to b
        sem.release(); // a free permit, but b has not run: a newcomer must queue
        CHECK(sem.locked());
        co_await sem.acquire(); // queued; b, cancelled, gives its permit to this task
        trace += 'a';
        CHECK(co_await ended_cancelled(b));
        CHECK(sem.value() == 1);
        sem.release();
        co_await x;
        CHECK(trace == "a");
        CHECK(sem.value() == 2);
        CHECK_FALSE(sem.locked());
    };
    run_virtual(body());
}

TEST_CASE("bounded_semaphore: release past the initial value throws", "[sync][semaphore]") {
    corio::bounded_semaphore sem(2);
    auto body = [&]() -> corio::task<> {
        co_await sem.acquire();
        sem.release();
        CHECK(sem.value() == 2);
        CHECK_THROWS_AS(sem.release(), std::logic_error);
        CHECK_THROWS_AS(sem.release(), corio::invalid_state_error);
        CHECK_THROWS_WITH(sem.release(), Catch::Contains("bounded_semaphore.release()"));
        CHECK(sem.value() == 2);
        {
            auto g = co_await sem.scoped();
            CHECK(sem.value() == 1);
        }
        CHECK(sem.value() == 2);
    };
    corio::run(body());
}

// ---------------------------------------------------------------------------------------------
// condition

TEST_CASE("condition: wait and notify need the lock", "[sync][condition]") {
    corio::lock l;
    corio::condition cond(l);
    auto body = [&]() -> corio::task<> {
        CHECK_THROWS_AS(co_await cond.wait(), corio::invalid_state_error);
        CHECK_THROWS_AS(cond.notify(), corio::invalid_state_error);
        CHECK_THROWS_AS(cond.notify_all(), corio::invalid_state_error);
        co_await l.acquire();
        cond.notify(); // nobody waits: nothing happens
        cond.notify_all();
        l.release();
    };
    corio::run(body());
}

TEST_CASE("condition: notify wakes n waiters in order, each holding the lock",
          "[sync][condition]") {
    corio::lock l;
    corio::condition cond(l);
    std::string trace;
    auto waiter = [&](char name) -> corio::task<> {
        co_await l.acquire();
        co_await cond.wait();
        CHECK(l.locked());
        trace += name;
        l.release();
    };
    auto body = [&]() -> corio::task<> {
        auto a = corio::spawn(waiter('a'));
        auto b = corio::spawn(waiter('b'));
        auto c = corio::spawn(waiter('c'));
        auto d = corio::spawn(waiter('d'));
        co_await settle();
        CHECK_FALSE(l.locked()); // every waiter released it
        co_await l.acquire();
        cond.notify(2);
        l.release();
        co_await corio::gather(a, b);
        CHECK(trace == "ab");
        co_await l.acquire();
        cond.notify_all();
        l.release();
        co_await corio::gather(c, d);
        CHECK(trace == "abcd");
    };
    corio::run(body());
}

TEST_CASE("condition: wait_for checks the predicate after each notification", "[sync][condition]") {
    corio::lock l;
    corio::condition cond(l);
    int value = 0;
    int checks = 0;
    auto consumer = [&]() -> corio::task<int> {
        auto g = co_await l.scoped();
        auto pred = [&] {
            ++checks;
            return value >= 3;
        };
        bool ok = co_await cond.wait_for(pred);
        CHECK(ok);
        co_return value;
    };
    auto body = [&]() -> corio::task<> {
        auto h = corio::spawn(consumer());
        for (int i = 0; i < 3; ++i) {
            co_await corio::sleep(1ms);
            auto g = co_await l.scoped();
            ++value;
            cond.notify();
        }
        auto r7 = co_await h;
        CHECK(r7 == 3);
        CHECK(checks == 4);
    };
    run_virtual(body());
}

TEST_CASE("condition: a cancelled wait re-acquires the lock before it rethrows",
          "[sync][condition]") {
    corio::lock l;
    corio::condition cond(l);
    std::string trace;
    auto waiter = [&]() -> corio::task<> {
        co_await l.acquire();
        try {
            co_await cond.wait();
        } catch (const corio::cancelled_error&) {
            trace += l.locked() ? "W-locked " : "W-unlocked ";
            l.release();
            throw;
        }
    };
    auto body = [&]() -> corio::task<> {
        auto w = corio::spawn(waiter());
        co_await settle();
        co_await l.acquire(); // main holds the lock while w is cancelled
        w.cancel();
        co_await corio::sleep(10ms);
        CHECK(trace.empty()); // w waits for the lock before it may see its cancellation
        CHECK_FALSE(w.done());
        trace += "main-release ";
        l.release();
        auto r8 = co_await ended_cancelled(w);
        CHECK(r8);
        CHECK(trace == "main-release W-locked ");
        CHECK_FALSE(l.locked());
    };
    run_virtual(body());
}

TEST_CASE("condition: a waiter notified, then cancelled before it runs or while it re-acquires "
          "the lock, passes the notification on",
          "[sync][condition]") {
    for (const bool while_reacquiring : {false, true}) {
        corio::lock l;
        corio::condition cond(l);
        std::string trace;
        auto waiter = [&](char name) -> corio::task<> {
            auto g = co_await l.scoped();
            co_await cond.wait();
            trace += name;
        };
        auto body = [&]() -> corio::task<> {
            auto a = corio::spawn(waiter('a'));
            auto b = corio::spawn(waiter('b'));
            co_await settle();
            co_await l.acquire();
            cond.notify(1); // a is notified...
            if (while_reacquiring)
                co_await settle(); // ...and waits for the lock this task holds
            a.cancel();            // ...and is cancelled: b gets the notification
            co_await settle();
            l.release();
            CHECK(co_await ended_cancelled(a));
            co_await settle();
            CHECK(b.done());
            if (!b.done())
                b.cancel(); // the notification was lost: end the test cleanly
            co_await ended_cancelled(b);
            CHECK(trace == "b");
            CHECK_FALSE(l.locked());
        };
        run_virtual(body());
    }
}

// ---------------------------------------------------------------------------------------------
// barrier

TEST_CASE("barrier: parties wait for each other and get arrival indices", "[sync][barrier]") {
    corio::barrier b(3);
    std::vector<std::size_t> got(6, 99);
    std::string trace;
    auto party = [&](int i, std::chrono::milliseconds delay) -> corio::task<> {
        co_await corio::sleep(delay);
        got[static_cast<std::size_t>(i)] = co_await b.wait();
        trace += static_cast<char>('0' + i);
    };
    auto body = [&]() -> corio::task<> {
        CHECK(b.parties() == 3);
        auto h0 = corio::spawn(party(0, 3ms));
        auto h1 = corio::spawn(party(1, 1ms));
        auto h2 = corio::spawn(party(2, 2ms));
        co_await corio::sleep(2500us);
        CHECK(b.n_waiting() == 2);
        CHECK(trace.empty());
        co_await corio::gather(h0, h1, h2);
        CHECK(got[1] == 0);
        CHECK(got[2] == 1);
        CHECK(got[0] == 2);
        CHECK(trace == "012"); // the last arrival runs on, then the others in order
        // The next round works the same.
        auto h3 = corio::spawn(party(3, 0ms));
        auto h4 = corio::spawn(party(4, 0ms));
        auto h5 = corio::spawn(party(5, 0ms));
        co_await corio::gather(h3, h4, h5);
        CHECK(got[3] == 0);
        CHECK(got[4] == 1);
        CHECK(got[5] == 2);
        CHECK(b.n_waiting() == 0);
        CHECK_FALSE(b.broken());
    };
    run_virtual(body());
    CHECK_THROWS_AS(corio::barrier(0), std::invalid_argument);
}

TEST_CASE("barrier: abort breaks it for waiters and newcomers, reset repairs it",
          "[sync][barrier]") {
    corio::barrier b(3);
    int broken = 0;
    auto party = [&]() -> corio::task<> {
        try {
            co_await b.wait();
        } catch (const corio::broken_barrier_error&) {
            ++broken;
        }
    };
    auto body = [&]() -> corio::task<> {
        auto h1 = corio::spawn(party());
        auto h2 = corio::spawn(party());
        co_await settle();
        b.abort();
        CHECK(b.broken());
        co_await corio::gather(h1, h2);
        CHECK(broken == 2);
        CHECK_THROWS_AS(co_await b.wait(), corio::broken_barrier_error);
        b.reset();
        CHECK_FALSE(b.broken());
        // reset() with waiters: they get broken_barrier_error, the barrier stays usable.
        auto h3 = corio::spawn(party());
        co_await settle();
        CHECK(b.n_waiting() == 1);
        b.reset();
        co_await h3;
        CHECK(broken == 3);
        CHECK_FALSE(b.broken());
        auto w1 = corio::spawn([&]() -> corio::task<std::size_t> { co_return co_await b.wait(); });
        auto w2 = corio::spawn([&]() -> corio::task<std::size_t> { co_return co_await b.wait(); });
        co_await settle();
        std::size_t last = co_await b.wait();
        CHECK(last == 2);
        auto r10 = co_await w1;
        CHECK(r10 == 0);
        auto r11 = co_await w2;
        CHECK(r11 == 1);
    };
    corio::run(body());
}

TEST_CASE("barrier: a task that passed keeps its index when abort() or reset() comes before it "
          "resumes",
          "[sync][barrier]") {
    for (const bool abort : {true, false}) {
        corio::barrier b(2);
        auto body = [&]() -> corio::task<> {
            auto first =
                corio::spawn([&]() -> corio::task<std::size_t> { co_return co_await b.wait(); });
            co_await settle();
            CHECK(co_await b.wait() == 1); // the barrier trips; `first` has not resumed yet
            if (abort)
                b.abort(); // asyncio raises BrokenBarrierError in `first`; corio keeps its pass
            else
                b.reset();
            CHECK(co_await first == 0);
            CHECK(b.broken() == abort);
        };
        corio::run(body());
    }
}

TEST_CASE("barrier: a cancelled waiter no longer counts as arrived", "[sync][barrier]") {
    corio::barrier b(2);
    auto body = [&]() -> corio::task<> {
        auto w1 = corio::spawn([&]() -> corio::task<std::size_t> { co_return co_await b.wait(); });
        co_await settle();
        CHECK(b.n_waiting() == 1);
        w1.cancel();
        auto r12 = co_await ended_cancelled(w1);
        CHECK(r12);
        CHECK(b.n_waiting() == 0);
        auto w2 = corio::spawn([&]() -> corio::task<std::size_t> { co_return co_await b.wait(); });
        co_await settle();
        std::size_t mine = co_await b.wait();
        CHECK(mine == 1);
        auto r13 = co_await w2;
        CHECK(r13 == 0);
    };
    corio::run(body());
}

TEST_CASE("broken_barrier_error is a std::runtime_error with a name for fmt", "[sync][barrier]") {
    corio::broken_barrier_error e;
    const std::runtime_error& base = e;
    CHECK(std::string(base.what()) == "corio: barrier is broken");
    CHECK(fmt::format("{}", e) == "broken_barrier_error: corio: barrier is broken");
}

TEST_CASE("lock and semaphore: many waiters cancelled in the step they were served",
          "[sync][storm]") {
    constexpr int n = 300;
    corio::lock l;
    corio::semaphore sem(0);
    std::vector<int> lock_order;
    std::vector<int> sem_order;
    auto body = [&]() -> corio::task<> {
        co_await l.acquire();
        std::vector<corio::task_handle<>> lockers;
        std::vector<corio::task_handle<>> takers;
        for (int i = 0; i < n; ++i) {
            lockers.push_back(corio::spawn([&l, &lock_order, i]() -> corio::task<> {
                co_await l.acquire();
                lock_order.push_back(i);
                co_await corio::sleep(0s);
                l.release();
            }));
            takers.push_back(corio::spawn([&sem, &sem_order, i]() -> corio::task<> {
                co_await sem.acquire();
                sem_order.push_back(i);
            }));
        }
        co_await corio::sleep(0s);
        l.release(); // to locker 0, cancelled at once: the lock passes to 1
        lockers[0].cancel();
        for (std::size_t i = 0; i < n; i += 2) {
            sem.release(); // to taker i, cancelled at once: the permit passes to i + 1
            takers[i].cancel();
        }
        for (std::size_t i = 3; i < n; i += 3)
            lockers[i].cancel(); // still queued: each leaves the queue
        std::vector<int> expected_lock;
        for (int i = 0; i < n; ++i) {
            bool c = false;
            try {
                co_await lockers[static_cast<std::size_t>(i)];
            } catch (const corio::cancelled_error&) {
                c = true;
            }
            CHECK(c == (i % 3 == 0));
            if (!c)
                expected_lock.push_back(i);
        }
        CHECK(lock_order == expected_lock);
        CHECK_FALSE(l.locked());
        std::vector<int> expected_sem;
        for (int i = 0; i < n; ++i) {
            bool c = false;
            try {
                co_await takers[static_cast<std::size_t>(i)];
            } catch (const corio::cancelled_error&) {
                c = true;
            }
            CHECK(c == (i % 2 == 0));
            if (!c)
                expected_sem.push_back(i);
        }
        CHECK(sem_order == expected_sem);
        CHECK(sem.value() == 0);
    };
    corio::run(body());
}

// ---------------------------------------------------------------------------------------------
// storm

TEST_CASE("cancellation storm: thousands of tasks blocked on every primitive, all cancelled",
          "[sync][storm]") {
    constexpr int per_kind = 2500; // 8 kinds: 20,000 tasks
    corio::lock l;
    corio::semaphore sem(1);
    corio::event ev;
    corio::queue<int> getq;
    corio::queue<int> putq(1);
    corio::lock cond_lock;
    corio::condition cond(cond_lock);
    corio::barrier bar(per_kind + 1);

    auto body = [&]() -> corio::task<> {
        co_await l.acquire();
        co_await sem.acquire();
        putq.put_nowait(0);
        std::vector<corio::task_handle<>> handles;
        handles.reserve(per_kind * 8);
        for (int i = 0; i < per_kind; ++i) {
            handles.push_back(corio::spawn([&]() -> corio::task<> { co_await l.acquire(); }));
            handles.push_back(corio::spawn([&]() -> corio::task<> { co_await sem.acquire(); }));
            handles.push_back(corio::spawn([&]() -> corio::task<> { co_await ev.wait(); }));
            handles.push_back(corio::spawn([&]() -> corio::task<> { (void)co_await getq.get(); }));
            handles.push_back(corio::spawn([&]() -> corio::task<> { co_await putq.put(1); }));
            handles.push_back(corio::spawn([&]() -> corio::task<> {
                auto g = co_await cond_lock.scoped();
                co_await cond.wait();
            }));
            handles.push_back(corio::spawn([&]() -> corio::task<> { (void)co_await bar.wait(); }));
            handles.push_back(corio::spawn([&]() -> corio::task<> { co_await corio::sleep(1h); }));
        }
        co_await settle();
        CHECK(bar.n_waiting() == per_kind);
        for (auto& h : handles)
            CHECK_FALSE(h.done());
        for (auto& h : handles)
            h.cancel();
        int cancelled = 0;
        for (auto& h : handles)
            if (co_await ended_cancelled(h))
                ++cancelled;
        CHECK(cancelled == per_kind * 8);
        for (auto& h : handles)
            CHECK(h.cancelled());

        // Every primitive still works.
        CHECK(l.locked());
        l.release();
        CHECK_FALSE(l.locked());
        co_await l.acquire();
        l.release();
        sem.release();
        CHECK(sem.value() == 1);
        co_await sem.acquire();
        sem.release();
        CHECK_FALSE(cond_lock.locked());
        ev.set();
        co_await ev.wait();
        getq.put_nowait(7);
        auto r14 = co_await getq.get();
        CHECK(r14 == 7);
        CHECK(putq.qsize() == 1);
        auto r15 = co_await putq.get();
        CHECK(r15 == 0);
        co_await putq.put(2);
        CHECK(putq.get_nowait() == 2);
        CHECK(bar.n_waiting() == 0);
        auto w = corio::spawn([&]() -> corio::task<> {
            co_await cond_lock.acquire();
            co_await cond.wait();
            cond_lock.release();
        });
        co_await settle();
        co_await cond_lock.acquire();
        cond.notify();
        cond_lock.release();
        co_await w;
    };
    corio::run(body());
}
