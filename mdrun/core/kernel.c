/*
 * A Jupyter kernel client: the messaging protocol 5.3 over ZeroMQ.
 *
 * mdrun chooses five free ports on 127.0.0.1 and a random key, writes
 * them into the kernel's connection file, and starts the kernel, which
 * binds them. mdrun connects shell, control and stdin (DEALER sockets
 * that share one routing id, the session's: a kernel sends input_request
 * on stdin to the identity its shell request came from) and iopub (SUB).
 * Every message is the multipart
 *
 *	<IDS|MSG>, signature, header, parent_header, metadata, content
 *
 * (identities before, binary buffers after), the signature being the
 * hex HMAC-SHA256 of the four JSON frames under the key. A message with
 * a bad signature, or answering a request that is not this session's,
 * is dropped.
 *
 * The heartbeat port is written in the file but not used: IRkernel
 * answers pings from the loop that runs code, so a kernel busy with a
 * long block would look dead. Whether a kernel lives is asked of its
 * keeper (md_proc_reap), which ends when the kernel process does.
 */
#define _DEFAULT_SOURCE /* realpath, SOCK_CLOEXEC */
#include "kernel.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "outputs.h"
#include "../../renderer/view.h"
#include "../../util/err.h"
#include "../../util/exit.h"
#include "../../util/fs.h"
#include "../../util/lazy_zmq.h"

#define DELIM "<IDS|MSG>"
#define START_WAIT 60.0	    /* seconds for a kernel_info_reply, by default */
#define IOPUB_WAIT 3.0	    /* after it, for iopub to be connected */
#define INTERRUPT_WAIT 5.0  /* after an interrupt, before the kill */
#define IDLE_WAIT 5.0	    /* after an execute_reply, for its idle */
#define STOP_WAIT 1.0	    /* after a shutdown_request, before the kill */
#define TICK 100	    /* ms between looks at the kernel's process */
#define MAX_FRAMES 32	    /* kept of a message: buffers come last */
#define BATCH 256	    /* messages handled per socket per look */

enum { SHELL, CONTROL, STDIN, IOPUB, NSOCK };

struct md_kernel {
	char *label; /* "kernel 'ir' (R)", for messages */
	void *ctx;
	void *s[NSOCK];
	void *mon; /* stdin's connection events, until it is connected */
	pid_t pid; /* its keeper; -1 once the kernel is gone */
	bool interrupt_message;
	char *conn, *log; /* the connection file; the kernel's own output */
	char session[37];
	EVP_MAC_CTX *mac; /* keyed with the connection file's key */
	char *language;
	char **envset; /* what md_kernel_setenv set last, NULL-ended */
	/* MDRUN_MESSAGES=drop (message=false): R's messages not kept */
	bool drop_messages;
};

/* A message received, signature checked. */
struct msg {
	cJSON *header, *parent, *content;
	const char *type; /* the header's msg_type */
	size_t size;	  /* bytes of the content frame */
};

