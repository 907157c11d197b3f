"""Orderings of CPython's asyncio that crates/asyncio-loop must reproduce (issue 4, points 1-4,
plus Queue, Event, Lock and Semaphore).

Usage: python3 asyncio_orderings.py SCENARIO   prints one event per line
       python3 asyncio_orderings.py --list     prints the scenario names

Each scenario has a twin in crates/asyncio-loop/tests/ordering_<scenario>.rs that runs the same
program on the Rust loop and compares its lines with tests/fixtures/<scenario>.txt, written by
regen-fixtures.sh. Recorded with CPython 3.11; 3.12 gives the same lines for every scenario here:
_run_once, call_soon/call_at, Future callbacks, Task.__step, sleep and gather did not change
ordering between them. wait_for changed implementation (3.11: an inner task plus a timer that
releases the waiter and then cancels and awaits the inner task; 3.12: `async with timeout()`
around the awaitable, in the same task), but in both the inner coroutine sees CancelledError
before the caller sees TimeoutError, so the printed order is the same. The Lock and Semaphore
scenarios pin down the fairness of 3.12; locks.py and queues.py are identical in 3.11.7 and 3.12.1.
"""

import asyncio
import os
import signal
import sys

out = print


def main_sleep0():
    """Issue 4 point 1: ready handles, new tasks' first steps, and a due timer."""
    async def a():
        out("A-start")
        await asyncio.sleep(0)
        out("A-after")

    async def b():
        out("B-start")
        await asyncio.sleep(0)
        out("B-after")

    async def main():
        loop = asyncio.get_running_loop()
        loop.call_later(0, out, "L")
        loop.call_soon(out, "S1")
        ta = asyncio.create_task(a())
        tb = asyncio.create_task(b())
        loop.call_soon(out, "S2")
        out("main-before-await")
        await asyncio.sleep(0)
        out("main-after-sleep0")
        await asyncio.gather(ta, tb)
        await asyncio.sleep(0)
        out("main-done")

    asyncio.run(main())


def done_callbacks():
    """Issue 4 point 2: done-callbacks and nested call_soon go through the ready queue."""
    async def main():
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        fut.add_done_callback(lambda f: out("done_cb"))
        fut.set_result(1)
        out("after-set_result")

        def cb1():
            out("cb1")
            loop.call_soon(out, "cb1-nested")

        loop.call_soon(cb1)
        loop.call_soon(out, "cb2")
        for _ in range(3):
            await asyncio.sleep(0)

    asyncio.run(main())


def call_later_negative():
    """Issue 4 point 3 (test_base_events.test_call_later_negative_delays)."""
    loop = asyncio.new_event_loop()
    loop.call_later(-1, out, "a")
    loop.call_later(-2, out, "b")
    loop.call_later(0.001, loop.stop)
    loop.run_forever()
    loop.close()


def call_at_heap_order():
    """Issue 4 point 3: ten call_at at one time come out in heapq order, not FIFO. The order
    depends on the heap's shape, so it is printed alone and with one later timer in the heap."""
    loop = asyncio.new_event_loop()
    when = loop.time()
    for i in range(10):
        loop.call_at(when, out, f"alone {i}")
    loop.call_soon(loop.stop)
    loop.run_forever()
    when = loop.time()
    for i in range(10):
        loop.call_at(when, out, f"with-later {i}")
    loop.call_at(when + 0.001, loop.stop)
    loop.run_forever()
    loop.close()


def cancel_before_start():
    """Issue 4 point 4: a task cancelled before its first step never runs its body."""
    async def body():
        out("body-ran")

    async def main():
        task = asyncio.create_task(body())
        out(f"cancel-returned {task.cancel()}")
        try:
            await task
        except asyncio.CancelledError:
            out("main-saw-cancelled")
        out(f"task-cancelled {task.cancelled()}")

    asyncio.run(main())


def cancel_at_await():
    """Issue 4 point 4: cancel() makes the task see CancelledError at its current await."""
    async def child():
        out("child-start")
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            out(f"child-saw-cancelled cancelling={asyncio.current_task().cancelling()}")
            raise

    async def main():
        task = asyncio.create_task(child())
        await asyncio.sleep(0)
        out(f"cancel-returned {task.cancel()}")
        try:
            await task
        except asyncio.CancelledError:
            out("main-saw-cancelled")
        out(f"task-cancelled {task.cancelled()}")

    asyncio.run(main())


