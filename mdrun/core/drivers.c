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
 *                                       line, then its code (for bash,
 *                                       after LINE-1 empty lines)
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
 * The python driver also appends the block's output events (streams in
 * the order written, figures, values: mdrun/core/python/common.py) to
 * $W/events, read from where the last block's ended, as stdout is.
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

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../util/buf.h"
#include "../../util/fs.h"
#include "../../util/hash.h"

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
 * The python drivers live in mdrun/core/python (common.py with session.py
 * or one.py), embedded at build time (python_drivers.c).
 */
extern const char md_py_session[], md_py_one[];

/*
 * bash numbers an eval's lines from the line of the eval command, so the
 * eval is on the driver's first line, at the top level (in a function,
 * messages would name the function's file, not $0): code after LINE-1
 * empty lines then reports the document's lines, and so does $LINENO.
 * The first round of the loop evals nothing and answers nothing. The
 * loop's condition takes the code over, so that `continue` in a block
 * ends it rather than running it again.
 * The code file is read by three reads on one redirection (buffered: a
 * regular file): the name line, the variables up to the empty line, and
 * `read -d ''` the rest, the code, so no expansion copies the code. mdrun
 * writes the padding itself (MD_DRIVER_PADS): building it here cost more
 * than the rest of the loop, a cost that grew with the document.
 * The reads run with IFS empty, set for them and then put back as the
 * blocks left it (unset too), never as `IFS= read`: bash rebuilds its
 * whole exported environment after each command with a temporary
 * assignment, a third of the loop's instructions. `read -u` needs no
 * redirection, and `[[` no builtin lookup.
 *
 * Before it waits for the next request, the loop asks whether one came,
 * about 300 times (1-2 ms here; mdrun asks as often for the answer,
 * md_proc_poll): on a virtual machine, waking from a blocking read costs
 * as much as the rest of a quick block's round trip. A block's DEBUG
 * trap runs for the driver's commands too, these asks included
 * (docs/sessions.md).
 *
 * Snapshots (mdrun watch): reading $MDRUN_SNAP, a path mdrun-track.so
 * answers, forks the shell (see track_preload.c); the answer goes after
 * DONE, and a continued copy answers READY instead. "WAIT PID" hands the
 * session over, as in the python driver.
 */
static const char bash[] =
	"__mdrun_w=$MDRUN_SESSION_DIR; unset MDRUN_SESSION_DIR; "
	"export MDRUN_OUT=\"$__mdrun_w/out\"; "
	"exec 196>>\"$__mdrun_w/stdout\" 197>>\"$__mdrun_w/stderr\"; "
	"__mdrun_x= __mdrun_next= __mdrun_go=; "
	"__mdrun_snap=$MDRUN_SNAP __mdrun_hold=$MDRUN_SNAP_HOLD; "
	"unset MDRUN_SNAP MDRUN_SNAP_HOLD MDRUN_SNAP_ACTIVE MDRUN_SNAP_OWN; "
	"while __mdrun_code=$__mdrun_next __mdrun_next=; "
	"do eval \"$__mdrun_code\" >&196 2>&197 </dev/null\n"
	"  __mdrun_s=$?\n"
	"  trap - EXIT\n"
	"  if [[ $__mdrun_snap && $__mdrun_go ]]; then\n"
	"    __mdrun_r=\n"
	"    builtin read -r __mdrun_t <\"$__mdrun_snap\"\n"
	"    while [[ $__mdrun_t = RESUMED ]]; do __mdrun_r=1; "
	"builtin read -r __mdrun_t <\"$__mdrun_snap\"; done\n"
	"    if [[ $__mdrun_r ]]; then "
	"builtin echo \"READY ${__mdrun_t#SNAP }\" >&199\n"
	"    else builtin echo \"DONE $__mdrun_s${__mdrun_t:+ $__mdrun_t}\" "
	">&199; fi\n"
	"  elif [[ $__mdrun_go ]]; then builtin echo \"DONE $__mdrun_s\" >&199\n"
	"  else __mdrun_go=1; fi\n"
	"  [[ ${IFS+x} ]] && __mdrun_ifs=$IFS __mdrun_i=1 || __mdrun_i=\n"
	"  IFS=\n"
	"  __mdrun_k=0\n"
	"  until builtin read -t 0 -u 198 || (( ++__mdrun_k > 300 )); "
	"do builtin :; done\n"
	"  builtin read -r -u 198 __mdrun_v || break\n"
	"  case $__mdrun_v in WAIT\\ *) __mdrun_v=${__mdrun_v#WAIT }; "
	"builtin echo \"$__mdrun_v\" >\"$__mdrun_w/active\"; "
	"builtin kill -CONT \"$__mdrun_v\"; "
	"builtin read -r __mdrun_v <\"$__mdrun_hold\"; builtin exit 0;; esac\n"
	"  [[ -z $__mdrun_x ]] || { unset $__mdrun_x; __mdrun_x=; }\n"
	"  { builtin read -r __mdrun_f\n"
	"    while builtin read -r __mdrun_e && [[ $__mdrun_e ]]; do\n"
	"      export \"$__mdrun_e\"; __mdrun_x=\"$__mdrun_x ${__mdrun_e%%=*}\"\n"
	"    done\n"
	"    builtin read -r -d '' __mdrun_next || :\n"
	"  } <\"$__mdrun_w/code\"\n"
	"  if [[ $__mdrun_i ]]; then IFS=$__mdrun_ifs; else unset IFS; fi\n"
	"  export MDRUN_BLOCK=\"${__mdrun_f%$'\\t'*}\"\n"
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
	"__mdrun_snap=$MDRUN_SNAP; __mdrun_hold=$MDRUN_SNAP_HOLD\n"
	"unset MDRUN_SNAP MDRUN_SNAP_HOLD MDRUN_SNAP_ACTIVE MDRUN_SNAP_OWN\n"
	"MDRUN_OUT=\"$__mdrun_w/out\"; export MDRUN_OUT\n"
	"exec 6>>\"$__mdrun_w/stdout\" 7>>\"$__mdrun_w/stderr\"\n"
	"__mdrun_x=\n"
	"while read -r __mdrun_v <&8; do\n"
	"  case $__mdrun_v in WAIT\\ *) __mdrun_v=${__mdrun_v#WAIT }; "
	"command echo \"$__mdrun_v\" >\"$__mdrun_w/active\"; "
	"kill -CONT \"$__mdrun_v\"; "
	"read -r __mdrun_v <\"$__mdrun_hold\"; exit 0;; esac\n"
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
	"  __mdrun_t= __mdrun_r=\n"
	"  if [ -n \"$__mdrun_snap\" ]; then\n"
	"    IFS= read -r __mdrun_t <\"$__mdrun_snap\"\n"
	"    while [ \"$__mdrun_t\" = RESUMED ]; do __mdrun_r=1; "
	"IFS= read -r __mdrun_t <\"$__mdrun_snap\"; done\n"
	"  fi\n"
	"  if [ -n \"$__mdrun_r\" ]; then "
	"command echo \"READY ${__mdrun_t#SNAP }\" >&9\n"
	"  else command echo \"DONE $__mdrun_s${__mdrun_t:+ $__mdrun_t}\" >&9; fi\n"
	"done\n";

