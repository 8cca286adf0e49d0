/*
 * The store's JSON readers: a realization's meta.json (store_read,
 * store_lookup, store_read_pending, store_verify), a key's drv.json
 * (store_drv, store_verify) and a document's root (store_root_keys,
 * store_root_notes, store_gc). They read files, so the input is written
 * into a store made once per process in the scratch folder, holding one
 * key with one realization and one run record, and a key with neither.
 *
 * Input: meta.json, then drv.json after a 0x1e byte (ASCII record
 * separator), then the root after another. Without a separator, every
 * file gets the whole input.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../../store/store.h"
#include "../../util/buf.h"
#include "../../util/err.h"
#include "../../util/fs.h"

#define PART 0x1e

/*
 * The key of the `sh-1` block of samples/tour.md and the realization it
 * got, as in the seeds: a seed's drv.json then hashes to the key, and its
 * meta.json, with stdout below, to the rhash.
 */
#define KEY \
	"6c6b6cd35f17bb87f7ed923a17b096f15cffdc2387707ade8472657a9828f2ca"
#define RHASH \
	"fd31d0bf02edd8758fa3d7bbe884ef1e4f8c8a38ad8a9d98bf58d56f90919e49"
/* A key whose runs are gone, as a kill in `mdrun store rm` leaves it. */
#define KEY_NO_RUNS \
	"3965d1ddd6e5bf3328f0105e7d9452b299c19f1b71461ba50bc171d6cca1385c"
#define DOC "/mdrun-fuzz/tour.md"

static struct store *store;
static char *meta_path, *drv_path, *root_path;

static void
close_store(void)
{
	store_close(store);
	free(meta_path);
	free(drv_path);
	free(root_path);
}

static char *
join3(const char *a, const char *b, const char *c)
{
	struct md_buf p = MD_BUF_INIT;

	md_buf_printf(&p, "%s/%s/%s", a, b, c);
	return md_buf_detach(&p);
}

static void
must(int rc)
{
	if (rc < 0) {
		fuzz_fail(__FILE__, __LINE__, md_err_msg());
	}
}

/* The store, its key, realization, run record and root. */
static void
setup(void)
{
	static const char out[] = "Hello from work/, the folder of this "
				  "document.\ntwo\nthree\none\n";
	char *root = md_path_join(fuzz_scratch(), "store");
	char *kdir = join3(root, "store", KEY);
	char *real = md_path_join(kdir, RHASH);
	char *runs = md_path_join(kdir, "runs");
	char *p;
	char keys[1][MD_HASH_HEX] = { KEY };

	must(store_open(&store, root));
	atexit(close_store);
	must(md_fs_mkdirs(real, 0755));
	must(md_fs_mkdirs(runs, 0755));
	p = join3(root, "store", KEY_NO_RUNS);
	must(md_fs_mkdirs(p, 0755));
	free(p);
	p = md_path_join(real, "stdout");
	fuzz_write(p, out, sizeof(out) - 1);
	free(p);
	p = md_path_join(runs, "00000000000000000001-" RHASH "-ok");
	fuzz_write(p, "", 0);
	free(p);
	/* store_root_write names the root's file: it is the only one. */
	must(store_root_write(store, DOC, keys, 1, "{\"document\":\"x\"}"));
	meta_path = md_path_join(real, "meta.json");
	drv_path = md_path_join(kdir, "drv.json");
	{
		char **names = NULL;
		size_t n = 0;
		char *roots = md_path_join(root, "roots");

		must(md_fs_list(&names, &n, roots));
		if (n != 1)
			fuzz_fail(__FILE__, __LINE__, "one root expected");
		root_path = md_path_join(roots, names[0]);
		free(names[0]);
		free(names);
		free(roots);
	}
	free(runs);
	free(real);
	free(kdir);
	free(root);
}

static void
report(const char *path, const char *what, void *ctx)
{
	(void)path;
	(void)what;
	(*(size_t *)ctx)++;
}

static void
say(const char *what, void *ctx)
{
	(void)what;
	(void)ctx;
}

/* Part i of s[0, n) split at PART; the whole of it when it has none. */
static void
part(const char **p, size_t *len, const char *s, size_t n, int i)
{
	const char *end;

	*p = s;
	*len = n;
	if (!memchr(s, PART, n))
		return;
	for (; i > 0; i--) {
		end = memchr(*p, PART, *len);
		if (!end) {
			*len = 0;
			return;
		}
		*len -= (size_t)(end - *p) + 1;
		*p = end + 1;
	}
	end = memchr(*p, PART, *len);
	if (end)
		*len = (size_t)(end - *p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *p;
	size_t len, bad = 0, reports = 0, nkeys = 0;
	char (*keys)[MD_HASH_HEX] = NULL;
	struct store_real r;
	struct store_gc_stats st;
	struct store_gc_opts gc = { true, 1, 0, NULL, 0 };
	struct md_buf b = MD_BUF_INIT;

	if (!store)
		setup();
	part(&p, &len, s, size, 0);
	fuzz_write(meta_path, p, len);
	part(&p, &len, s, size, 1);
	fuzz_write(drv_path, p, len);
	part(&p, &len, s, size, 2);
	fuzz_write(root_path, p, len);

	/* The root's keys, listed ahead as a render does: lookups below
	 * use that listing. */
	if (store_root_keys(&keys, &nkeys, store, DOC) == 0)
		store_prefetch(store, keys, nkeys);
	free(keys);
	if (store_read(&r, store, KEY, RHASH) == 0) {
		FUZZ_CHECK(r.path && r.out.ptr && r.err.ptr);
		store_real_failed(&r);
		store_real_dispose(&r);
	}
	if (store_lookup(&r, store, KEY, STORE_FIRST, true) == 0)
		store_real_dispose(&r);
	store_read_later(&r, store, KEY, RHASH);
	store_read_pending(&r);
	store_real_dispose(&r); /* failed or not, r holds its path */
	store_meta_text(&b, store, KEY, RHASH);
	md_buf_clear(&b);
	store_drv(&b, store, KEY);
	md_buf_clear(&b);
	store_root_notes(&b, store, DOC);
	md_buf_dispose(&b);
	if (store_verify(&bad, store, report, &reports) == 0)
		FUZZ_CHECK(bad == reports);
	store_gc(&st, store, &gc, say, NULL);
	md_err_clear();
	return 0;
}