def cancel_while_ready():
    """A task cancelled while its next step is already scheduled (no future to cancel) gets
    _must_cancel, and CancelledError is thrown in at the await it resumes from."""
    async def child():
        out("child-start")
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            out(f"child-saw-cancelled cancelling={asyncio.current_task().cancelling()}")
            raise
        out("child-not-cancelled")

    async def main():
        task = asyncio.create_task(child())
        await asyncio.sleep(0)
        out(f"cancel-returned {task.cancel()}")
        out(f"cancel-again-returned {task.cancel()} cancelling={task.cancelling()}")
        try:
            await task
        except asyncio.CancelledError:
            out("main-saw-cancelled")
        out(f"task-cancelled {task.cancelled()} cancel-after-done {task.cancel()}")

    asyncio.run(main())


def wait_for_timeout():
    """Issue 4 point 4: wait_for(slow, 0.05): slow sees the cancellation, the caller a timeout."""
    async def slow():
        out("slow-start")
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            out("slow-saw-cancelled")
            raise
        return "slow"

    async def main():
        try:
            await asyncio.wait_for(slow(), 0.05)
        except TimeoutError:
            out("main-saw-timeout")
        out(f"cancelling {asyncio.current_task().cancelling()}")

    asyncio.run(main())


def wait_for_zero():
    """wait_for(aw, 0) in 3.12 wraps aw in a task, cancels it before its first step and waits
    for that (_cancel_and_wait): the body never runs and the caller resumes three passes later.
    (3.11 takes the same path for timeout <= 0.)"""
    async def inner():
        out("inner-ran")
        return 1

    async def main():
        loop = asyncio.get_running_loop()

        def chain(n):
            out(f"pass {n}")
            if n < 4:  # pass 5 would run inside asyncio.run's shutdown passes
                loop.call_soon(chain, n + 1)

        loop.call_soon(chain, 1)
        try:
            await asyncio.wait_for(inner(), 0)
        except TimeoutError:
            out("main-saw-timeout")

    asyncio.run(main())


def gather_errors():
    """Issue 4 point 4: gather's first error propagates and the other child keeps running;
    return_exceptions gives outcomes in argument order."""
    async def boom():
        await asyncio.sleep(0)
        raise ValueError("x")

    async def long():
        out("long-start")
        await asyncio.sleep(0.02)
        out("long-done")
        return "ok"

    async def fast():
        return "fast"

    async def slow():
        await asyncio.sleep(0.01)
        return "slow"

    async def main():
        long_task = asyncio.create_task(long())
        try:
            await asyncio.gather(boom(), long_task)
        except ValueError as error:
            out(f"gather-raised ValueError {error}")
        out(f"long cancelled={long_task.cancelled()} done={long_task.done()}")
        out(f"long-result {await long_task}")
        results = await asyncio.gather(boom(), fast(), return_exceptions=True)
        out("return_exceptions " + " ".join(
            f"ValueError {r}" if isinstance(r, ValueError) else r for r in results))
        out("in-order " + " ".join(await asyncio.gather(slow(), fast())))

    asyncio.run(main())


def gather_cancel():
    """Cancelling a task that awaits a gather cancels every child (_GatheringFuture.cancel);
    the gather ends cancelled once the children have seen it."""
    async def child(name):
        out(f"{name}-start")
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            out(f"{name}-saw-cancelled")
            raise

    async def waiter():
        try:
            await asyncio.gather(child("c1"), child("c2"))
        except asyncio.CancelledError:
            out("waiter-saw-cancelled")
            raise

    async def main():
        task = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        out(f"cancel-returned {task.cancel()}")
        try:
            await task
        except asyncio.CancelledError:
            out("main-saw-cancelled")
        out(f"task-cancelled {task.cancelled()}")

    asyncio.run(main())


def queue_bounded():
    """Queue(maxsize=2), one producer, two consumers (queues.py: getter/putter futures,
    _wakeup_next), then task_done/join."""
    async def producer(queue):
        for item in range(5):
            out(f"put-wait {item} qsize={queue.qsize()} full={queue.full()}")
            await queue.put(item)
            out(f"put-done {item}")
        for _ in range(2):
            await queue.put(None)
        out("producer-done")

    async def consumer(name, queue):
        while True:
            item = await queue.get()
            out(f"{name}-got {item}")
            queue.task_done()
            if item is None:
                break
            await asyncio.sleep(0)
        out(f"{name}-done")

    async def main():
        queue = asyncio.Queue(maxsize=2)
        out(f"empty={queue.empty()} full={queue.full()}")
        try:
            queue.get_nowait()
        except asyncio.QueueEmpty:
            out("get_nowait QueueEmpty")
        consumers = [asyncio.create_task(consumer(name, queue)) for name in ("c1", "c2")]
        prod = asyncio.create_task(producer(queue))
        await prod
        out(f"producer-awaited qsize={queue.qsize()}")
        await queue.join()
        out("join-returned")
        await asyncio.gather(*consumers)
        queue.put_nowait("x")
        queue.put_nowait("y")
        try:
            queue.put_nowait("z")
        except asyncio.QueueFull:
            out("put_nowait QueueFull")
        out(f"get_nowait {queue.get_nowait()} qsize={queue.qsize()}")

    asyncio.run(main())


