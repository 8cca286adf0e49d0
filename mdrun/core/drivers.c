/*
 * Session drivers: small programs that run inside a long-lived
 * interpreter and execute one block per request. The protocol is framed,
 * on two pipes of their own (never the output streams, so no sentinel
 * can collide with what a block prints):
 *
 *   mdrun -> driver   "RUN\n"          $W/code holds a line NAME<TAB>LINE
 *                                       (the block's name, and the
 *                                       document line of its code's first
 *                                       line), NAME=VALUE lines of more
 *                                       variables (MDRUN_DEP_*), an empty
 *                                       line, then its code
 *   driver -> mdrun   "DONE STATUS\n"  the block finished
 *                     "EXIT STATUS\n"  the block ended the interpreter
 *
 * W is the session's folder (MDRUN_SESSION_DIR at start). The driver
 * opens $W/stdout and $W/stderr once, for appending, and points fd 1 and 2
 * at them for each block, so whatever the block starts writes there too;
 * mdrun reads each block's part from where the last one ended (cutting a
 * file per block would cost more than the block). It sets MDRUN_OUT=$W/out,
 * MDRUN_BLOCK and the header's variables (dropping the previous block's),
 * runs the code in the session's global state, and
 * restores fd 1 and 2. Requests are short because shells read pipes a
 * byte at a time. Block names hold no tab or line break.
 *
 * Diagnostics name the document (MDRUN_DOC) and its lines: python
 * compiles the code under the document's name, preceded by LINE-1 empty
 * lines, and keeps every block's lines at their place in one linecache
 * entry for the document (what tracebacks, warnings and inspect read,
 * never checked against the file, which may change under a session);
 * the shells run with the document as $0, the name their messages start
 * with, and eval the code preceded by LINE-1 empty lines (see bash).
 */
#include "interp.h"

/*
 * Control fds: high for python and bash, where blocks may use 3..9;
 * dash accepts only 0..9 in redirections, so sh blocks must leave 6..9
 * alone (README). A block that breaks the protocol ends its session as a
 * failure; mdrun never waits on a driver that stopped answering.
 */
#define HIGH_IN 198
#define HIGH_OUT 199
#define LOW_IN 8
#define LOW_OUT 9

/*
 * The lines of code (bytes) as linecache holds them: split where the
 * compiler splits (a lone CR ends a line in Markdown and in python).
 */
#define PY_LINES \
	"def _mdrun_lines(code):\n" \
	"    ls = code.decode('utf-8', 'replace').replace('\\r', '\\n')\n" \
	"    ls = ls.split('\\n')\n" \
	"    if ls[-1] == '':\n" \
	"        ls.pop()\n" \
	"    return [l + '\\n' for l in ls]\n"

/*
 * __builtins__ is the module and __annotations__ a dict, as in a
 * script's __main__ (exec would put the builtins' dict there).
 */
static const char python[] =
	"import os as _os, sys as _sys\n"
	PY_LINES
	"def _mdrun_driver():\n"
	"    import builtins, linecache, traceback\n"
	"    w = _os.environ.pop('MDRUN_SESSION_DIR')\n"
	"    doc = _os.environ.get('MDRUN_DOC') or '<mdrun>'\n"
	"    import types\n"
	"    me = _os.getpid()\n"
	"    _os.set_inheritable(198, False)\n"
	"    _os.set_inheritable(199, False)\n"
	"    cin = _os.fdopen(198, 'rb')\n"
	"    cout = _os.fdopen(199, 'wb', buffering=0)\n"
	"    main = types.ModuleType('__main__')\n"
	"    _sys.modules['__main__'] = main\n"
	"    g = main.__dict__\n"
	"    g['__builtins__'] = builtins\n"
	"    g['__annotations__'] = {}\n"
	"    src = []  # the document's lines, blank where no block ran\n"
	"    flags = _os.O_WRONLY | _os.O_CREAT | _os.O_APPEND\n"
	"    o = _os.open(w + '/stdout', flags, 0o644)\n"
	"    e = _os.open(w + '/stderr', flags, 0o644)\n"
	"    _os.environ['MDRUN_OUT'] = w + '/out'\n"
	"    for stream in (_sys.stdout, _sys.stderr):\n"
	"        stream.reconfigure(line_buffering=True)\n"
	"    extra = []\n"
	"    while cin.readline():\n"
	"        with open(w + '/code', 'rb') as f:\n"
	"            head, _, code = f.read().partition(b'\\n\\n')\n"
	"        first, *env = head.decode().split('\\n')\n"
	"        name, _, at = first.rpartition('\\t')\n"
	"        at = max(int(at) - 1, 0)\n"
	"        for k in extra:\n"
	"            _os.environ.pop(k, None)\n"
	"        extra = []\n"
	"        for kv in env:\n"
	"            k, _, v = kv.partition('=')\n"
	"            _os.environ[k] = v\n"
	"            extra.append(k)\n"
	"        _os.environ['MDRUN_BLOCK'] = name\n"
	"        lines = _mdrun_lines(code)\n"
	"        src.extend(['\\n'] * (at + len(lines) - len(src)))\n"
	"        src[at:at + len(lines)] = lines\n"
	"        linecache.cache[doc] = (len(code), None, src, doc)\n"
	"        s1, s2 = _os.dup(1), _os.dup(2)\n"
	"        _os.dup2(o, 1); _os.dup2(e, 2)\n"
	"        status = 0\n"
	"        try:\n"
	"            exec(compile(b'\\n' * at + code, doc, 'exec'), g)\n"
	"        except SystemExit as x:\n"
	"            if x.code is None:\n"
	"                status = 0\n"
	"            elif isinstance(x.code, int):\n"
	"                status = x.code & 255\n"
	"            else:\n"
	"                print(x.code, file=_sys.stderr)\n"
	"                status = 1\n"
	"        except BaseException:\n"
	"            t, v, tb = _sys.exc_info()\n"
	"            try:\n"
	"                traceback.print_exception(t, v, tb.tb_next)\n"
	"            except Exception:\n"
	"                pass\n"
	"            status = 1\n"
	"        if _os.getpid() != me:\n"
	"            _os._exit(status)  # a child the block forked\n"
	"        for stream in (_sys.stdout, _sys.stderr):\n"
	"            try:\n"
	"                stream.flush()\n"
	"            except Exception:\n"
	"                pass\n"
	"        _os.dup2(s1, 1); _os.dup2(s2, 2); _os.close(s1); _os.close(s2)\n"
	"        cout.write(b'DONE %d\\n' % status)\n"
	"_mdrun_driver()\n";

