# The python session driver (the protocol: mdrun/core/drivers.c). After
# common.py. __builtins__ is the module and __annotations__ a dict, as in
# a script's __main__ (exec would put the builtins' dict there).
#
# Snapshots (MDRUN_SNAPSHOTS=1, mdrun watch): after each block the driver
# forks a copy of itself that stops at once (SIGSTOP), holding the state
# after that block at the cost of the pages either side later changes,
# and answers "DONE STATUS SNAP PID" ("DONE STATUS NOSNAP WHY" when a
# thread or a child process would not be in the copy). "WAIT PID" hands
# the session to that copy: the process that reads it writes PID to
# $W/active, continues PID and ends, but for the first one, which holds
# the session's place for its keeper until the process named in
# $W/active ends for good. The copy, continued, stops a copy of itself
# again (so that state stays at hand) and answers "READY PID".
import os as _os, sys as _sys


def _mdrun_snapshot():
    """A stopped copy of this process: its pid here, 0 in the copy once
    it is continued."""
    import signal
    for stream in (_sys.stdout, _sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    pid = _os.fork()
    if pid == 0:
        _os.kill(_os.getpid(), signal.SIGSTOP)
    return pid


def _mdrun_cannot_snapshot(snaps, own):
    """Why a copy of this process would not hold the session's state, or
    None: a thread, a child process still running (snapshots aside), or
    a file open for writing (the block's, not the driver's own fds),
    whose offset the copy would share with what runs next."""
    import threading
    if threading.active_count() > 1:
        return 'a thread is running'
    try:
        tasks = _os.listdir('/proc/self/task')
        fds = _os.listdir('/proc/self/fd')
    except OSError:
        return 'no /proc'
    if len(tasks) > 1:
        return 'a thread is running'
    for t in tasks:
        try:
            with open('/proc/self/task/%s/children' % t) as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            return 'no /proc'
        for k in kids:
            if k not in snaps:
                return 'a child process is running'
    import stat
    for fd in fds:
        n = int(fd)
        if n <= 2 or n in own:
            continue
        try:
            if not stat.S_ISREG(_os.fstat(n).st_mode):
                continue
            with open('/proc/self/fdinfo/%d' % n) as f:
                flags = [ln for ln in f if ln.startswith('flags:')]
        except OSError:
            continue
        if flags and int(flags[0].split()[1], 8) & 3:
            return 'a file is open for writing'
    return None


def _mdrun_subreaper():
    """Makes this process the one orphans of the session go to, so that it
    can wait for the interpreter it hands the session to; False when it
    cannot (no prctl): then no snapshots."""
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0
    except Exception:
        return False


def _mdrun_hold(w):
    """The first process, once it handed the session over: here until
    the process $W/active names ends for good, then ends as it did. It is
    the subreaper, so that process, and every copy mdrun ends, is its
    child by then."""
    import signal
    while True:
        try:
            pid, status = _os.waitpid(-1, 0)
        except ChildProcessError:
            _os._exit(0)
        except InterruptedError:
            continue
        try:
            with open(w + '/active') as f:
                now = int(f.read())
        except (OSError, ValueError):
            now = -1
        if pid != now:
            continue  # a copy mdrun ended, or the one that handed over
        if _os.WIFSIGNALED(status):
            sig = _os.WTERMSIG(status)
            signal.signal(sig, signal.SIG_DFL)
            _os.kill(_os.getpid(), sig)
        _os._exit(_os.waitstatus_to_exitcode(status) & 255
                  if _os.WIFEXITED(status) else 1)


def _mdrun_print_exception(t, v, tb):
    """Prints an exception as python would, through the traceback
    module, imported on first need from python's own path: the folder a
    block moved to ('' in sys.path) may hold a module named as one it
    imports (token.py). Failing that, python's own printer, in C."""
    path = _sys.path[:]
    _sys.path[:] = [p for p in path if p not in ('', '.')]
    try:
        import traceback
    except Exception:
        traceback = None
    finally:
        _sys.path[:] = path
    try:
        if traceback:
            traceback.print_exception(t, v, tb)
        else:
            _sys.__excepthook__(t, v, tb)
    except Exception:
        pass


def _mdrun_asker(fd):
    """A function that says, without waiting, whether fd has something
    to read; None without select. select comes from python's own path,
    as traceback above, and is left out of sys.modules, so that a
    block's own `import select` finds what a script would (a select.py
    in the document's folder)."""
    path, had = _sys.path[:], 'select' in _sys.modules
    _sys.path[:] = [p for p in path if p not in ('', '.')]
    try:
        import select
        p = select.poll()
        p.register(fd, select.POLLIN)
        return p.poll
    except Exception:
        return None
    finally:
        _sys.path[:] = path
        if not had:
            _sys.modules.pop('select', None)


def _mdrun_driver():
    # Only what every block needs is imported here: linecache, traceback
    # and signal cost milliseconds at each start (re and tokenize come
    # with them), and a block that raises nothing needs none of them.
    import builtins, types
    w = _os.environ.pop('MDRUN_SESSION_DIR')
    snapshots = _os.environ.pop('MDRUN_SNAPSHOTS', '') == '1'
    snapshots = snapshots and _mdrun_subreaper()
    keeper_child = _os.getpid()
    snaps = set()
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
    own = {198, 199, o, e, events.fileno()}
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
    # The next request is asked for 2,000 times (about 2 ms here),
    # yielding between asks, before the driver sleeps on it: a wakeup
    # costs as much as a quick block.
    ask = _mdrun_asker(198)
    while True:
        for _ in range(2000 if ask else 0):
            if ask(0):
                break
            _os.sched_yield()
        line = cin.readline()
        if not line:
            break
        for pid in list(snaps):  # copies mdrun ended: reaped
            try:
                if _os.waitpid(pid, _os.WNOHANG)[0]:
                    snaps.discard(pid)
            except ChildProcessError:
                snaps.discard(pid)
        if line.startswith(b'WAIT '):
            to = int(line[5:])
            with open(w + '/active.new', 'w') as f:
                f.write('%d' % to)
            _os.rename(w + '/active.new', w + '/active')
            import signal
            _os.kill(to, signal.SIGCONT)
            if _os.getpid() == keeper_child:
                _mdrun_hold(w)
            _os._exit(0)
        fd = _os.open(w + '/code', _os.O_RDONLY | _os.O_CLOEXEC)
        try:
            data = b''
            while True:
                part = _os.read(fd, 1 << 20)
                if not part:
                    break
                data += part
        finally:
            _os.close(fd)
        head, _, code = data.partition(b'\n\n')
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
        rich.lines[doc] = (len(code), None, src, doc)
        if 'linecache' in _sys.modules:
            _sys.modules['linecache'].cache[doc] = rich.lines[doc]
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
            _mdrun_print_exception(t, v, rich.frames(tb, doc))
            status = 1
        if _os.getpid() != me:
            _os._exit(status)  # a child the block forked
        try:
            rich.end()
        except BaseException:
            t, v, tb = _sys.exc_info()
            _mdrun_print_exception(t, v, tb)
            status = status or 1
        _os.dup2(s1, 1)
        _os.dup2(s2, 2)
        _os.close(s1)
        _os.close(s2)
        tail = b''
        if snapshots:
            why = _mdrun_cannot_snapshot(snaps, own)
            pid = 1 if why else _mdrun_snapshot()
            if why:
                tail = b' NOSNAP ' + why.encode()
            elif pid:
                snaps.add(pid)
                tail = b' SNAP %d' % pid
            else:
                # Continued: the session is ours now. The state stays at
                # hand in a stopped copy (which, continued, does this too).
                while pid == 0:
                    me = _os.getpid()
                    snaps = set()
                    pid = _mdrun_snapshot()
                snaps.add(pid)
                cout.write(b'READY %d\n' % pid)
                continue
        cout.write(b'DONE %d%s\n' % (status, tail))


_mdrun_driver()
