# The python session driver (the protocol: mdrun/core/drivers.c). After
# common.py. __builtins__ is the module and __annotations__ a dict, as in
# a script's __main__ (exec would put the builtins' dict there).
import os as _os, sys as _sys


def _mdrun_driver():
    import builtins, linecache, traceback
    import types
    w = _os.environ.pop('MDRUN_SESSION_DIR')
    doc = _os.environ.get('MDRUN_DOC') or '<mdrun>'
    me = _os.getpid()
    _os.set_inheritable(198, False)
    _os.set_inheritable(199, False)
    cin = _os.fdopen(198, 'rb')
    cout = _os.fdopen(199, 'wb', buffering=0)
    main = types.ModuleType('__main__')
    _sys.modules['__main__'] = main
    g = main.__dict__
    g['__builtins__'] = builtins
    g['__annotations__'] = {}
    src = []  # the document's lines, blank where no block ran
    flags = _os.O_WRONLY | _os.O_CREAT | _os.O_APPEND
    o = _os.open(w + '/stdout', flags, 0o644)
    e = _os.open(w + '/stderr', flags, 0o644)
    events = open(w + '/events', 'ab', buffering=0)
    _os.set_inheritable(events.fileno(), False)
    _os.environ['MDRUN_OUT'] = w + '/out'
    for stream in (_sys.stdout, _sys.stderr):
        stream.reconfigure(line_buffering=True)
    s1, s2 = _os.dup(1), _os.dup(2)
    _os.dup2(o, 1)
    _os.dup2(e, 2)
    rich = _mdrun_rich(_os, _sys)
    rich.setup()
    _os.dup2(s1, 1)
    _os.dup2(s2, 2)
    _os.close(s1)
    _os.close(s2)
    extra = []
    while cin.readline():
        with open(w + '/code', 'rb') as f:
            head, _, code = f.read().partition(b'\n\n')
        first, *env = head.decode().split('\n')
        name, _, at = first.rpartition('\t')
        at = max(int(at) - 1, 0)
        for k in extra:
            _os.environ.pop(k, None)
        extra = []
        for kv in env:
            k, _, v = kv.partition('=')
            _os.environ[k] = v
            extra.append(k)
        _os.environ['MDRUN_BLOCK'] = name
        lines = _mdrun_lines(code)
        src.extend(['\n'] * (at + len(lines) - len(src)))
        src[at:at + len(lines)] = lines
        linecache.cache[doc] = (len(code), None, src, doc)
        s1, s2 = _os.dup(1), _os.dup(2)
        _os.dup2(o, 1)
        _os.dup2(e, 2)
        status = 0
        try:
            rich.begin(events, _os.environ.get('MDRUN_FIG'))
            rich.run(code, at, doc, g)
        except SystemExit as x:
            if x.code is None:
                status = 0
            elif isinstance(x.code, int):
                status = x.code & 255
            else:
                print(x.code, file=_sys.stderr)
                status = 1
        except BaseException:
            t, v, tb = _sys.exc_info()
            try:
                traceback.print_exception(t, v, rich.frames(tb, doc))
            except Exception:
                pass
            status = 1
        if _os.getpid() != me:
            _os._exit(status)  # a child the block forked
        try:
            rich.end()
        except BaseException:
            try:
                traceback.print_exc()
            except Exception:
                pass
            status = status or 1
        _os.dup2(s1, 1)
        _os.dup2(s2, 2)
        _os.close(s1)
        _os.close(s2)
        cout.write(b'DONE %d\n' % status)


_mdrun_driver()