def queue_unbounded():
    """Unbounded Queue: put never waits; getters wake in FIFO order; join waits for task_done."""
    async def getter(name, queue):
        item = await queue.get()
        out(f"{name}-got {item}")
        await asyncio.sleep(0)
        queue.task_done()
        out(f"{name}-task_done")

    async def main():
        queue = asyncio.Queue()
        tasks = [asyncio.create_task(getter(name, queue)) for name in ("g1", "g2", "g3")]
        await asyncio.sleep(0)
        for item in range(3):
            await queue.put(item)
            out(f"put {item} full={queue.full()}")
        async def joiner():
            await queue.join()
            out("join-returned")
        await asyncio.gather(joiner(), *tasks)
        try:
            queue.task_done()
        except ValueError:
            out("task_done ValueError")

    asyncio.run(main())


def event_wait():
    """locks.Event: set wakes every waiter in the order they waited; clear; wait when set."""
    async def waiter(name, event):
        out(f"{name}-wait")
        await event.wait()
        out(f"{name}-woke is_set={event.is_set()}")

    async def main():
        event = asyncio.Event()
        tasks = [asyncio.create_task(waiter(name, event)) for name in ("w1", "w2", "w3")]
        await asyncio.sleep(0)
        event.set()
        out("set")
        event.clear()
        out(f"clear is_set={event.is_set()}")
        await asyncio.gather(*tasks)
        event.set()
        await event.wait()
        out("wait-when-set")

    asyncio.run(main())


def lock_fifo():
    """locks.Lock (3.12): FIFO waiters; a cancelled waiter passes the wake-up to the next."""
    async def worker(name, lock):
        out(f"{name}-acquire")
        try:
            await lock.acquire()
        except asyncio.CancelledError:
            out(f"{name}-cancelled")
            raise
        out(f"{name}-locked")
        await asyncio.sleep(0)
        lock.release()
        out(f"{name}-released")

    async def main():
        lock = asyncio.Lock()
        await lock.acquire()
        out(f"main-locked {lock.locked()}")
        tasks = [asyncio.create_task(worker(name, lock)) for name in ("w1", "w2", "w3")]
        await asyncio.sleep(0)
        lock.release()
        out("main-released")
        tasks[0].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        out(f"locked {lock.locked()}")
        try:
            lock.release()
        except RuntimeError:
            out("release RuntimeError")

    asyncio.run(main())


def semaphore_fair():
    """locks.Semaphore(2) (3.12's fairness fix): acquire, release, locked, FIFO wake-ups."""
    async def worker(name, semaphore):
        out(f"{name}-acquire locked={semaphore.locked()}")
        await semaphore.acquire()
        out(f"{name}-in")
        await asyncio.sleep(0)
        semaphore.release()
        out(f"{name}-out")

    async def main():
        semaphore = asyncio.Semaphore(2)
        tasks = [asyncio.create_task(worker(f"w{i}", semaphore)) for i in range(1, 6)]
        await asyncio.gather(*tasks)
        out(f"locked={semaphore.locked()}")

    asyncio.run(main())


def queue_cancel_getter():
    """queues.Queue.get: a getter cancelled after its wake-up passes it to the next getter;
    a putter cancelled while the queue is full leaves the queue as it was."""
    async def getter(name, queue):
        try:
            item = await queue.get()
        except asyncio.CancelledError:
            out(f"{name}-cancelled qsize={queue.qsize()}")
            raise
        out(f"{name}-got {item}")

    async def main():
        queue = asyncio.Queue(maxsize=1)
        g1 = asyncio.create_task(getter("g1", queue))
        g2 = asyncio.create_task(getter("g2", queue))
        await asyncio.sleep(0)
        queue.put_nowait("a")
        g1.cancel()
        await asyncio.gather(g1, g2, return_exceptions=True)
        queue.put_nowait("b")
        putter = asyncio.create_task(queue.put("c"))
        await asyncio.sleep(0)
        putter.cancel()
        await asyncio.gather(putter, return_exceptions=True)
        out(f"putter-cancelled {putter.cancelled()} qsize={queue.qsize()} full={queue.full()}")
        out(f"get_nowait {queue.get_nowait()} empty={queue.empty()}")

    asyncio.run(main())


