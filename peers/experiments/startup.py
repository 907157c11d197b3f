#!/usr/bin/env python3
"""The startup experiment's child on the real CPython 3.11: one peer's first task, its answer.

Usage: startup.py <peer>      peer: cpython-threads | cpython-mp | cpython-asyncio

Prints `<peer> startup answer 42 count` as soon as the first task has answered, and exits.
The figure, exec_to_result_us, is taken by the parent from outside: `schedlab peers` times
fresh processes of this script from spawn to that line, as the lab times its own models
(crates/lab/src/experiments/startup.rs, whose essay says what the two include).

  cpython-threads   a threading.Thread returns 42 into a list; joined
  cpython-asyncio   asyncio.run of a coroutine that returns 42
  cpython-mp        multiprocessing.Pool(2) (fork, the 3.11 default on Linux) and the result of
                    its first apply_async; the pool's shutdown comes after the line, untimed

A script of its own, not a mode of experiments.py: CPython compiles the script it runs as
__main__ on every start (no cached .pyc), and experiments.py's ~950 lines and its imports of
every module the three peers need would add tens of milliseconds that a program using one
model does not pay. This one imports only the module its peer needs. The parent runs it with
`python3 -S`: this machine's site-packages holds `.pth` files that import third-party packages
at every start, a cost of the machine's set-up, not of CPython.
"""

import sys

PEERS = ("cpython-threads", "cpython-mp", "cpython-asyncio")
ANSWER = 42


def first_answer():
    """The first task: what every model's first task answers."""
    return ANSWER


def threads():
    import threading

    results = []
    thread = threading.Thread(target=lambda: results.append(first_answer()))
    thread.start()
    thread.join()
    return results[0]


def asyncio_run():
    import asyncio

    async def first():
        return first_answer()

    return asyncio.run(first())


def mp():
    import multiprocessing

    multiprocessing.set_start_method("fork")
    pool = multiprocessing.Pool(2)
    answer = pool.apply_async(first_answer).get()
    # After the line: the parent's clock has stopped by then.
    print(f"cpython-mp startup answer {answer} count", flush=True)
    pool.terminate()
    pool.join()


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in PEERS:
        print(f"usage: startup.py <peer>\n  peers: {', '.join(PEERS)}", file=sys.stderr)
        sys.exit(2)
    peer = sys.argv[1]
    if peer == "cpython-mp":
        mp()
        return
    answer = threads() if peer == "cpython-threads" else asyncio_run()
    print(f"{peer} startup answer {answer} count", flush=True)


if __name__ == "__main__":
    main()