/*
 * python -c PYTHON_ONE CODE LINE: a block of its own, compiled as the
 * session driver compiles it, in the __main__ that -c made (which has
 * __builtins__ and __annotations__ right), with sys.argv as plain -c
 * leaves it. An uncaught exception goes to sys.excepthook without this
 * wrapper's frames, and exits 1 as python does.
 */
static const char python_one[] =
	PY_LINES
	"def _mdrun(sys):\n"
	"    import linecache, os\n"
	"    code = os.fsencode(sys.argv[1])\n"
	"    at = max(int(sys.argv[2]) - 1, 0)\n"
	"    del sys.argv[1:]\n"
	"    doc = os.environ.get('MDRUN_DOC') or '<mdrun>'\n"
	"    src = ['\\n'] * at + _mdrun_lines(code)\n"
	"    linecache.cache[doc] = (len(code), None, src, doc)\n"
	"    g = sys.modules['__main__'].__dict__\n"
	"    del g['_mdrun'], g['_mdrun_lines']\n"
	"    c = None\n"
	"    try:\n"
	"        c = compile(b'\\n' * at + code, doc, 'exec')\n"
	"        exec(c, g)\n"
	"    except SystemExit:\n"
	"        raise\n"
	"    except BaseException as x:\n"
	"        tb = x.__traceback__\n"
	"        while tb and tb.tb_frame.f_code is not c:\n"
	"            tb = tb.tb_next\n"
	"        x.__traceback__ = tb\n"
	"        sys.excepthook(type(x), x, tb)\n"
	"        sys.exit(1)\n"
	"_mdrun(__import__('sys'))\n";

/*
 * bash numbers an eval's lines from the line of the eval command, so the
 * eval is on the driver's first line, at the top level (in a function,
 * messages would name the function's file, not $0): code after LINE-1
 * empty lines then reports the document's lines, and so does $LINENO.
 * The first round of the loop evals nothing and answers nothing. The
 * loop's condition takes the code over, so that `continue` in a block
 * ends it rather than running it again.
 * `read -d ''` reads the whole code file (buffered) in one go. The
 * padding doubles: linear in LINE.
 */
