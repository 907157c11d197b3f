"""Orderings of CPython 3.12's asyncio that 3.11 cannot show (3.12's eager tasks), which
crates/asyncio-loop must reproduce.

Usage: python3.12 asyncio312_orderings.py SCENARIO   prints one event per line
       python3.12 asyncio312_orderings.py --list     prints the scenario names

Each scenario has a twin in crates/asyncio-loop/tests/ordering_<scenario>.rs that runs the same
program on the Rust loop and compares its lines with tests/fixtures/<scenario>.txt, written by
regen-fixtures.sh with CPython 3.12 (3.11 has no `eager_task_factory`).
"""

import asyncio
import sys

out = print


def eager_start():
    """`eager_task_factory`: a task's first step runs inside create_task, with the new task
    current; a task that never suspends is done when create_task returns, and awaiting it, or a
    gather of such tasks, takes no pass of the loop."""
    main_task = None

    async def quick(name):
        out(f"{name}-runs current-is-main={asyncio.current_task() is main_task}")
        return name

    async def sleepy(name):
        out(f"{name}-starts")
        await asyncio.sleep(0)
        out(f"{name}-resumes")
        return name

    async def failing():
        out("failing-starts")
        raise ValueError("boom")

    async def spawner():
        out("spawner-starts")
        inner = asyncio.create_task(quick("inner"))
        out(f"spawner-inner-done={inner.done()}")
        await asyncio.sleep(0)
        out("spawner-resumes")
        return "spawner"

    async def main():
        nonlocal main_task
        main_task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        loop.set_task_factory(asyncio.eager_task_factory)
        loop.call_soon(out, "S1")
        q = asyncio.create_task(quick("q"))
        out(f"after-q done={q.done()} result={q.result()}")
        s = asyncio.create_task(sleepy("s"))
        out(f"after-s done={s.done()}")
        f = asyncio.create_task(failing())
        out(f"after-failing done={f.done()} error={f.exception()}")
        sp = asyncio.create_task(spawner())
        out(f"after-spawner done={sp.done()} current-is-main={asyncio.current_task() is main_task}")
        loop.call_soon(out, "S2")
        out(f"awaited {await q}")
        gathered = await asyncio.gather(asyncio.create_task(quick("g1")),
                                        asyncio.create_task(quick("g2")))
        out(f"gathered {gathered}")
        out(f"awaited {await s}")
        out(f"awaited {await sp}")
        loop.set_task_factory(None)
        late = asyncio.create_task(quick("late"))
        out(f"after-late done={late.done()}")
        await late
        out("main-done")

    asyncio.run(main())


def eager_taskgroup():
    """A TaskGroup on the eager factory: a child that finishes in its first step is done with
    at once; one that fails there cancels the body before it first suspends."""
    async def ok(name):
        out(f"{name}-runs")
        return name

    async def boom():
        out("boom-runs")
        raise ValueError("boom")

    async def slow():
        out("slow-starts")
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            out("slow-cancelled")
            raise

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_task_factory(asyncio.eager_task_factory)
        loop.call_soon(out, "S1")
        try:
            async with asyncio.TaskGroup() as tg:
                a = tg.create_task(ok("a"))
                out(f"after-a done={a.done()}")
                tg.create_task(slow())
                out("after-slow")
                tg.create_task(boom())
                out("after-boom")
                loop.call_soon(out, "S2")
                try:
                    await asyncio.sleep(1)
                except asyncio.CancelledError:
                    out("body-cancelled")
                    raise
        except* ValueError as group:
            out(f"group: {[str(error) for error in group.exceptions]}")
        out(f"cancelling={asyncio.current_task().cancelling()}")

    asyncio.run(main())


def eager_task_names():
    """Names of eager tasks. `loop.create_task(coro, name=...)` on the eager factory calls the
    factory without the name and renames the task after its first step (3.12's
    base_events.py), so that step runs as `Task-N` and the task takes a number;
    `Task(coro, name=..., eager_start=True)` runs its first step under its name; a task in its
    eager first step is among `all_tasks()`. `Task+K` counts from main's `Task-N`."""
    def relative(name):
        if name.startswith("Task-") and name[5:].isdigit():
            return f"Task+{int(name[5:]) - base}"
        return name

    def all_names():
        return " ".join(sorted(relative(t.get_name()) for t in asyncio.all_tasks()))

    async def child(label):
        out(f"{label} first step as {relative(asyncio.current_task().get_name())}; "
            f"all: {all_names()}")
        await asyncio.sleep(0)
        out(f"{label} later as {relative(asyncio.current_task().get_name())}")

    async def main():
        nonlocal base
        loop = asyncio.get_running_loop()
        base = int(asyncio.current_task().get_name().removeprefix("Task-"))
        loop.set_task_factory(asyncio.eager_task_factory)
        a = loop.create_task(child("a"), name="alpha")
        out(f"a is {a.get_name()}")
        b = asyncio.Task(child("b"), loop=loop, name="beta", eager_start=True)
        out(f"b is {b.get_name()}")
        c = loop.create_task(child("c"))
        out(f"c is {relative(c.get_name())}")
        await asyncio.gather(a, b, c)

    base = 0
    asyncio.run(main())


SCENARIOS = [eager_start, eager_taskgroup, eager_task_names]

if __name__ == "__main__":
    if sys.argv[1:] == ["--list"]:
        for scenario in SCENARIOS:
            print(scenario.__name__)
    else:
        {s.__name__: s for s in SCENARIOS}[sys.argv[1]]()