/* The n bytes at p as 2n lowercase hex digits and a NUL. */
static void
hex(char *out, const unsigned char *p, size_t n)
{
	static const char digit[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digit[p[i] >> 4];
		out[2 * i + 1] = digit[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* A random UUID (version 4), as Jupyter names sessions and messages. */
static void
uuid(char out[37])
{
	unsigned char b[16];
	char h[33];

	if (RAND_bytes(b, sizeof(b)) != 1)
		abort(); /* no randomness: nothing can be keyed */
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	hex(h, b, sizeof(b));
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12,
		 h + 16, h + 20);
}

/* The string member key of o, or NULL. */
static const char *
str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* k->mac, keyed with key for HMAC-SHA256. */
static int
mac_new(struct md_kernel *k, const char *key)
{
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM p[] = { OSSL_PARAM_construct_utf8_string(
				   OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
			   OSSL_PARAM_construct_end() };
	bool ok = m && (k->mac = EVP_MAC_CTX_new(m)) &&
		  EVP_MAC_init(k->mac, (const unsigned char *)key, strlen(key),
			       p) == 1;

	EVP_MAC_free(m);
	return ok ? 0 : md_err_set("%s: HMAC-SHA256 is not available",
				   k->label);
}

/* The signature of the four frames f (n[i] bytes each) into out. */
static bool
sign(const struct md_kernel *k, const void *const f[4], const size_t n[4],
     char out[65])
{
	EVP_MAC_CTX *c = EVP_MAC_CTX_dup(k->mac);
	unsigned char md[32];
	size_t len = 0;
	bool ok = c != NULL;

	for (int i = 0; i < 4 && ok; i++)
		ok = EVP_MAC_update(c, f[i], n[i]) == 1;
	ok = ok && EVP_MAC_final(c, md, &len, sizeof(md)) == 1 &&
	     len == sizeof(md);
	EVP_MAC_CTX_free(c);
	if (ok)
		hex(out, md, sizeof(md));
	return ok;
}

/* A new header of a message of type; its msg_id goes into id. */
static cJSON *
header(const struct md_kernel *k, const char *type, char id[37])
{
	struct timespec ts;
	struct tm tm;
	char date[48];
	cJSON *h = cJSON_CreateObject();

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(date, 24, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(date + strlen(date), 24, ".%06dZ",
		 (int)(ts.tv_nsec / 1000 % 1000000));
	uuid(id);
	cJSON_AddStringToObject(h, "msg_id", id);
	cJSON_AddStringToObject(h, "session", k->session);
	cJSON_AddStringToObject(h, "username", "mdrun");
	cJSON_AddStringToObject(h, "date", date);
	cJSON_AddStringToObject(h, "msg_type", type);
	cJSON_AddStringToObject(h, "version", "5.3");
	return h;
}

/*
 * Sends a message of type with content (taken) on socket which, in
 * reply to parent (a header) or to nothing; its msg_id goes into id
 * unless NULL. Never waits: false when the socket does not take it
 * (no message set: zmq_errno says why).
 */
static bool
send_msg(struct md_kernel *k, int which, const char *type, cJSON *content,
	 const cJSON *parent, char *id)
{
	char mid[37], sig[65];
	cJSON *h = header(k, type, mid);
	char *f[4] = { cJSON_PrintUnformatted(h),
		       parent ? cJSON_PrintUnformatted(parent)
			      : md_strdup("{}"),
		       md_strdup("{}"), cJSON_PrintUnformatted(content) };
	size_t n[4];
	bool ok = f[0] && f[1] && f[3];
	int i;

	for (i = 0; i < 4 && ok; i++)
		n[i] = strlen(f[i]);
	ok = ok && sign(k, (const void *const *)f, n, sig);
	ok = ok && zmq_send(k->s[which], DELIM, strlen(DELIM),
			    ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0;
	/* Once the first frame is queued, the others go with it. */
	ok = ok && zmq_send(k->s[which], sig, 64, ZMQ_SNDMORE) >= 0;
	for (i = 0; i < 4 && ok; i++)
		ok = zmq_send(k->s[which], f[i], n[i],
			      i < 3 ? ZMQ_SNDMORE : 0) >= 0;
	if (ok && id)
		memcpy(id, mid, sizeof(mid));
	for (i = 0; i < 4; i++)
		free(f[i]);
	cJSON_Delete(h);
	cJSON_Delete(content);
	return ok;
}

/* Why a message of type could not be sent. */
static int
cannot_send(const struct md_kernel *k, const char *type)
{
	return md_err_set("%s: cannot send %s: %s", k->label, type,
			  zmq_strerror(zmq_errno()));
}

static void
msg_dispose(struct msg *m)
{
	cJSON_Delete(m->header);
	cJSON_Delete(m->parent);
	cJSON_Delete(m->content);
	memset(m, 0, sizeof(*m));
}

/* Frame i of p as JSON, or NULL. */
static cJSON *
frame_json(zmq_msg_t *p)
{
	return cJSON_ParseWithLength(zmq_msg_data(p), zmq_msg_size(p));
}

/*
 * Parses the frames of a message into m: false when they are not a
 * message of the kernel's (no delimiter, a bad signature, not JSON).
 */
static bool
parse(const struct md_kernel *k, zmq_msg_t *p, size_t n, struct msg *m)
{
	const void *f[4];
	size_t len[4], d = 0;
	char sig[65];

	while (d < n && (zmq_msg_size(&p[d]) != strlen(DELIM) ||
			 memcmp(zmq_msg_data(&p[d]), DELIM, strlen(DELIM))))
		d++;
	if (d + 6 > n || zmq_msg_size(&p[d + 1]) != 64)
		return false;
	for (int i = 0; i < 4; i++) {
		f[i] = zmq_msg_data(&p[d + 2 + i]);
		len[i] = zmq_msg_size(&p[d + 2 + i]);
	}
	if (!sign(k, f, len, sig) ||
	    CRYPTO_memcmp(sig, zmq_msg_data(&p[d + 1]), 64) != 0)
		return false;
	m->header = frame_json(&p[d + 2]);
	m->parent = frame_json(&p[d + 3]);
	m->content = frame_json(&p[d + 5]);
	m->type = str(m->header, "msg_type");
	m->size = len[3];
	return m->type && cJSON_IsObject(m->parent) &&
	       cJSON_IsObject(m->content);
}

enum got { NONE, DROPPED, GOT };

/*
 * The next message waiting on socket which, if any: GOT with m filled
 * (dispose it), DROPPED when what came was not the kernel's, NONE when
 * nothing is waiting.
 */
static enum got
recv_msg(const struct md_kernel *k, int which, struct msg *m)
{
	zmq_msg_t p[MAX_FRAMES + 1];
	size_t n = 0, i;
	enum got g = DROPPED;
	int more = 1;

	memset(m, 0, sizeof(*m));
	while (more) {
		/* The last slot takes, and lets go of, frames past the rest. */
		zmq_msg_t *x = &p[n < MAX_FRAMES ? n : MAX_FRAMES];

		zmq_msg_init(x);
		/* A message comes whole: only its first frame can be late. */
		if (zmq_msg_recv(x, k->s[which], n ? 0 : ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(x);
			if (n == 0)
				return NONE;
			break;
		}
		more = zmq_msg_more(x);
		if (n < MAX_FRAMES)
			n++;
		else
			zmq_msg_close(x);
	}
	if (parse(k, p, n, m))
		g = GOT;
	else
		msg_dispose(m);
	for (i = 0; i < n; i++)
		zmq_msg_close(&p[i]);
	return g;
}

/* Does m answer the request id of this session (any, when id is NULL)? */
static bool
answers(const struct md_kernel *k, const struct msg *m, const char *id)
{
	const char *s = str(m->parent, "session"), *mid = str(m->parent,
							      "msg_id");

	return s && !strcmp(s, k->session) &&
	       (!id || (mid && !strcmp(mid, id)));
}

/*
 * Five free TCP ports on 127.0.0.1, as jupyter_client finds them: bound
 * to port 0 together (so no two are the same), read back, let go. The
 * kernel binds them soon after; another program could take one first.
 */
static int
free_ports(int port[5])
{
	int fd[5] = { -1, -1, -1, -1, -1 }, rc = 0, i;

	for (i = 0; i < 5 && rc == 0; i++) {
		struct sockaddr_in a;
		socklen_t len = sizeof(a);

		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) <
			    0 ||
		    bind(fd[i], (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(fd[i], (struct sockaddr *)&a, &len) < 0)
			rc = md_err_sys("cannot find a free port");
		else
			port[i] = ntohs(a.sin_port);
	}
	for (i = 0; i < 5; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	return rc;
}

/* The connection file's port names, in the order of enum SHELL... */
static const char *const port_name[5] = { "shell_port", "control_port",
					  "stdin_port", "iopub_port",
					  "hb_port" };

/* Writes k->conn: the ports, the key, the kernel's name. */
static int
write_conn(const struct md_kernel *k, const int port[5], const char *key,
	   const char *name)
{
	cJSON *o = cJSON_CreateObject();
	char *text;
	int rc;

	for (int i = 0; i < 5; i++)
		cJSON_AddNumberToObject(o, port_name[i], port[i]);
	cJSON_AddStringToObject(o, "ip", "127.0.0.1");
	cJSON_AddStringToObject(o, "transport", "tcp");
	cJSON_AddStringToObject(o, "key", key);
	cJSON_AddStringToObject(o, "signature_scheme", "hmac-sha256");
	cJSON_AddStringToObject(o, "kernel_name", name);
	text = cJSON_Print(o);
	/* The key is in it: only mdrun's user may read it. */
	rc = md_fs_write_new(k->conn, text, strlen(text), 0600);
	free(text);
	cJSON_Delete(o);
	return rc;
}

/*
 * Watches stdin's connection (before it connects, not to miss it): a
 * kernel's ROUTER drops an input_request for a peer it does not know
 * yet, and the kernel would wait for an answer that never comes. Shell
 * and control queue what mdrun sends until they connect; iopub is known
 * connected when something published comes.
 */
static bool
monitor(struct md_kernel *k)
{
	int zero = 0;
	char ep[80];

	snprintf(ep, sizeof(ep), "inproc://mdrun-stdin-%s", k->session);
	return zmq_socket_monitor(k->s[STDIN], ep,
				  ZMQ_EVENT_HANDSHAKE_SUCCEEDED) == 0 &&
	       (k->mon = zmq_socket(k->ctx, ZMQ_PAIR)) &&
	       zmq_setsockopt(k->mon, ZMQ_LINGER, &zero, sizeof(zero)) == 0 &&
	       zmq_connect(k->mon, ep) == 0;
}

/* Stops watching stdin's connection. */
static void
unmonitor(struct md_kernel *k)
{
	if (!k->mon)
		return;
	zmq_socket_monitor(k->s[STDIN], NULL, 0);
	zmq_close(k->mon);
	k->mon = NULL;
}

/* Connects the sockets to the kernel's ports. */
static int
connect_all(struct md_kernel *k, const int port[5])
{
	static const int type[NSOCK] = { ZMQ_DEALER, ZMQ_DEALER, ZMQ_DEALER,
					 ZMQ_SUB };
	int zero = 0;
	char ep[64];

	if (md_zmq_load() < 0)
		return md_err_prefix(MD_ERROR, "%s", k->label);
	if (!(k->ctx = zmq_ctx_new()))
		return md_err_set("%s: zmq_ctx_new: %s", k->label,
				  zmq_strerror(zmq_errno()));
	for (int i = 0; i < NSOCK; i++) {
		bool ok = (k->s[i] = zmq_socket(k->ctx, type[i])) != NULL;

		ok = ok && zmq_setsockopt(k->s[i], ZMQ_LINGER, &zero,
					  sizeof(zero)) == 0;
		if (i == IOPUB)
			/* Nothing published for us is dropped on our side. */
			ok = ok && zmq_setsockopt(k->s[i], ZMQ_SUBSCRIBE, "",
						  0) == 0 &&
			     zmq_setsockopt(k->s[i], ZMQ_RCVHWM, &zero,
					    sizeof(zero)) == 0;
		else
			ok = ok && zmq_setsockopt(k->s[i], ZMQ_ROUTING_ID,
						  k->session,
						  strlen(k->session)) == 0;
		if (ok && i == STDIN)
			ok = monitor(k);
		snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", port[i]);
		if (!ok || zmq_connect(k->s[i], ep) < 0)
			return md_err_set("%s: %s: %s", k->label, ep,
					  zmq_strerror(zmq_errno()));
	}
	return 0;
}

/* arg with {connection_file} and {resource_dir} replaced. Caller frees. */
static char *
expand(const char *arg, const char *conn, const char *resources)
{
	static const char cf[] = "{connection_file}", rd[] = "{resource_dir}";
	struct md_buf b = MD_BUF_INIT;

	while (*arg) {
		if (!strncmp(arg, cf, strlen(cf))) {
			md_buf_puts(&b, conn);
			arg += strlen(cf);
		} else if (!strncmp(arg, rd, strlen(rd))) {
			md_buf_puts(&b, resources ? resources : "");
			arg += strlen(rd);
		} else {
			md_buf_putc(&b, *arg++);
		}
	}
	return md_buf_detach(&b);
}

/* Is the NAME of NAME=VALUE e among v's? */
static bool
named_in(const char *const *v, const char *e)
{
	size_t len = strcspn(e, "=");

	for (; v && *v; v++)
		if (!strncmp(*v, e, len) && (*v)[len] == '=')
			return true;
	return false;
}

/* The spec's env, then env, whose entries win. Caller frees the array. */
static const char **
merged_env(const char *const *spec, const char *const *env)
{
	size_t n = 0, i;
	const char **v;

	for (i = 0; spec && spec[i]; i++)
		n++;
	for (i = 0; env && env[i]; i++)
		n++;
	v = md_calloc(n + 1, sizeof(*v));
	n = 0;
	for (i = 0; spec && spec[i]; i++)
		if (!named_in(env, spec[i]))
			v[n++] = spec[i];
	for (i = 0; env && env[i]; i++)
		v[n++] = env[i];
	return v;
}

/*
 * Appends the last lines the kernel wrote to its stdout and stderr
 * before it ended, "; " between them: why it did not start.
 */
static void
log_tail(struct md_buf *out, const char *path)
{
	struct md_buf b = MD_BUF_INIT;
	const char *line[3] = { NULL };
	size_t len[3] = { 0 }, n = 0, i = 0;

	if (md_fs_read_regular(&b, path, 1 << 20) == 0) {
		while (i < b.len) {
			const char *s = b.ptr + i;
			size_t k = strcspn(s, "\n");

			i += k + 1;
			if (!k)
				continue;
			memmove(line, line + (n == 3), (n - (n == 3)) *
							       sizeof(*line));
			memmove(len, len + (n == 3), (n - (n == 3)) *
							     sizeof(*len));
			n -= n == 3;
			line[n] = s;
			len[n++] = k;
		}
	}
	for (i = 0; i < n; i++)
		md_buf_printf(out, "%s%.*s", i ? "; " : "; its output ends: ",
			      (int)len[i], line[i]);
	md_buf_dispose(&b);
}

/* How a wait status ended the kernel: "exit 1", "killed by signal 9". */
static void
describe(struct md_buf *out, int ws)
{
	struct md_proc_result r;

	memset(&r, 0, sizeof(r));
	md_proc_status(&r, ws);
	md_exit_describe(out, &r.exit);
}

/* Keeps the name and version of language_info, for md_kernel_language. */
static void
take_language(struct md_kernel *k, const cJSON *content)
{
	const cJSON *li = cJSON_GetObjectItemCaseSensitive(content,
							  "language_info");
	const char *name = str(li, "name"), *version = str(li, "version");
	struct md_buf b = MD_BUF_INIT;

	if (!name)
		return;
	md_buf_puts(&b, name);
	if (version && *version)
		md_buf_printf(&b, " %s", version);
	free(k->language);
	k->language = md_buf_detach(&b);
}

/* Sleeps ms milliseconds. */
static void
nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/*
 * Waits until the kernel has answered a kernel_info_request on shell,
 * one of its iopub messages has reached us (a subscriber misses what was
 * published before it was connected), and stdin is connected. A kernel
 * binds its ports late, so the request is sent again now and then.
 */
static int
handshake(struct md_kernel *k, double timeout)
{
	double now = md_mono(), ask = now, heard = 0;
	double until = now + (timeout > 0 ? timeout : START_WAIT);
	bool replied = false, published = false, linked = false;
	struct md_buf why = MD_BUF_INIT;
	int rc = 0, ws = 0;

	while (!replied || !published || !linked) {
		zmq_pollitem_t it[3] = { { k->s[SHELL], 0, ZMQ_POLLIN, 0 },
					 { k->s[IOPUB], 0, ZMQ_POLLIN, 0 },
					 { k->mon, 0, ZMQ_POLLIN, 0 } };
		struct msg m;
		enum got g;

		now = md_mono();
		/*
		 * One that publishes nothing for kernel_info, or has no
		 * stdin, may still run blocks.
		 */
		if (replied && now > heard + IOPUB_WAIT)
			break;
		if (!replied && now > until) {
			rc = md_err_set("%s did not answer within %g seconds",
					k->label,
					timeout > 0 ? timeout : START_WAIT);
			break;
		}
		if (md_proc_reap(k->pid, &ws, false)) {
			k->pid = -1;
			describe(&why, ws);
			log_tail(&why, k->log);
			rc = md_err_set("%s exited before it answered: %s",
					k->label, why.ptr);
			break;
		}
		if (now >= ask) {
			if (!send_msg(k, SHELL, "kernel_info_request",
				      cJSON_CreateObject(), NULL, NULL)) {
				rc = cannot_send(k, "kernel_info_request");
				break;
			}
			ask = now + (replied ? 0.2 : 1.0);
		}
		if (zmq_poll(it, linked ? 2 : 3, TICK) <= 0)
			continue;
		if (!linked && (it[2].revents & ZMQ_POLLIN)) {
			linked = true;
			unmonitor(k);
		}
		while ((g = recv_msg(k, SHELL, &m)) != NONE) {
			if (g == GOT && !replied && answers(k, &m, NULL) &&
			    !strcmp(m.type, "kernel_info_reply")) {
				replied = true;
				heard = ask = md_mono();
				take_language(k, m.content);
			}
			msg_dispose(&m);
		}
		while ((g = recv_msg(k, IOPUB, &m)) != NONE) {
			published |= g == GOT && answers(k, &m, NULL);
			msg_dispose(&m);
		}
	}
	unmonitor(k);
	md_buf_dispose(&why);
	return rc;
}

/* Ends the kernel's process group, if any: it is not alive after. */
static void
kill_kernel(struct md_kernel *k)
{
	if (k->pid > 0)
		md_proc_kill(k->pid);
	k->pid = -1;
}

/* Closes what k holds, removes its files, frees it. */
static void
release(struct md_kernel *k)
{
	unmonitor(k);
	for (int i = 0; i < NSOCK; i++)
		if (k->s[i])
			zmq_close(k->s[i]);
	if (k->ctx)
		zmq_ctx_term(k->ctx);
	if (k->conn)
		unlink(k->conn);
	if (k->log)
		unlink(k->log);
	EVP_MAC_CTX_free(k->mac);
	free(k->conn);
	free(k->log);
	free(k->label);
	free(k->language);
	for (size_t i = 0; k->envset && k->envset[i]; i++)
		free(k->envset[i]);
	free(k->envset);
	free(k);
}

int
md_kernel_start(struct md_kernel **out, const struct md_kernel_spec *spec,
		const char *dir, const char *cwd, const char *const *env,
		double timeout)
{
	struct md_kernel *k = md_calloc(1, sizeof(*k));
	struct md_buf b = MD_BUF_INIT;
	char keyhex[65], *base = NULL, **argv = NULL;
	const char **envv = NULL;
	unsigned char key[32];
	int port[5], logfd = -1, rc;
	size_t n = 0;

	*out = NULL;
	k->pid = -1;
	k->interrupt_message = spec->interrupt_message;
	md_buf_printf(&b, "kernel '%s'", spec->name);
	if (spec->display_name)
		md_buf_printf(&b, " (%s)", spec->display_name);
	k->label = md_buf_detach(&b);
	if (!spec->argv || !spec->argv[0]) {
		rc = md_err_set("%s: its kernel.json has no argv", k->label);
		goto done;
	}
	uuid(k->session);
	if (RAND_bytes(key, sizeof(key)) != 1) {
		rc = md_err_set("%s: no random key", k->label);
		goto done;
	}
	hex(keyhex, key, sizeof(key));
	/* The kernel runs in cwd: it needs the file's absolute path. */
	if (!(base = realpath(dir, NULL))) {
		rc = md_err_sys("%s", dir);
		goto done;
	}
	md_buf_printf(&b, "%s/kernel-%s.json", base, k->session);
	k->conn = md_buf_detach(&b);
	md_buf_printf(&b, "%s/kernel-%s.log", base, k->session);
	k->log = md_buf_detach(&b);
	if ((rc = mac_new(k, keyhex)) < 0 || (rc = free_ports(port)) < 0 ||
	    (rc = write_conn(k, port, keyhex, spec->name)) < 0 ||
	    (rc = connect_all(k, port)) < 0)
		goto done;
	if ((logfd = open(k->log, O_WRONLY | O_CREAT | O_EXCL | O_APPEND |
					  O_CLOEXEC,
			  0600)) < 0) {
		rc = md_err_sys("%s", k->log);
		goto done;
	}
	while (spec->argv[n])
		n++;
	argv = md_calloc(n + 2, sizeof(*argv));
	for (size_t i = 0; i < n; i++)
		argv[i] = expand(spec->argv[i], k->conn, spec->dir);
	/*
	 * IPython writes each request to the user's history database, two
	 * syncs a block; a render is no one's history (nbclient does this).
	 */
	for (size_t i = 0; i < n; i++)
		if (!strcmp(argv[i], "ipykernel_launcher") ||
		    !strcmp(argv[i], "ipykernel")) {
			argv[n] = md_strdup("--HistoryManager.hist_file="
					    ":memory:");
			break;
		}
	envv = merged_env((const char *const *)spec->env, env);
	struct md_spawn sp = { .argv = (const char *const *)argv,
			       .cwd = cwd,
			       .env = envv,
			       .out = logfd,
			       .err = logfd,
			       .map = { { -1, -1 }, { -1, -1 } } };
	if ((rc = md_proc_spawn(&k->pid, &sp)) < 0) {
		k->pid = -1;
		rc = md_err_prefix(rc, "%s", k->label);
		goto done;
	}
	rc = handshake(k, timeout);
done:
	if (logfd >= 0)
		close(logfd);
	md_strv_free(argv);
	free(envv);
	free(base);
	if (rc < 0) {
		kill_kernel(k);
		release(k);
	} else {
		*out = k;
	}
	return rc;
}

/* One block's run: what came for its execute_request so far. */
struct run {
	struct md_proc_result *r;
	struct md_kernel *k;
	char id[37]; /* the execute_request's msg_id */
	/*
	 * Its events, as the python driver writes them: the output list
	 * is made from them by the same code (md_outputs_from_events).
	 */
	struct md_buf ev;
	int last;	 /* the stream written last: 0 none, 1 out, 2 err */
	size_t cap;	 /* bytes kept per stream */
	size_t rich;	 /* bytes of rich values kept */
	bool clear_wait; /* a clear_output waits for the next output */
	bool idle, replied, failed;
};

/*
 * An event at the point both streams have reached: item (taken) with
 * "at" added, or only "at" when item is NULL.
 */
static void
event(struct run *u, cJSON *item)
{
	cJSON *at = cJSON_CreateArray();
	char *line;

	if (!item)
		item = cJSON_CreateObject();
	cJSON_AddItemToArray(at, cJSON_CreateNumber((double)u->r->out.len));
	cJSON_AddItemToArray(at, cJSON_CreateNumber((double)u->r->err.len));
	cJSON_AddItemToObject(item, "at", at);
	line = cJSON_PrintUnformatted(item);
	md_buf_printf(&u->ev, "%s\n", line);
	free(line);
	cJSON_Delete(item);
}

/* Drops what the block showed so far, as a notebook's clear_output does. */
static void
clear(struct run *u)
{
	md_buf_clear(&u->r->out);
	md_buf_clear(&u->r->err);
	u->r->out_cut = u->r->err_cut = false;
	md_buf_clear(&u->ev);
	u->last = 0;
	u->rich = 0;
	u->clear_wait = false;
}

/*
 * Is stderr text s an R message that message=false drops? IRkernel sends
 * each message() as stderr text of its own, a warning as one that starts
 * "Warning message", and errors as error messages, not text.
 */
static bool
is_message(const struct md_kernel *k, const char *s)
{
	return k->drop_messages && k->language && k->language[0] == 'R' &&
	       (!k->language[1] || k->language[1] == ' ') &&
	       strncmp(s, "Warning message", 15) != 0;
}

/* Text on stdout or stderr, kept up to the cap, in the list. */
static void
text(struct run *u, bool err, const char *s, size_t n)
{
	struct md_buf *b = err ? &u->r->err : &u->r->out;
	bool *cut = err ? &u->r->err_cut : &u->r->out_cut;

	if (u->clear_wait)
		clear(u);
	if (u->cap && b->len + n > u->cap) {
		*cut = true;
		n = b->len < u->cap ? u->cap - b->len : 0;
	}
	if (!n)
		return;
	/* Where the stream written changes. */
	if (u->last && u->last != 1 + err)
		event(u, NULL);
	u->last = 1 + err;
	md_buf_put(b, s, n);
}

/*
 * The base64 of binary types without the line breaks some kernels put in
 * it (IRkernel's PNGs), which the store's lists do not hold.
 */
static void
unwrap_base64(cJSON *data)
{
	cJSON *v;

	cJSON_ArrayForEach(v, data)
	{
		char *p = v->valuestring, *q = p;

		if (!cJSON_IsString(v) || !render_mime_binary(v->string))
			continue;
		for (; *p; p++)
			if (!strchr(" \t\r\n", *p))
				*q++ = *p;
		*q = '\0';
	}
}

/*
 * A display_data or execute_result: its bundle as the kernel sent it
 * (binary types in base64). Past MD_RICH_CAP bytes of them, the rest is
 * dropped and the output cut, as the python driver's events are.
 */
static void
rich(struct run *u, struct msg *m, bool result)
{
	cJSON *data = cJSON_GetObjectItemCaseSensitive(m->content, "data");
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(m->content, "metadata");
	cJSON *item;

	if (!cJSON_IsObject(data))
		return;
	if (u->clear_wait)
		clear(u);
	if (u->cap && u->rich + m->size > MD_RICH_CAP(u->cap)) {
		u->r->out_cut = true;
		return;
	}
	u->rich += m->size;
	unwrap_base64(data);
	item = cJSON_CreateObject();
	cJSON_AddItemToObject(item, "data",
			      cJSON_DetachItemViaPointer(m->content, data));
	cJSON_AddItemToObject(item, "metadata",
			      cJSON_IsObject(meta)
				      ? cJSON_DetachItemViaPointer(m->content,
								   meta)
				      : cJSON_CreateObject());
	cJSON_AddBoolToObject(item, "result", result);
	event(u, item);
}

/* An error: its traceback, one line each, ANSI colours kept, on stderr. */
static void
error(struct run *u, const cJSON *content)
{
	const cJSON *tb = cJSON_GetObjectItemCaseSensitive(content,
							   "traceback");
	const cJSON *line;
	struct md_buf b = MD_BUF_INIT;

	cJSON_ArrayForEach(line, tb)
	{
		if (cJSON_IsString(line))
			md_buf_printf(&b, "%s\n", line->valuestring);
	}
	if (!b.len)
		md_buf_printf(&b, "%s: %s\n",
			      str(content, "ename") ? str(content, "ename")
						    : "error",
			      str(content, "evalue") ? str(content, "evalue")
						     : "");
	text(u, true, b.ptr, b.len);
	md_buf_dispose(&b);
}

/* A line of mdrun's own at the end of stderr. */
static void
note(struct run *u, const char *what)
{
	struct md_buf b = MD_BUF_INIT;
	const struct md_buf *err = &u->r->err;

	if (err->len && err->ptr[err->len - 1] != '\n')
		md_buf_putc(&b, '\n');
	md_buf_printf(&b, "[mdrun: %s]\n", what);
	text(u, true, b.ptr, b.len);
	md_buf_dispose(&b);
}

/* What iopub published for the block. */
static void
on_iopub(struct run *u, struct msg *m)
{
	const char *t = m->type, *s;

	if (!answers(u->k, m, u->id))
		return;
	if (!strcmp(t, "status")) {
		s = str(m->content, "execution_state");
		u->idle |= s && !strcmp(s, "idle");
	} else if (!strcmp(t, "stream") && (s = str(m->content, "text"))) {
		const char *name = str(m->content, "name");
		bool err = name && !strcmp(name, "stderr");

		if (!(err && is_message(u->k, s)))
			text(u, err, s, strlen(s));
	} else if (!strcmp(t, "display_data")) {
		rich(u, m, false);
	} else if (!strcmp(t, "execute_result")) {
		rich(u, m, true);
	} else if (!strcmp(t, "error")) {
		error(u, m->content);
	} else if (!strcmp(t, "clear_output")) {
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m->content,
								  "wait")))
			u->clear_wait = true;
		else
			clear(u);
	}
	/*
	 * update_display_data is ignored: a rendered page shows each
	 * display as it was first given, not as a live view updated by
	 * display_id. execute_input and comm messages say nothing shown.
	 */
}

/* What the other sockets brought for the block. */
static void
on_reply(struct run *u, int which, struct msg *m)
{
	const char *s;

	if (!answers(u->k, m, u->id))
		return;
	if (which == SHELL && !strcmp(m->type, "execute_reply")) {
		u->replied = true;
		s = str(m->content, "status");
		u->failed |= !s || strcmp(s, "ok");
		if (s && !strcmp(s, "aborted"))
			note(u, "the kernel aborted the block: it did not run");
	} else if (which == STDIN && !strcmp(m->type, "input_request")) {
		/*
		 * allow_stdin is false, so ipykernel raises an error of its
		 * own; IRkernel asks all the same, and waits: it reads
		 * nothing, and the block fails.
		 */
		cJSON *c = cJSON_CreateObject();

		cJSON_AddStringToObject(c, "value", "");
		send_msg(u->k, STDIN, "input_reply", c, m->header, NULL);
		note(u, "the block asked for input, which a render cannot "
			"give: it read nothing");
		u->failed = true;
	}
}

/*
 * Waits up to ms for messages, then handles those waiting, up to BATCH
 * a socket: a kernel that floods one cannot keep the caller from its
 * deadline. Whether any came.
 */
static bool
pump(struct run *u, long ms)
{
	zmq_pollitem_t it[NSOCK];
	bool any = false;
	struct msg m;
	enum got g;

	for (int i = 0; i < NSOCK; i++)
		it[i] = (zmq_pollitem_t){ u->k->s[i], 0, ZMQ_POLLIN, 0 };
	if (zmq_poll(it, NSOCK, ms) <= 0)
		return false;
	for (int i = 0; i < NSOCK; i++) {
		/* Each look at a socket costs system calls: only those ready. */
		if (!(it[i].revents & ZMQ_POLLIN))
			continue;
		for (int n = 0;
		     n < BATCH && (g = recv_msg(u->k, i, &m)) != NONE; n++) {
			any = true;
			if (g == GOT && i == IOPUB)
				on_iopub(u, &m);
			else if (g == GOT)
				on_reply(u, i, &m);
			msg_dispose(&m);
		}
	}
	return any;
}

/* What is still on its way from a kernel that ended, for up to a second. */
static void
drain(struct run *u)
{
	double until = md_mono() + 1;

	while (pump(u, TICK) && md_mono() < until)
		;
}

/* Interrupts the kernel as its spec says: SIGINT, or a message. */
static void
interrupt(struct md_kernel *k)
{
	if (k->interrupt_message)
		send_msg(k, CONTROL, "interrupt_request", cJSON_CreateObject(),
			 NULL, NULL);
	else
		md_proc_signal(k->pid, SIGINT);
}

/*
 * Collects the block's outputs until the kernel is idle and has replied;
 * at until (mono seconds; 0: never) interrupts it, and kills it if it
 * does not stop.
 */
static void
collect(struct run *u, double until)
{
	struct md_kernel *k = u->k;
	struct md_buf b = MD_BUF_INIT;
	double now = md_mono(), replied_at = 0;
	bool interrupted = false;
	int ws = 0;

	while (!u->idle || !u->replied) {
		pump(u, TICK);
		now = md_mono();
		if (md_proc_reap(k->pid, &ws, false)) {
			k->pid = -1;
			drain(u);
			md_buf_printf(&b, "%s died during the block: ",
				      k->label);
			describe(&b, ws);
			note(u, b.ptr);
			u->failed = true;
			break;
		}
		/* A publisher past its high-water mark may drop the idle. */
		if (u->replied && !replied_at)
			replied_at = now;
		if (replied_at && now > replied_at + IDLE_WAIT)
			break;
		if (!until || now < until)
			continue;
		if (!interrupted) {
			u->r->exit.timed_out = true;
			interrupt(k);
			interrupted = true;
			until = now + INTERRUPT_WAIT;
			continue;
		}
		kill_kernel(k);
		drain(u);
		md_buf_printf(&b, "%s did not stop when interrupted: killed",
			      k->label);
		note(u, b.ptr);
		break;
	}
	md_buf_dispose(&b);
}

int
md_kernel_run(struct md_proc_result *r, struct md_kernel *k,
	      const char *code, size_t len, double timeout, size_t cap)
{
	return md_kernel_run_hook(r, k, code, len, timeout, cap, NULL, NULL);
}

int
md_kernel_run_hook(struct md_proc_result *r, struct md_kernel *k,
		   const char *code, size_t len, double timeout, size_t cap,
		   void (*started)(void *), void *arg)
{
	struct run u = { .r = r, .k = k, .ev = MD_BUF_INIT, .cap = cap };
	double until;
	cJSON *c;
	char *text;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	md_buf_put(&r->out, "", 0);
	md_buf_put(&r->err, "", 0);
	if (!md_kernel_alive(k))
		return md_err_set("%s is not running", k->label);
	c = cJSON_CreateObject();
	text = md_strndup(code, len);
	cJSON_AddStringToObject(c, "code", text);
	free(text);
	cJSON_AddFalseToObject(c, "silent");
	cJSON_AddTrueToObject(c, "store_history");
	cJSON_AddItemToObject(c, "user_expressions", cJSON_CreateObject());
	/* No one can type during a render: see on_reply. */
	cJSON_AddFalseToObject(c, "allow_stdin");
	/*
	 * Blocks are sent one at a time, each after the last one's reply:
	 * there is no queue for an error to abort. (With true, ipykernel
	 * aborts a request that comes just after an error.)
	 */
	cJSON_AddFalseToObject(c, "stop_on_error");
	r->start = md_now();
	until = timeout > 0 ? md_mono() + timeout : 0;
	if (!send_msg(k, SHELL, "execute_request", c, NULL, u.id)) {
		rc = cannot_send(k, "execute_request");
		goto done;
	}
	if (started) {
		double t = md_now();

		started(arg);
		r->start += md_now() - t;
	}
	collect(&u, until);
	r->end = md_now();
	r->exit.code = u.failed ? 1 : 0;
	md_outputs_from_events(&r->outs, u.ev.ptr, u.ev.len, 0, 0, r->out.len,
			       r->err.len);
done:
	md_buf_dispose(&u.ev);
	return rc;
}

/* s as a string literal that Python and R both read: JSON's. */
static void
put_literal(struct md_buf *b, const char *s, size_t n)
{
	char *t = md_strndup(s, n);
	cJSON *j = cJSON_CreateString(t);
	char *lit = cJSON_PrintUnformatted(j);

	md_buf_puts(b, lit ? lit : "\"\"");
	free(lit);
	cJSON_Delete(j);
	free(t);
}

/*
 * The code that sets env (NAME=value strings) and unsets the names set
 * last time that env does not set, in the kernel's language; false for a
 * language this does not know.
 */
static bool
env_code(struct md_buf *c, const char *lang, char **was,
	 const char *const *env)
{
	size_t ln = strcspn(lang, " ");	/* "python 3.11.2" */
	bool python = ln == 6 && !strncmp(lang, "python", 6);
	bool r = ln == 1 && lang[0] == 'R';
	size_t i, j;

	if (!python && !r)
		return false;
	/* R's Sys.setenv() wants an argument: one that changes nothing. */
	md_buf_puts(c, python ? "import os as __mdrun_os\n"
			      "__mdrun_os.environ.update({"
			    : "Sys.setenv(MDRUN_DOC = Sys.getenv(\"MDRUN_DOC\")");
	for (i = 0; env[i]; i++) {
		const char *eq = strchr(env[i], '=');
		if (!eq)
			continue;
		md_buf_puts(c, i || r ? ", " : "");
		put_literal(c, env[i], (size_t)(eq - env[i]));
		md_buf_puts(c, python ? ": " : " = ");
		put_literal(c, eq + 1, strlen(eq + 1));
	}
	md_buf_puts(c, python ? "})\n" : ")\n");
	for (i = 0; was && was[i]; i++) {
		size_t n = strcspn(was[i], "=");
		for (j = 0; env[j] && (strncmp(env[j], was[i], n) ||
				       env[j][n] != '='); j++)
			;
		if (env[j])
			continue;
		md_buf_puts(c, python ? "__mdrun_os.environ.pop(" :
			    "Sys.unsetenv(");
		put_literal(c, was[i], n);
		md_buf_puts(c, python ? ", None)\n" : ")\n");
	}
	if (python) /* warning=false: python's filters, kept and put back */
		md_buf_puts(c, "import warnings as __mdrun_w\n"
			       "if __mdrun_os.environ.get(\"MDRUN_WARNINGS\") "
			       "== \"ignore\":\n"
			       "    globals().setdefault(\"__mdrun_wf\", "
			       "__mdrun_w.filters[:])\n"
			       "    __mdrun_w.simplefilter(\"ignore\")\n"
			       "elif \"__mdrun_wf\" in globals():\n"
			       "    __mdrun_w.filters[:] = "
			       "globals().pop(\"__mdrun_wf\")\n"
			       "del __mdrun_os, __mdrun_w\n");
	else /* warning=false */
		md_buf_puts(c, "options(warn = if (Sys.getenv(\"MDRUN_WARNINGS\")"
			       " == \"ignore\") -1 else 0)\n");
	return true;
}

int
md_kernel_setenv(struct md_kernel *k, const char *const *env)
{
	struct md_buf c = MD_BUF_INIT;
	cJSON *req;
	size_t n = 0;
	int rc = 0;

	if (!md_kernel_alive(k))
		return md_err_set("%s is not running", k->label);
	k->drop_messages = false;
	for (n = 0; env[n]; n++)
		if (!strcmp(env[n], "MDRUN_MESSAGES=drop"))
			k->drop_messages = true;
	n = 0;
	/* A request costs the kernel milliseconds: none when nothing changes. */
	while (env[n] && k->envset && k->envset[n] &&
	       !strcmp(env[n], k->envset[n]))
		n++;
	if (!env[n] && (!k->envset || !k->envset[n]))
		return 0;
	if (!env_code(&c, md_kernel_language(k), k->envset, env)) {
		md_buf_dispose(&c);
		return 0;
	}
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "code", c.ptr);
	cJSON_AddTrueToObject(req, "silent");
	cJSON_AddFalseToObject(req, "store_history");
	cJSON_AddItemToObject(req, "user_expressions", cJSON_CreateObject());
	cJSON_AddFalseToObject(req, "allow_stdin");
	cJSON_AddFalseToObject(req, "stop_on_error");
	/*
	 * The kernel runs requests in order, so the block's, sent next, sees
	 * these variables; what this one sends back answers another request
	 * and is ignored.
	 */
	if (!send_msg(k, SHELL, "execute_request", req, NULL, NULL))
		rc = cannot_send(k, "execute_request");
	md_buf_dispose(&c);
	for (size_t i = 0; k->envset && k->envset[i]; i++)
		free(k->envset[i]);
	free(k->envset);
	for (n = 0; env[n]; n++)
		;
	k->envset = md_calloc(n + 1, sizeof(*k->envset));
	for (size_t i = 0, m = 0; i < n; i++)
		if (strchr(env[i], '='))
			k->envset[m++] = md_strdup(env[i]);
	return rc;
}

bool
md_kernel_alive(const struct md_kernel *k)
{
	siginfo_t si;

	if (!k || k->pid <= 0)
		return false;
	/* Not reaped here: md_kernel_run learns how it ended. */
	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)k->pid, &si,
		      WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       si.si_pid == 0;
}

const char *
md_kernel_language(const struct md_kernel *k)
{
	return k->language ? k->language : "";
}

void
md_kernel_stop(struct md_kernel *k)
{
	double until;

	if (!k)
		return;
	if (k->pid > 0) {
		cJSON *c = cJSON_CreateObject();

		cJSON_AddFalseToObject(c, "restart");
		until = md_mono() + STOP_WAIT;
		if (send_msg(k, CONTROL, "shutdown_request", c, NULL, NULL))
			while (md_mono() < until) {
				if (md_proc_reap(k->pid, NULL, false)) {
					k->pid = -1;
					break;
				}
				nap(10);
			}
		kill_kernel(k);
	}
	release(k);
}
