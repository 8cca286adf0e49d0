# What the python drivers share (mdrun/core/drivers.c): a block's
# lines as linecache keeps them, and what a Jupyter user expects of a
# block: streams in the order written, figures, the last expression's
# value, display(). Every name here starts with _mdrun: the one-shot
# driver runs in the block's own __main__ and deletes them.


def _mdrun_lines(code):
    """The lines of code (bytes) as linecache holds them: split where the
    compiler splits (a lone CR ends a line in Markdown and in python)."""
    ls = code.decode('utf-8', 'replace').replace('\r', '\n')
    ls = ls.split('\n')
    if ls[-1] == '':
        ls.pop()
    return [l + '\n' for l in ls]


def _mdrun_rich(os, sys):
    """The block's output list, as events in a file of its own, one JSON
    line each: {"at": [OUT, ERR]} where the stream written changes, and
    {"at": [OUT, ERR], "data": {...}, "metadata": {...}, "result": B} for
    a rich value. OUT and ERR say how much of stdout and stderr came
    before it: the offsets of fds 1 and 2 (capture files, which also see
    what child processes write), or, on pipes, the bytes written through
    sys.stdout and sys.stderr."""
    import builtins
    lines_of = _mdrun_lines

    class Rich:
        events = None  # the events file (binary), during a block
        last = 0       # the fd written last through sys.stdout/stderr
        piped = False  # fds 1 and 2 are pipes: count bytes instead
        count = [0, 0, 0]
        fig = {}       # the block's figure options
        mpl = False    # our matplotlib backend is in use
        lines = {}     # linecache's entries for the document, once imported

    R = Rich()

    def where():
        if R.piped:
            return R.count[1], R.count[2]
        return os.lseek(1, 0, os.SEEK_CUR), os.lseek(2, 0, os.SEEK_CUR)

    def flush():
        for s in (sys.stdout, sys.stderr):
            try:
                s.flush()
            except Exception:
                pass

    def mark():
        o, e = where()
        R.events.write(b'{"at":[%d,%d]}\n' % (o, e))

    class Stream:
        """sys.stdout or sys.stderr: the real one, told apart."""

        def __init__(self, inner, fd):
            self.__dict__['_inner'] = inner
            self.__dict__['_fd'] = fd

        def write(self, s):
            if R.last != self._fd and R.events:
                if R.last:
                    flush()
                    mark()
                R.last = self._fd
            n = self._inner.write(s)
            if R.piped and isinstance(s, str):
                R.count[self._fd] += len(s.encode(self._inner.encoding,
                                                  self._inner.errors))
            return n

        def writelines(self, lines):
            for line in lines:
                self.write(line)

        def __getattr__(self, name):
            return getattr(self._inner, name)

        def __setattr__(self, name, value):
            setattr(self._inner, name, value)

    def emit(data, metadata, result):
        import json
        flush()
        o, e = where()
        ev = {'at': [o, e], 'data': data, 'metadata': metadata}
        if result:
            ev['result'] = True
        R.events.write(json.dumps(ev, default=str).encode() + b'\n')
        R.last = 0

    # Jupyter's order of preference.
    reprs = (('text/markdown', '_repr_markdown_'),
             ('text/html', '_repr_html_'),
             ('image/svg+xml', '_repr_svg_'),
             ('image/png', '_repr_png_'),
             ('image/jpeg', '_repr_jpeg_'),
             ('text/latex', '_repr_latex_'),
             ('application/json', '_repr_json_'))

    def bundle(obj):
        import base64
        data, meta = {}, {}
        mf = sys.modules.get('matplotlib.figure')
        if mf and isinstance(obj, mf.Figure):
            # Shown once: not again with the figures left open.
            data = figure_data(obj)
            plt = sys.modules.get('matplotlib.pyplot')
            if plt:
                plt.close(obj)
            return data, meta
        if not isinstance(obj, type):
            f = getattr(obj, '_repr_mimebundle_', None)
            try:
                r = f(include=None, exclude=None) if callable(f) else None
            except Exception:
                r = None
            if isinstance(r, tuple) and len(r) == 2:
                r, m = r
                meta.update(m if isinstance(m, dict) else {})
            if isinstance(r, dict):
                data.update(r)
            for mime, name in reprs:
                f = getattr(obj, name, None)
                if mime in data or not callable(f):
                    continue
                try:
                    v = f()
                except Exception:
                    continue
                if isinstance(v, tuple) and len(v) == 2:
                    v, m = v
                    meta[mime] = m
                if v is not None:
                    data[mime] = v
        for mime in ('image/png', 'image/jpeg'):
            if isinstance(data.get(mime), (bytes, bytearray)):
                data[mime] = base64.b64encode(data[mime]).decode()
        table = pipe_table(obj)
        if table and 'text/markdown' not in data:
            data['text/markdown'] = table
        if 'text/plain' not in data:
            data['text/plain'] = repr(obj)
        return data, meta

    def display(*objs, raw=False, metadata=None, **kwargs):
        """Shows each object as a rich value, as Jupyter's display()."""
        for obj in objs:
            if raw and isinstance(obj, dict):
                data, meta = obj, dict(metadata or {})
            else:
                data, meta = bundle(obj)
                meta.update(metadata or {})
            if R.events:
                emit(data, meta, False)
            else:
                print(data.get('text/plain', ''))

    def cell(s):
        return str(s).replace('|', '\\|').replace('\n', ' ')

    def pipe_table(obj):
        """A pandas DataFrame as a GitHub pipe table, cut where pandas
        cuts its own repr (display.max_rows, min_rows, max_columns)."""
        pd = sys.modules.get('pandas')
        if pd is None or not isinstance(obj, pd.DataFrame):
            return None
        if obj.columns.nlevels > 1 or obj.index.nlevels > 1:
            return None  # an HTML table holds those; a pipe table not
        try:
            from pandas.io.formats.format import format_array
        except ImportError:
            def format_array(values, formatter):
                return [str(v) for v in values]
        n, m = obj.shape
        max_rows = pd.get_option('display.max_rows') or n
        min_rows = pd.get_option('display.min_rows') or max_rows
        max_cols = pd.get_option('display.max_columns') or m
        rows = list(range(n))
        if n > max_rows:
            k = min(min_rows, max_rows)
            rows = list(range(k // 2)) + [None] + \
                list(range(n - k // 2, n))
        cols = list(range(m))
        if m > max_cols:
            cols = list(range(max_cols // 2)) + [None] + \
                list(range(m - max_cols // 2, m))
        shown = [r for r in rows if r is not None]
        text = {}
        for c in cols:
            if c is not None:
                vals = obj.iloc[shown, c]
                text[c] = [x.strip() for x in
                           format_array(vals._values, None)]
        index = [str(obj.index[r]) for r in shown]
        head = [cell(obj.index.name or '')] + \
            [cell(obj.columns[c]) if c is not None else '...'
             for c in cols]
        lines = ['| ' + ' | '.join(head) + ' |',
                 '|' + '---|' * len(head)]
        k = 0
        for r in rows:
            if r is None:
                lines.append('| ' + ' | '.join(['...'] * len(head)) + ' |')
                continue
            row = [cell(index[k])] + \
                [cell(text[c][k]) if c is not None else '...'
                 for c in cols]
            lines.append('| ' + ' | '.join(row) + ' |')
            k += 1
        if rows != list(range(n)) or cols != list(range(m)):
            lines.append('')
            lines.append('%d rows x %d columns' % (n, m))
        return '\n'.join(lines) + '\n'

    def figure_data(fig):
        """A matplotlib figure's bundle, in the block's figure format."""
        import base64
        import io
        fmt = R.fig.get('format', 'png')
        w, h = R.fig.get('width'), R.fig.get('height')
        if w or h:
            cw, ch = fig.get_size_inches()
            fig.set_size_inches(w or cw, h or ch)
        buf = io.BytesIO()
        kw = {'format': fmt, 'bbox_inches': 'tight'}
        if R.fig.get('dpi'):
            kw['dpi'] = R.fig['dpi']
        fig.savefig(buf, **kw)
        v = buf.getvalue()
        mime = {'png': 'image/png', 'svg': 'image/svg+xml',
                'jpeg': 'image/jpeg'}[fmt]
        v = v.decode() if fmt == 'svg' else base64.b64encode(v).decode()
        return {mime: v, 'text/plain': repr(fig)}

    def show(*args, **kwargs):
        """plt.show(): every open figure becomes an output, and closes."""
        if 'matplotlib.pyplot' not in sys.modules or not R.events:
            return
        import matplotlib.pyplot as plt
        from matplotlib._pylab_helpers import Gcf
        for manager in Gcf.get_all_fig_managers():
            try:
                emit(figure_data(manager.canvas.figure), {}, False)
            finally:
                plt.close(manager.canvas.figure)

    def headless(mpl):
        # Not through MPLBACKEND: a child process's matplotlib would look
        # for a backend only this interpreter has.
        mpl.rcParams['backend'] = 'module://_mdrun_mpl'

    def ours(module):
        module.display = display

    def lines(module):
        module.cache.update(R.lines)

    # What happens to a module once imported, by name.
    after = {'matplotlib': headless,
             'IPython.core.display_functions': ours,
             'linecache': lines}

    class Finder:
        """Serves matplotlib the backend `module://_mdrun_mpl` (Agg, with
        show() above), made its default when matplotlib is imported, and
        gives IPython's display() ours."""

        def find_spec(self, name, path=None, target=None):
            if name == '_mdrun_mpl':
                import importlib.util
                return importlib.util.spec_from_loader(name, self)
            if name not in after:
                return None
            for f in sys.meta_path:
                spec = None
                if f is not self and hasattr(f, 'find_spec'):
                    spec = f.find_spec(name, path, target)
                if spec is not None and spec.loader is not None:
                    break
            else:
                return None
            real = spec.loader.exec_module

            def exec_module(module):
                real(module)
                after[name](module)
            spec.loader.exec_module = exec_module
            return spec

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.backend_bases import FigureManagerBase
            module.FigureCanvas = FigureCanvasAgg
            module.FigureManager = FigureManagerBase
            module.show = show
            R.mpl = True

    def fig_options(spec):
        """MDRUN_FIG: width, height (inches), dpi, format, as mdrun
        checked them."""
        R.fig = {}
        for item in (spec or '').split():
            k, _, v = item.partition('=')
            R.fig[k] = v if k == 'format' else float(v)

    def begin(events, fig):
        """A block starts: its events go to the file events (or None)."""
        R.events = events
        R.last = 0
        R.count = [0, 0, 0]
        fig_options(fig)

    def end():
        """A block ends: the figures it left open are shown."""
        try:
            show()
        finally:
            flush()
            R.events = None

    def ends_with_semicolon(lines, node, at):
        # end_col_offset counts the line's UTF-8 bytes
        line = lines[node.end_lineno - 1 - at].encode()
        rest = line[node.end_col_offset:].decode('utf-8', 'replace')
        return rest.split('#', 1)[0].strip().startswith(';')

    def run(code, at, doc, g):
        """Runs a block's code in g, compiled under the document's name
        at its lines; its last statement, when an expression that is not
        None and does not end with ';', is displayed as its value."""
        import ast
        src = b'\n' * at + code
        tree = compile(src, doc, 'exec', ast.PyCF_ONLY_AST)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr) and \
                not ends_with_semicolon(lines_of(code), tree.body[-1], at):
            last = ast.Expression(tree.body.pop().value)
        value = None
        if os.environ.get('MDRUN_WARNINGS') == 'ignore':
            # warning=false: as knitr and Quarto, none is shown
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                exec(compile(tree, doc, 'exec'), g)
                if last is not None:
                    value = eval(compile(last, doc, 'eval'), g)
        else:
            exec(compile(tree, doc, 'exec'), g)
            if last is not None:
                value = eval(compile(last, doc, 'eval'), g)
        if value is not None:
            builtins._ = value
            data, meta = bundle(value)
            if R.events:
                emit(data, meta, True)

    def frames(tb, doc):
        """The traceback from the block's own first frame on."""
        while tb and tb.tb_frame.f_code.co_filename != doc:
            tb = tb.tb_next
        return tb

    def setup():
        """Once, before any block: streams told apart, matplotlib headless
        with our show(), display() everywhere."""
        try:
            os.lseek(1, 0, os.SEEK_CUR)
            os.lseek(2, 0, os.SEEK_CUR)
        except OSError:
            R.piped = True
        sys.stdout = Stream(sys.stdout, 1)
        sys.stderr = Stream(sys.stderr, 2)
        sys.meta_path.insert(0, Finder())
        if not hasattr(builtins, 'display'):
            builtins.display = display
        track()

    def track():
        """A second source for input tracking (mdrun/core/track.h): the
        files python opens, from its "open" audit event, appended to the
        log as mdrun-track.so writes it, when python runs without the
        library (a static build)."""
        log = os.environ.get('MDRUN_TRACK')
        root = os.environ.get('MDRUN_TRACK_ROOT')
        if not log or not root:
            return
        try:  # the library is in: it sees all, at less cost
            with open('/proc/self/maps') as maps:
                if 'mdrun-track.so' in maps.read():
                    return
        except OSError:
            pass
        skip = [s for s in os.environ.get('MDRUN_TRACK_SKIP', '').split(':')
                if s]
        busy = []

        def under(p, d):
            return p == d or p.startswith(d.rstrip('/') + '/')

        def hook(event, args):
            if event != 'open' or busy or not isinstance(args[0], (str, bytes)):
                return
            busy.append(1)
            try:
                p = os.path.normpath(os.path.abspath(os.fsdecode(args[0])))
                if under(p, root) and '\n' not in p and \
                        not any(under(p, s) for s in skip):
                    flags = args[2] if len(args) > 2 and \
                        isinstance(args[2], int) else 0
                    mode = args[1] if isinstance(args[1], str) else ''
                    w = flags & 3 or flags & os.O_TRUNC or \
                        any(c in mode for c in 'wax+')
                    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
                    try:
                        os.write(fd, os.fsencode(('W ' if w else 'R ') + p +
                                                 '\n'))
                    finally:
                        os.close(fd)
            except Exception:
                pass
            finally:
                busy.pop()

        sys.addaudithook(hook)

    R.setup, R.begin, R.end, R.run, R.frames = setup, begin, end, run, frames
    return R