def semaphore_cancel():
    """locks.Semaphore (3.12): a waiter cancelled after its wake-up gives the unit back and
    wakes the next waiter; a newcomer does not overtake waiters in line."""
    async def worker(name, semaphore):
        try:
            await semaphore.acquire()
        except asyncio.CancelledError:
            out(f"{name}-cancelled locked={semaphore.locked()}")
            raise
        out(f"{name}-in")
        await asyncio.sleep(0)
        semaphore.release()
        out(f"{name}-out")

    async def main():
        semaphore = asyncio.Semaphore(1)
        await semaphore.acquire()
        tasks = [asyncio.create_task(worker(f"w{i}", semaphore)) for i in range(1, 4)]
        await asyncio.sleep(0)
        semaphore.release()
        out(f"released locked={semaphore.locked()}")
        tasks[0].cancel()
        late = asyncio.create_task(worker("late", semaphore))
        await asyncio.gather(*tasks, late, return_exceptions=True)
        out(f"locked={semaphore.locked()}")

    asyncio.run(main())


def run_shutdown():
    """asyncio.run's shutdown (runners.py: Runner.close -> _cancel_all_tasks): the task left
    when main returns is cancelled and gathered (here it takes two more passes to clean up), and
    callbacks still queued run during the shutdown passes. One task only: CPython cancels the
    leftover tasks in the iteration order of a WeakSet, which is not deterministic."""
    async def stubborn():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            out("stubborn-cancelled")
            await asyncio.sleep(0)
            out("stubborn-cleanup-done")
            return "kept"

    def chain(n):
        out(f"chain-{n}")
        if n < 6:
            asyncio.get_running_loop().call_soon(chain, n + 1)

    async def main():
        asyncio.create_task(stubborn())
        await asyncio.sleep(0)
        asyncio.get_running_loop().call_soon(chain, 1)
        out("main-return")
        return "main-value"

    out(asyncio.run(main()))


def run_shutdown_error():
    """asyncio.run's shutdown: a leftover task that ends with an exception when cancelled is
    reported to the loop's exception handler, and asyncio.run still returns main's value."""
    async def failing():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            out("failing-cancelled")
            raise ValueError("cleanup failed")

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(
            lambda loop, context: out(f"handler: {context['message']}: {context['exception']}"))
        asyncio.create_task(failing())
        await asyncio.sleep(0)
        out("main-return")
        return "main-value"

    out(asyncio.run(main()))


def taskgroup_error():
    """TaskGroup (taskgroups.py): a child's error cancels its siblings and the body; the group
    raises an ExceptionGroup of the errors once every child is done, and the parent's
    cancellation request is withdrawn (cancelling() is 0 after the block)."""
    async def child(name, delay, fail=False):
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            out(f"{name}-cancelled")
            raise
        if fail:
            out(f"{name}-raises")
            raise ValueError(name)
        out(f"{name}-done")
        return name

    async def main():
        try:
            async with asyncio.TaskGroup() as tg:
                t1 = tg.create_task(child("a", 0.01))
                tg.create_task(child("b", 0.02, fail=True))
                t3 = tg.create_task(child("c", 1))
                out("body-waits")
                try:
                    await asyncio.sleep(1)
                except asyncio.CancelledError:
                    out("body-cancelled")
                    raise
        except* ValueError as group:
            out(f"group: {[str(e) for e in group.exceptions]}")
        out(f"a={t1.result()} c-cancelled={t3.cancelled()}")
        out(f"cancelling {asyncio.current_task().cancelling()}")

    asyncio.run(main())


def taskgroup_ok():
    """TaskGroup: the block waits for every child after the body ends; children start in
    creation order on the next pass; a task created by a child joins the group."""
    async def child(tg, name, spawn):
        out(f"{name}-start")
        await asyncio.sleep(0)
        if spawn:
            tg.create_task(child(tg, name + "-sub", False))
        out(f"{name}-end")
        return name

    async def main():
        async with asyncio.TaskGroup() as tg:
            t1 = tg.create_task(child(tg, "x", True))
            t2 = tg.create_task(child(tg, "y", False))
            out("body-end")
        out(f"after-block {t1.result()} {t2.result()}")
        try:
            late = child(tg, "late", False)
            tg.create_task(late)
        except RuntimeError as error:
            late.close()
            out(f"RuntimeError {error}".replace(repr(tg), "<TaskGroup>"))

    asyncio.run(main())


