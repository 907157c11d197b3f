#!/usr/bin/env python3
"""Records what CPython's sys.{get,set}switchinterval do, for crates/gil-threads' tests.

Usage:
  gil_fixtures.py            print the lines
  gil_fixtures.py --write    (re)write crates/gil-threads/tests/fixtures/switch_interval.txt

Each line: `getswitchinterval <repr>` or `setswitchinterval <value> ok <read back>` or
`setswitchinterval <value> <ExceptionType> <message>`. The gil-threads tests replay every line
on an Interpreter; for the non-finite values CPython accepts and stores garbage, and gil-threads
rejects them on purpose (the test says so).
"""

import os
import platform
import sys

VALUES = ["0", "-1", "1e-09", "0.001", "0.0005", "1", "nan", "inf"]


def lines():
    default = sys.getswitchinterval()
    out = [f"getswitchinterval {default!r}"]
    for text in VALUES:
        try:
            sys.setswitchinterval(float(text))
            out.append(f"setswitchinterval {text} ok {sys.getswitchinterval()!r}")
        except Exception as error:  # noqa: BLE001 - the type is the fixture
            out.append(f"setswitchinterval {text} {type(error).__name__} {error}")
        finally:
            sys.setswitchinterval(default)
    return out


def main():
    body = "\n".join(lines()) + "\n"
    if sys.argv[1:] == ["--write"]:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "crates", "gil-threads", "tests", "fixtures",
                            "switch_interval.txt")
        header = (f"# recorded with CPython {platform.python_version()} by "
                  "peers/python/gil_fixtures.py --write\n")
        with open(path, "w") as out:
            out.write(header + body)
    else:
        sys.stdout.write(body)


if __name__ == "__main__":
    main()
