# python -c ONE CODE LINE EVENTS: a block of its own (session=none), after
# common.py (ONE: the program md_driver_program gives), compiled as the
# session driver compiles it, in the __main__
# that -c made (which has __builtins__ and __annotations__ right), with
# sys.argv as plain -c leaves it. Its events (common.py) go to the file
# EVENTS. An uncaught exception goes to sys.excepthook without this
# wrapper's frames, and exits 1 as python does.


def _mdrun(sys):
    import linecache, os
    code = os.fsencode(sys.argv[1])
    at = max(int(sys.argv[2]) - 1, 0)
    events = open(sys.argv[3], 'ab', buffering=0)
    os.set_inheritable(events.fileno(), False)
    del sys.argv[1:]
    doc = os.environ.get('MDRUN_DOC') or '<mdrun>'
    src = ['\n'] * at + _mdrun_lines(code)
    linecache.cache[doc] = (len(code), None, src, doc)
    g = sys.modules['__main__'].__dict__
    rich = _mdrun_rich(os, sys)
    for k in [k for k in g if k.startswith('_mdrun')]:
        del g[k]
    rich.setup()
    try:
        rich.begin(events, os.environ.get('MDRUN_FIG'))
        rich.run(code, at, doc, g)
    except SystemExit:
        rich.end()
        raise
    except BaseException as x:
        x.__traceback__ = rich.frames(x.__traceback__, doc)
        sys.excepthook(type(x), x, x.__traceback__)
        rich.end()
        sys.exit(1)
    rich.end()


_mdrun(__import__('sys'))