def timeouts():
    """asyncio.timeout (timeouts.py, 3.11+): reschedule, expired, nesting (only the expired
    scope turns the cancellation into TimeoutError), a body that swallows the cancellation, and
    reschedule after exit."""
    async def main():
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(None) as cm:
                out(f"when {cm.when()}")
                cm.reschedule(loop.time() + 0.02)
                await asyncio.sleep(1)
        except TimeoutError:
            out(f"timeout expired={cm.expired()}")
        async with asyncio.timeout(1) as cm2:
            await asyncio.sleep(0)
        out(f"no-timeout expired={cm2.expired()}")
        try:
            async with asyncio.timeout(1):
                try:
                    async with asyncio.timeout(0.01):
                        await asyncio.sleep(1)
                except TimeoutError:
                    out("inner-timeout")
                out(f"cancelling {asyncio.current_task().cancelling()}")
        except TimeoutError:
            out("outer-timeout")
        async with asyncio.timeout(0.01) as cm3:
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                out("swallowed")
        out(f"after-swallow expired={cm3.expired()} "
            f"cancelling {asyncio.current_task().cancelling()}")
        try:
            cm2.reschedule(None)
        except RuntimeError as error:
            out(f"RuntimeError {error}")

    asyncio.run(main())


def wait_return_when():
    """asyncio.wait: FIRST_COMPLETED returns once one task is done (its done-callback releases
    the waiter, which wakes the caller a pass later), the others pending and still running;
    FIRST_EXCEPTION returns at the first failure; a timeout returns with every task pending."""
    async def job(name, delay, fail=False):
        out(f"{name}-start")
        await asyncio.sleep(delay)
        loop = asyncio.get_running_loop()
        loop.call_soon(out, f"{name}-soon")
        if fail:
            out(f"{name}-fails")
            raise ValueError(name)
        out(f"{name}-done")
        return name

    async def main():
        names = {}

        def task(name, delay, fail=False):
            t = asyncio.create_task(job(name, delay, fail))
            names[t] = name
            return t

        def show(what, done, pending):
            out(f"{what} done={','.join(sorted(names[t] for t in done))} "
                f"pending={','.join(sorted(names[t] for t in pending))}")

        a, b = task("a", 0.01), task("b", 0.05)
        done, pending = await asyncio.wait([a, b], return_when=asyncio.FIRST_COMPLETED)
        show("first-completed", done, pending)
        out(f"b-result {await b}")

        c, d = task("c", 0.05), task("d", 0.01, fail=True)
        done, pending = await asyncio.wait([c, d], return_when=asyncio.FIRST_EXCEPTION)
        show("first-exception", done, pending)
        out(f"d-error {type(d.exception()).__name__} {d.exception()}")
        await c

        e = task("e", 0.2)
        done, pending = await asyncio.wait([e], timeout=0.02)
        show("timeout", done, pending)
        done, pending = await asyncio.wait([e])
        show("all-completed", done, pending)

    asyncio.run(main())


def shield_cancel():
    """shield: cancelling the task that awaits shield(inner) cancels only the outer future; the
    inner task runs on to its result, which a later await gets; a shielded failure reaches the
    awaiting task."""
    async def inner(fail):
        out("inner-start")
        await asyncio.sleep(0.02)
        if fail:
            out("inner-fails")
            raise ValueError("inner")
        out("inner-done")
        return "inner"

    async def waiter(t):
        try:
            return await asyncio.shield(t)
        except asyncio.CancelledError:
            out("waiter-cancelled")
            raise

    async def main():
        t = asyncio.create_task(inner(False))
        w = asyncio.create_task(waiter(t))
        await asyncio.sleep(0)
        w.cancel()
        out("cancel-sent")
        try:
            await w
        except asyncio.CancelledError:
            out("main-saw-waiter-cancelled")
        out(f"inner-done? {t.done()}")
        out(f"inner-result {await t}")

        failing = asyncio.create_task(inner(True))
        try:
            await asyncio.create_task(waiter(failing))
        except ValueError as error:
            out(f"waiter-saw {type(error).__name__} {error}")

    asyncio.run(main())


