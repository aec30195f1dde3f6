"""The tracer records the lines and arcs of the target's file and line range
only, in the main thread and in threads."""

import threading

from testgen_explore.tracer import Tracer

SOURCE = (
    "def classify(n):\n"           # 1
    "    if n < 0:\n"              # 2
    "        return 'neg'\n"       # 3
    "    total = 0\n"              # 4
    "    for i in range(n):\n"     # 5
    "        total += i\n"         # 6
    "    return total\n"           # 7
    "\n"                           # 8
    "\n"                           # 9
    "def fail():\n"                # 10
    "    raise ValueError('no')\n"  # 11
)


def traced(tracer, fn, *args):
    with tracer:
        try:
            fn(*args)
        except ValueError:
            pass
    return set(tracer.lines), set(tracer.arcs)


def test_lines_and_arcs_of_a_small_function(load):
    mod = load("classify", SOURCE)
    tracer = Tracer()
    tracer.configure({mod.__file__}, 1, 11)
    assert traced(tracer, mod.classify, -1) == ({2, 3}, {(-1, 2), (2, 3), (3, -1)})
    lines, arcs = traced(tracer, mod.classify, 2)
    assert lines == {2, 4, 5, 6, 7}
    assert {(2, 4), (5, 6), (6, 5), (5, 7), (7, -1)} <= arcs
    assert (2, 3) not in arcs
    assert list(tracer.order) == [2, 4, 5, 6, 5, 6, 5, 7]


def test_an_exception_exit_is_not_an_arc(load):
    mod = load("classify", SOURCE)
    tracer = Tracer()
    tracer.configure({mod.__file__}, 1, 11)
    assert traced(tracer, mod.fail) == ({11}, {(-1, 11)})


def test_only_the_configured_range_and_file(load):
    mod = load("classify", SOURCE)
    tracer = Tracer()
    tracer.configure({mod.__file__}, 10, 11)
    assert traced(tracer, mod.classify, 1) == (set(), set())
    tracer.configure({"/elsewhere.py"}, 1, 11)
    assert traced(tracer, mod.fail) == (set(), set())


def test_threads_are_traced_while_active_only(load):
    mod = load("classify", SOURCE)
    tracer = Tracer()
    tracer.configure({mod.__file__}, 1, 11)

    def in_thread():
        t = threading.Thread(target=mod.classify, args=(-5,))
        t.start()
        t.join()

    threading.settrace(tracer.thread_trace)
    try:
        assert traced(tracer, in_thread) == ({2, 3}, {(-1, 2), (2, 3), (3, -1)})
        tracer.reset()
        in_thread()  # inactive: nothing recorded
        assert tracer.lines == set()
    finally:
        threading.settrace(None)