static const char bash[] =
	"__mdrun_w=$MDRUN_SESSION_DIR; unset MDRUN_SESSION_DIR; "
	"export MDRUN_OUT=\"$__mdrun_w/out\"; "
	"exec 196>>\"$__mdrun_w/stdout\" 197>>\"$__mdrun_w/stderr\"; "
	"__mdrun_x= __mdrun_next= __mdrun_go=; "
	"while __mdrun_code=$__mdrun_next __mdrun_next=; "
	"do eval \"$__mdrun_code\" >&196 2>&197 </dev/null\n"
	"  __mdrun_s=$?\n"
	"  trap - EXIT\n"
	"  [ -n \"$__mdrun_go\" ] && builtin echo \"DONE $__mdrun_s\" >&199\n"
	"  __mdrun_go=1\n"
	"  builtin read -r __mdrun_v <&198 || break\n"
	"  IFS= builtin read -r -d '' __mdrun_code <\"$__mdrun_w/code\" || :\n"
	"  __mdrun_h=\"${__mdrun_code%%$'\\n\\n'*}\"\n"
	"  __mdrun_code=\"${__mdrun_code#*$'\\n\\n'}\"\n"
	"  __mdrun_f=\"${__mdrun_h%%$'\\n'*}\"\n"
	"  export MDRUN_BLOCK=\"${__mdrun_f%$'\\t'*}\"\n"
	"  [ -n \"$__mdrun_x\" ] && unset $__mdrun_x\n"
	"  __mdrun_x=\n"
	"  if [ \"$__mdrun_h\" != \"$__mdrun_f\" ]; then\n"
	"    while IFS= builtin read -r __mdrun_e; do\n"
	"      export \"$__mdrun_e\"; __mdrun_x=\"$__mdrun_x ${__mdrun_e%%=*}\"\n"
	"    done <<< \"${__mdrun_h#*$'\\n'}\"\n"
	"  fi\n"
	"  __mdrun_n=$((${__mdrun_f##*$'\\t'} - 1)) __mdrun_p=$'\\n'\n"
	"  while [ \"$__mdrun_n\" -gt 0 ]; do\n"
	"    [ $((__mdrun_n % 2)) = 1 ] && "
	"__mdrun_code=\"$__mdrun_p$__mdrun_code\"\n"
	"    __mdrun_p=\"$__mdrun_p$__mdrun_p\" __mdrun_n=$((__mdrun_n / 2))\n"
	"  done\n"
	"  __mdrun_next=$__mdrun_code\n"
	"  trap 'builtin echo \"EXIT $?\" >&199' EXIT\n"
	"done\n";

/*
 * dash: no read -d, so the code is read line by line. Its eval numbers
 * lines from the code's own first line, wherever the eval is; messages
 * read "$0: LINE: eval: ...".
 */
static const char sh[] =
	"__mdrun_w=$MDRUN_SESSION_DIR\n"
	"unset MDRUN_SESSION_DIR\n"
	"MDRUN_OUT=\"$__mdrun_w/out\"; export MDRUN_OUT\n"
	"exec 6>>\"$__mdrun_w/stdout\" 7>>\"$__mdrun_w/stderr\"\n"
	"__mdrun_x=\n"
	"while read -r __mdrun_v <&8; do\n"
	"  __mdrun_code=\n"
	"  __mdrun_part=name\n"
	"  [ -n \"$__mdrun_x\" ] && unset $__mdrun_x\n"
	"  __mdrun_x=\n"
	"  while IFS= read -r __mdrun_l || [ -n \"$__mdrun_l\" ]; do\n"
	"    case $__mdrun_part in\n"
	"    name) MDRUN_BLOCK=${__mdrun_l%\t*}; export MDRUN_BLOCK; "
	"__mdrun_n=$((${__mdrun_l##*\t} - 1)); __mdrun_part=env ;;\n"
	"    env) if [ -z \"$__mdrun_l\" ]; then __mdrun_part=code; else "
	"export \"$__mdrun_l\"; __mdrun_x=\"$__mdrun_x ${__mdrun_l%%=*}\"; "
	"fi ;;\n"
	"    *) __mdrun_code=\"$__mdrun_code$__mdrun_l\n\" ;;\n"
	"    esac\n"
	"  done <\"$__mdrun_w/code\"\n"
	"  __mdrun_p='\n'\n"
	"  while [ \"$__mdrun_n\" -gt 0 ]; do\n"
	"    [ $((__mdrun_n % 2)) = 1 ] && "
	"__mdrun_code=\"$__mdrun_p$__mdrun_code\"\n"
	"    __mdrun_p=\"$__mdrun_p$__mdrun_p\" __mdrun_n=$((__mdrun_n / 2))\n"
	"  done\n"
	"  trap 'command echo \"EXIT $?\" >&9' EXIT\n"
	"  eval \"$__mdrun_code\" >&6 2>&7 </dev/null\n"
	"  __mdrun_s=$?\n"
	"  trap - EXIT\n"
	"  command echo \"DONE $__mdrun_s\" >&9\n"
	"done\n";

const char *
md_driver_source(enum md_driver d)
{
	switch (d) {
	case MD_DRIVER_PYTHON:
		return python;
	case MD_DRIVER_BASH:
		return bash;
	case MD_DRIVER_SH:
		return sh;
	case MD_DRIVER_NONE:
		break;
	}
	return NULL;
}

const char *
md_driver_one(enum md_driver d)
{
	return d == MD_DRIVER_PYTHON ? python_one : NULL;
}

void
md_driver_fds(enum md_driver d, int *in, int *out)
{
	*in = d == MD_DRIVER_SH ? LOW_IN : HIGH_IN;
	*out = d == MD_DRIVER_SH ? LOW_OUT : HIGH_OUT;
}