const char *
md_driver_source(enum md_driver d)
{
	switch (d) {
	case MD_DRIVER_PYTHON:
		return md_py_session;
	case MD_DRIVER_BASH:
		return bash;
	case MD_DRIVER_SH:
		return sh;
	case MD_DRIVER_NONE:
		break;
	}
	return NULL;
}

bool
md_driver_pads(enum md_driver d)
{
	return d == MD_DRIVER_BASH;
}

const char *
md_driver_one(enum md_driver d)
{
	return d == MD_DRIVER_PYTHON ? md_py_one : NULL;
}

void
md_driver_fds(enum md_driver d, int *in, int *out)
{
	*in = d == MD_DRIVER_SH ? LOW_IN : HIGH_IN;
	*out = d == MD_DRIVER_SH ? LOW_OUT : HIGH_OUT;
}

/*
 * A kept python driver: DIR/python-HASH.py (HASH its content's, checked
 * at each use), and beside it the code python compiled from it,
 * python-HASH.TAG.pyc (TAG: python's cache tag, as cpython-311), after
 * python's magic number. Python's own cache is not used: it is off under
 * PYTHONDONTWRITEBYTECODE, and for -c there is none. A missing, short or
 * foreign .pyc, or one that holds no code, is compiled again and
 * replaced (by a rename, so that a render at the same time reads a whole
 * one or none). As with python's __pycache__, whoever can write there
 * can choose the code mdrun's python runs: the store is its owner's.
 * Names all start with _mdrun: the one-shot driver deletes them from
 * __main__.
 */
static const char boot[] =
	"def _mdrun_boot(p):\n"
	"    import marshal, os, sys\n"
	"    from importlib.util import MAGIC_NUMBER as m\n"
	"    c = '%s.%s.pyc' % (p[:-3], sys.implementation.cache_tag)\n"
	"    try:\n"
	"        with open(c, 'rb') as f:\n"
	"            b = f.read()\n"
	"        if b[:len(m)] == m:\n"
	"            code = marshal.loads(b[len(m):])\n"
	"            if type(code) is type(_mdrun_boot.__code__):\n"
	"                return code\n"
	"    except Exception:\n"
	"        pass\n"
	"    with open(p, 'rb') as f:\n"
	"        code = compile(f.read(), '<string>', 'exec')\n"
	"    t = '%s.%s' % (c, os.urandom(8).hex())\n"
	"    try:\n"
	"        with open(t, 'xb') as f:\n"
	"            f.write(m + marshal.dumps(code))\n"
	"        os.replace(t, c)\n"
	"    except OSError:\n"
	"        try:\n"
	"            os.unlink(t)\n"
	"        except OSError:\n"
	"            pass\n"
	"    return code\n"
	"exec(_mdrun_boot(__import__('os').fsdecode(bytes.fromhex('";

/* Whether path holds exactly source (n bytes). */
static bool
holds(const char *path, const char *source, size_t n)
{
	struct md_buf have = MD_BUF_INIT;
	bool same = md_fs_read_regular(&have, path, n + 1) == 0 &&
		    have.len == n && !memcmp(have.ptr, source, n);

	md_buf_dispose(&have);
	return same;
}

char *
md_driver_program(const char *source, const char *dir)
{
	struct md_buf path = MD_BUF_INIT, hex = MD_BUF_INIT, out = MD_BUF_INIT;
	char hash[MD_HASH_HEX];
	size_t n = strlen(source);

	md_hash_bytes(hash, source, n);
	md_buf_printf(&path, "%s/python-%.16s.py", dir, hash);
	if (!holds(path.ptr, source, n)) {
		if ((mkdir(dir, 0755) < 0 && errno != EEXIST) ||
		    md_fs_write_atomic(path.ptr, source, n, 0444) < 0) {
			md_buf_dispose(&path);
			return md_strdup(source);
		}
	}
	for (size_t i = 0; i < path.len; i++)
		md_buf_printf(&hex, "%02x", (unsigned char)path.ptr[i]);
	md_buf_puts(&out, boot);
	md_buf_puts(&out, hex.ptr);
	md_buf_puts(&out, "'))))\n");
	md_buf_dispose(&path);
	md_buf_dispose(&hex);
	return out.ptr;
}