def condition_notify():
    """Condition: notify() wakes the longest waiter, which returns from wait() only once it has
    the lock again, after the notifier released it; notify_all() wakes the rest in order;
    wait_for() checks its predicate again after each wake-up; a waiter cancelled while waiting
    takes the lock back before it sees the cancellation."""
    async def main():
        cond = asyncio.Condition()
        state = {"n": 0}

        async def waiter(name):
            async with cond:
                out(f"{name}-waiting")
                await cond.wait()
                out(f"{name}-woken n={state['n']}")

        async def predicate_waiter():
            async with cond:
                out("pred-waiting")
                await cond.wait_for(lambda: state["n"] >= 2)
                out(f"pred-woken n={state['n']}")

        tasks = [asyncio.create_task(waiter(name)) for name in ("w1", "w2", "w3")]
        tasks.append(asyncio.create_task(predicate_waiter()))
        await asyncio.sleep(0)
        async with cond:
            state["n"] = 1
            cond.notify()
            out("notified-one")
        await asyncio.sleep(0)
        async with cond:
            state["n"] = 2
            cond.notify_all()
            out("notified-all")
        await asyncio.gather(*tasks)

        async def cancelled_waiter():
            async with cond:
                try:
                    await cond.wait()
                except asyncio.CancelledError:
                    out(f"cancelled-waiter locked={cond.locked()}")
                    raise

        t = asyncio.create_task(cancelled_waiter())
        await asyncio.sleep(0)
        t.cancel()
        try:
            await t
        except asyncio.CancelledError:
            out(f"main-saw-cancel locked={cond.locked()}")
        try:
            cond.notify()
        except RuntimeError as error:
            out(f"RuntimeError {error}")

    asyncio.run(main())


def as_completed_order():
    """as_completed: results in completion order, each a pass after its task's done-callback
    queued it; with a timeout, the ones not done by then raise TimeoutError."""
    async def job(name, delay):
        await asyncio.sleep(delay)
        asyncio.get_running_loop().call_soon(out, f"{name}-soon")
        out(f"{name}-done")
        return name

    async def main():
        tasks = [asyncio.create_task(job(name, delay))
                 for name, delay in (("slow", 0.05), ("fast", 0.01), ("mid", 0.03))]
        for next_one in asyncio.as_completed(tasks):
            out(f"got {await next_one}")
        late = asyncio.create_task(job("late", 0.2))
        quick = asyncio.create_task(job("quick", 0.01))
        try:
            for next_one in asyncio.as_completed([late, quick], timeout=0.05):
                out(f"got {await next_one}")
        except TimeoutError:
            out("timeout")
        late.cancel()

    asyncio.run(main())


def queue_lifo_priority():
    """LifoQueue and PriorityQueue: Queue's waiting, their own order of items; a
    PriorityQueue gives items that compare equal in heapq's order, not the order put."""
    class Job:
        def __init__(self, priority, name):
            self.priority, self.name = priority, name

        def __lt__(self, other):
            return self.priority < other.priority

    async def getter(queue, name):
        job = await queue.get()
        out(f"{name} got {job.name}")

    async def main():
        lifo = asyncio.LifoQueue(maxsize=2)
        lifo.put_nowait("a")
        lifo.put_nowait("b")

        async def putter():
            out("putter-waits")
            await lifo.put("c")
            out("putter-put")

        task = asyncio.create_task(putter())
        await asyncio.sleep(0)
        out(f"lifo get {lifo.get_nowait()}")
        await asyncio.sleep(0)
        out(f"lifo rest {[lifo.get_nowait() for _ in range(lifo.qsize())]}")
        await task
        prio = asyncio.PriorityQueue()
        g1 = asyncio.create_task(getter(prio, "g1"))
        g2 = asyncio.create_task(getter(prio, "g2"))
        await asyncio.sleep(0)
        for priority, name in [(2, "b1"), (1, "a1"), (3, "c1"), (1, "a2"), (2, "b2"), (1, "a3"),
                               (0, "z"), (2, "b3"), (1, "a4")]:
            prio.put_nowait(Job(priority, name))
        await asyncio.gather(g1, g2)
        out(f"prio rest {[prio.get_nowait().name for _ in range(prio.qsize())]}")

    asyncio.run(main())


def barrier_phases():
    """Barrier (locks.py, over a Condition): the last party releases the others, parties that
    arrive while it drains wait for the next round, reset and abort break the waiters."""
    async def party(barrier, name):
        out(f"{name} waits n_waiting={barrier.n_waiting}")
        try:
            index = await barrier.wait()
        except asyncio.BrokenBarrierError as error:
            out(f"{name} broken: {error}")
            return -1
        out(f"{name} passes index={index}")
        return index

    async def main():
        barrier = asyncio.Barrier(3)
        tasks = [asyncio.create_task(party(barrier, name)) for name in "abcdef"]
        await asyncio.sleep(0)
        out(f"main n_waiting={barrier.n_waiting}")
        out(f"indices {await asyncio.gather(*tasks)}")
        out(f"n_waiting={barrier.n_waiting} broken={barrier.broken}")
        resetters = [asyncio.create_task(party(barrier, name)) for name in ("r1", "r2")]
        await asyncio.sleep(0)
        out(f"before reset n_waiting={barrier.n_waiting}")
        await barrier.reset()
        out(f"after reset n_waiting={barrier.n_waiting}")
        out(f"reset results {await asyncio.gather(*resetters)}")
        aborted = asyncio.create_task(party(barrier, "x"))
        await asyncio.sleep(0)
        await barrier.abort()
        out(f"abort result {await aborted}")
        try:
            await barrier.wait()
        except asyncio.BrokenBarrierError as error:
            out(f"main broken: {error}")
        out(f"broken={barrier.broken} parties={barrier.parties}")

    asyncio.run(main())


def signal_handler_order():
    """add_signal_handler: the handler runs in the loop, behind the callbacks already queued
    (the self-pipe's reader `_read_from_self` queues it one pass after the signal)."""
    loop = asyncio.new_event_loop()

    def handler():
        out("handler")
        loop.call_soon(after_handler)

    def after_handler():
        out("after handler")
        loop.stop()

    def a():
        out("a: kill SIGUSR1")
        os.kill(os.getpid(), signal.SIGUSR1)
        loop.call_soon(b)

    def b():
        out("b")
        loop.call_soon(c)

    def c():
        out("c")
        loop.call_soon(d)

    def d():
        out("d")

    loop.add_signal_handler(signal.SIGUSR1, handler)
    loop.call_soon(a)
    loop.run_forever()
    out(f"removed: {loop.remove_signal_handler(signal.SIGUSR1)}")
    out(f"removed again: {loop.remove_signal_handler(signal.SIGUSR1)}")
    loop.close()


def _sigint_main(twice):
    async def main():
        loop = asyncio.get_running_loop()

        def kill():
            out("kill SIGINT")
            os.kill(os.getpid(), signal.SIGINT)

        loop.call_soon(kill)
        try:
            out("main: sleeping")
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            out("main: cancelled")
            if not twice:
                raise
            loop.call_soon(kill)
            try:
                out("main: cleanup sleeping")
                await asyncio.sleep(3600)
            finally:
                out("main: cleanup finally")
        finally:
            out("main: finally")

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        out("run: KeyboardInterrupt")


def run_sigint_once():
    """asyncio.run: the first SIGINT cancels main; run raises KeyboardInterrupt."""
    _sigint_main(twice=False)


def run_sigint_twice():
    """asyncio.run: main ignores the first SIGINT; the second ends the run at once, and the
    runner's shutdown cancels main."""
    _sigint_main(twice=True)


def _relative_name(name, base):
    """A default name `Task-N` as `Task+K`, K counted from `Task-base` (the counter is
    process-wide, so N itself depends on what ran before); a custom name as it is."""
    if name.startswith("Task-") and name[5:].isdigit():
        return f"Task+{int(name[5:]) - base}"
    return name


def _task_number(task):
    return int(task.get_name().removeprefix("Task-"))


def _sorted_names(base):
    """`all_tasks()` is a set: its names, sorted."""
    return " ".join(sorted(_relative_name(t.get_name(), base) for t in asyncio.all_tasks()))


def task_names_default():
    """Default names `Task-N` in creation order: `loop.create_task(coro, name=...)` takes no
    number; `asyncio.create_task(coro, name=...)` takes one (it creates the task unnamed, then
    calls `set_name`)."""
    async def noop(label):
        out(f"{label} runs as {_relative_name(asyncio.current_task().get_name(), base)}")

    async def main():
        nonlocal base
        loop = asyncio.get_running_loop()
        base = _task_number(asyncio.current_task())
        out(f"main is {_relative_name(asyncio.current_task().get_name(), base)}")
        t1 = loop.create_task(noop("t1"))
        t2 = loop.create_task(noop("t2"), name="second")
        t3 = loop.create_task(noop("t3"))
        t4 = asyncio.create_task(noop("t4"), name="fourth")
        t5 = loop.create_task(noop("t5"))
        for label, task in (("t1", t1), ("t2", t2), ("t3", t3), ("t4", t4), ("t5", t5)):
            out(f"{label} {_relative_name(task.get_name(), base)}")
        await asyncio.gather(t1, t2, t3, t4, t5)
        out(f"t5 after {_relative_name(t5.get_name(), base)}")

    base = 0
    asyncio.run(main())


def task_names_custom():
    """Custom names seen from inside the task through current_task(): given to create_task,
    set from outside before the first step, set from inside (`str()` of an int); the names in
    `repr(task)` (up to its `coro=`) as the task goes pending, cancelling, cancelled, finished."""
    async def named(label):
        out(f"{label} inside sees {asyncio.current_task().get_name()}")
        await asyncio.sleep(0)
        asyncio.current_task().set_name(42)
        out(f"{label} renamed itself {asyncio.current_task().get_name()}")
        await asyncio.sleep(0)

    async def waiter():
        await asyncio.sleep(10)

    def repr_head(task):
        return repr(task).split(" coro=")[0]

    async def main():
        loop = asyncio.get_running_loop()
        a = loop.create_task(named("a"), name="alpha")
        b = loop.create_task(named("b"))
        b.set_name("beta")
        out(f"outside a={a.get_name()} b={b.get_name()}")
        c = loop.create_task(waiter(), name="it's")
        out(repr_head(c))
        await asyncio.sleep(0)
        out(f"after one pass a={a.get_name()} b={b.get_name()}")
        c.cancel()
        out(repr_head(c))
        await asyncio.gather(a, b, return_exceptions=True)
        out(f"after gather a={a.get_name()} b={b.get_name()}")
        out(repr_head(c))
        out(repr_head(a))

    asyncio.run(main())


def all_tasks_pending():
    """`asyncio.all_tasks()` from main (a set: printed sorted): the pending tasks, main among
    them; a task drops out once done, whether it finished, failed or was cancelled."""
    async def quick():
        await asyncio.sleep(0)

    async def slow():
        await asyncio.sleep(0.01)

    async def waits(event):
        await event.wait()

    async def fails():
        await asyncio.sleep(0)
        raise ValueError("x")

    async def main():
        loop = asyncio.get_running_loop()
        base = _task_number(asyncio.current_task())
        event = asyncio.Event()
        quick_task = loop.create_task(quick(), name="quick")
        slow_task = loop.create_task(slow(), name="slow")
        waits_task = loop.create_task(waits(event), name="waits")
        unnamed = loop.create_task(waits(event))
        failing = loop.create_task(fails(), name="fails")
        out(f"created: {_sorted_names(base)}")
        await asyncio.sleep(0)
        out(f"one pass: {_sorted_names(base)}")
        await asyncio.sleep(0)
        out(f"two passes: {_sorted_names(base)}")
        unnamed.cancel()
        out(f"cancel requested: {_sorted_names(base)}")
        await asyncio.sleep(0)
        out(f"cancelled: {_sorted_names(base)}")
        await slow_task
        out(f"slow done: {_sorted_names(base)}")
        event.set()
        await waits_task
        out(f"waits done: {_sorted_names(base)}")
        out(f"done: {quick_task.done()} {failing.exception() is not None} {unnamed.cancelled()}")

    asyncio.run(main())


def taskgroup_names():
    """`TaskGroup.create_task(coro, name=...)`: the child sees its name; as the group creates
    the task unnamed and then renames it, a named child takes a `Task-N` number too."""
    async def child(label):
        out(f"{label} inside sees {_relative_name(asyncio.current_task().get_name(), base)}")
        await asyncio.sleep(0)

    async def main():
        nonlocal base
        base = _task_number(asyncio.current_task())
        async with asyncio.TaskGroup() as tg:
            first = tg.create_task(child("first"), name="first-child")
            second = tg.create_task(child("second"))
            third = tg.create_task(child("third"), name=3)
            out(f"created {first.get_name()} {_relative_name(second.get_name(), base)} "
                f"{third.get_name()}")
            out(f"in group: {_sorted_names(base)}")
        out(f"after group: {_sorted_names(base)}")
        out(f"next {_relative_name(asyncio.create_task(asyncio.sleep(0)).get_name(), base)}")

    base = 0
    asyncio.run(main())


SCENARIOS = [main_sleep0, done_callbacks, call_later_negative, call_at_heap_order,
             cancel_before_start, cancel_at_await, cancel_while_ready, wait_for_timeout, wait_for_zero,
             gather_errors, gather_cancel, queue_bounded, queue_unbounded, event_wait,
             lock_fifo, semaphore_fair, queue_cancel_getter, semaphore_cancel, run_shutdown,
             run_shutdown_error, taskgroup_error, taskgroup_ok, timeouts, wait_return_when,
             shield_cancel, condition_notify, as_completed_order, queue_lifo_priority,
             barrier_phases, signal_handler_order, run_sigint_once, run_sigint_twice,
             task_names_default, task_names_custom, all_tasks_pending, taskgroup_names]

if __name__ == "__main__":
    if sys.argv[1:] == ["--list"]:
        for scenario in SCENARIOS:
            print(scenario.__name__)
    else:
        {s.__name__: s for s in SCENARIOS}[sys.argv[1]]()
