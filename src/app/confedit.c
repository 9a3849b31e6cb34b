/*
 * confedit — see confedit.h.
 *
 * One table (secrets[]) says where the secrets are; hiding them
 * (confedit_public), putting them back (confedit_apply) and wiping them
 * from trees about to be freed all walk it, so a secret added to config.c
 * is one row here.
 */
#include "app/confedit.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/xalloc.h"

/* Where secrets live: each object of the array (list) or the one object
 * at section holds one under key. */
static const struct secret {
	const char *section;
	bool list;		/* an array of objects found by "id" */
	const char *key;
	const char *set_key;	/* what the page sees instead */
} secrets[] = {
	{ "chargers", true, "password", "password_set" },
	{ "mqtt", false, "password", "password_set" },
	{ "upstream", false, "password", "password_set" },
};
#define NSECRETS (sizeof secrets / sizeof *secrets)

static void
set_cause(char **cause, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
set_cause(char **cause, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (cause == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	*cause = s;
}

static void
wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void
confedit_version(const char *text, size_t len, char out[CONFEDIT_VERSION_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(text, len, md, &n, EVP_sha256(), NULL) != 1 || n < 16)
		abort();	/* only out of memory can fail SHA-256 */
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* text[0..len) as JSON with comments: the tree (any JSON value), or NULL
 * with *cause — config_parse()'s own reading of the file. */
static cJSON *
parse_text(const char *text, size_t len, char **cause)
{
	char *why = NULL;
	cJSON *root = config_parse_json(text, len, &why);

	if (root == NULL) {
		if (cause != NULL)
			*cause = why;
		else
			free(why);
	}
	return root;
}

/* The objects of root that hold a secret, one per holder_next() call;
 * start from a zeroed struct. Items that are not objects are skipped
 * (config_parse says what is wrong with them). */
struct holder {
	cJSON *obj;		/* the current holder */
	int index;		/* its array index; -1 for a section */
	cJSON *next;		/* the array item after it */
	bool started;
};

static bool
holder_next(cJSON *root, const struct secret *s, struct holder *h)
{
	cJSON *at;

	if (!h->started) {
		h->started = true;
		h->index = -1;
		at = cJSON_GetObjectItemCaseSensitive(root, s->section);
		if (!s->list) {
			h->obj = cJSON_IsObject(at) ? at : NULL;
			return h->obj != NULL;
		}
		h->next = cJSON_IsArray(at) ? at->child : NULL;
	} else if (!s->list) {
		return false;
	}
	/* h->next is taken before the caller edits h->obj's members. */
	while (h->next != NULL) {
		cJSON *it = h->next;

		h->next = it->next;
		h->index++;
		if (cJSON_IsObject(it)) {
			h->obj = it;
			return true;
		}
	}
	return false;
}

/* Wipe every secret string held in root (before cJSON_Delete). */
static void
scrub(cJSON *root)
{
	if (!cJSON_IsObject(root))
		return;
	for (size_t k = 0; k < NSECRETS; k++) {
		struct holder h = { 0 };

		while (holder_next(root, &secrets[k], &h)) {
			cJSON *v = cJSON_GetObjectItemCaseSensitive(h.obj,
			    secrets[k].key);

			if (cJSON_IsString(v))
				explicit_bzero(v->valuestring,
				    strlen(v->valuestring));
		}
	}
}

/* Delete every member key of obj (a hand-made file may repeat one),
 * wiping string values first: they may be secrets. */
static void
delete_all(cJSON *obj, const char *key)
{
	cJSON *v;

	while ((v = cJSON_GetObjectItemCaseSensitive(obj, key)) != NULL) {
		if (cJSON_IsString(v))
			explicit_bzero(v->valuestring, strlen(v->valuestring));
		cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
	}
}

/* Put item, named key, where old is in obj (old is deleted); at the end
 * when old is NULL. cJSON names an item only when it adds it, so add,
 * detach, then swap. */
static void
put_at(cJSON *obj, cJSON *old, const char *key, cJSON *item)
{
	cJSON_AddItemToObject(obj, key, item);
	if (old == NULL)
		return;
	cJSON_DetachItemViaPointer(obj, item);
	cJSON_ReplaceItemViaPointer(obj, old, item);
}

cJSON *
confedit_public(const char *text, size_t len, char **cause)
{
	cJSON *root;

	if (cause != NULL)
		*cause = NULL;
	if ((root = parse_text(text, len, cause)) == NULL)
		return NULL;
	if (!cJSON_IsObject(root)) {
		set_cause(cause, "the configuration is not a JSON object");
		cJSON_Delete(root);
		return NULL;
	}
	for (size_t k = 0; k < NSECRETS; k++) {
		const struct secret *s = &secrets[k];
		struct holder h = { 0 };

		while (holder_next(root, s, &h)) {
			cJSON *v = cJSON_GetObjectItemCaseSensitive(h.obj, s->key);

			/* A "_set" key in the file itself is not the page's
			 * to see: only the one made here. */
			delete_all(h.obj, s->set_key);
			if (cJSON_IsString(v))
				explicit_bzero(v->valuestring,
				    strlen(v->valuestring));
			put_at(h.obj, v, s->set_key, cJSON_CreateBool(v != NULL));
			delete_all(h.obj, s->key);
		}
	}
	return root;
}

/* A JSON value for "got": scalars as JSON text, containers by kind. */
static char *
got_text(const cJSON *v)
{
	char *p, *s;

	if (v == NULL)
		return xstrdup("nothing");
	if (cJSON_IsArray(v))
		return xstrdup("an array");
	if (cJSON_IsObject(v))
		return xstrdup("an object");
	if ((p = cJSON_PrintUnformatted(v)) == NULL)
		abort();
	s = xstrdup(p);
	cJSON_free(p);
	return s;
}

static void
add_error(cJSON *errors, const char *path, const char *expected,
    const char *got)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "path", path);
	cJSON_AddStringToObject(e, "expected", expected);
	cJSON_AddStringToObject(e, "got", got);
	cJSON_AddItemToArray(errors, e);
}

/* The current file's object for the holder obj of secret s: its section,
 * or the array item with the same "id". NULL when there is none. */
static cJSON *
current_holder(cJSON *cur, const struct secret *s, const cJSON *obj)
{
	cJSON *at = cJSON_GetObjectItemCaseSensitive(cur, s->section);
	const cJSON *id;

	if (!s->list)
		return cJSON_IsObject(at) ? at : NULL;
	id = cJSON_GetObjectItemCaseSensitive(obj, "id");
	if (!cJSON_IsString(id) || !cJSON_IsArray(at))
		return NULL;
	for (cJSON *it = at->child; it != NULL; it = it->next) {
		const cJSON *cid = cJSON_GetObjectItemCaseSensitive(it, "id");

		if (cJSON_IsObject(it) && cJSON_IsString(cid) &&
		    strcmp(cid->valuestring, id->valuestring) == 0)
			return it;
	}
	return NULL;
}

/* Turn the "_set" keys of root (the page's document, a copy) back into
 * the secrets of cur (the current file; may be NULL); errors for what
 * cannot be. */
static void
merge_secrets(cJSON *root, cJSON *cur, cJSON *errors)
{
	for (size_t k = 0; k < NSECRETS; k++) {
		const struct secret *s = &secrets[k];
		struct holder h = { 0 };

		while (holder_next(root, s, &h)) {
			cJSON *set = cJSON_GetObjectItemCaseSensitive(h.obj,
			    s->set_key);
			cJSON *given = cJSON_GetObjectItemCaseSensitive(h.obj,
			    s->key);
			cJSON *from, *old;
			char path[128], want[128], *got;

			if (h.index >= 0)
				snprintf(path, sizeof path, "%s[%d].%s", s->section,
				    h.index, s->set_key);
			else
				snprintf(path, sizeof path, "%s.%s", s->section,
				    s->set_key);
			if (set != NULL && !cJSON_IsBool(set)) {
				got = got_text(set);
				add_error(errors, path, "true or false", got);
				free(got);
			} else if (given == NULL && cJSON_IsTrue(set)) {
				from = current_holder(cur, s, h.obj);
				old = cJSON_GetObjectItemCaseSensitive(from, s->key);
				if (cJSON_IsString(old)) {
					put_at(h.obj, set, s->key,
					    cJSON_CreateString(old->valuestring));
				} else {
					snprintf(want, sizeof want, "a %s (%s has "
					    "none yet)", s->key, s->list ? "this "
					    "charger" : s->section);
					add_error(errors, path, want, "true");
				}
			}
			delete_all(h.obj, s->set_key);
		}
	}
}

/* Make every number of the tree print as text that reads back as the
 * same double. cJSON prints an integer that fits an int as one (kept),
 * anything else with 15 digits unless that reads back "equal" — but its
 * test of equal allows a relative error of DBL_EPSILON, so 0.1 + 0.2
 * would be written 0.3. Those become raw text with the fewest digits
 * (15 to 17) that strtod turns back into the very same double. */
static void
exact_numbers(cJSON *parent)
{
	cJSON *it = parent->child, *next, *raw;
	char buf[32];
	double d;

	for (; it != NULL; it = next) {
		next = it->next;
		if (cJSON_IsArray(it) || cJSON_IsObject(it)) {
			exact_numbers(it);
			continue;
		}
		if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
			continue;
		d = it->valuedouble;
		if (d == floor(d) && d >= INT_MIN && d <= INT_MAX) {
			cJSON_SetNumberValue(it, d);	/* valueint in step */
			continue;
		}
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(buf, sizeof buf, "%.*g", prec, d);
			if (strtod(buf, NULL) == d)
				break;
		}
		if ((raw = cJSON_CreateRaw(buf)) == NULL)
			abort();
		if (it->string != NULL)
			put_at(parent, it, it->string, raw);
		else
			cJSON_ReplaceItemViaPointer(parent, it, raw);
	}
}

char *
confedit_apply(const char *current, size_t len, const cJSON *doc,
    cJSON **errors, struct config **cfg_out)
{
	cJSON *copy = NULL, *cur = NULL, *errs = cJSON_CreateArray(), *more;
	struct config *cfg = NULL;
	char *text = NULL, *printed, *lines = NULL;

	if (cfg_out != NULL)
		*cfg_out = NULL;
	*errors = NULL;
	if (!cJSON_IsObject(doc)) {
		char *got = got_text(doc);

		add_error(errs, "", "a JSON object", got);
		free(got);
		goto out;
	}
	if ((copy = cJSON_Duplicate(doc, true)) == NULL)
		abort();
	/* A current file that cannot be read keeps no secret: a "_set"
	 * says so at its path. */
	cur = parse_text(current != NULL ? current : "", current != NULL ?
	    len : 0, NULL);
	merge_secrets(copy, cur, errs);
	exact_numbers(copy);
	if ((printed = cJSON_Print(copy)) == NULL)
		abort();
	text = xasprintf("%s\n", printed);
	explicit_bzero(printed, strlen(printed));
	cJSON_free(printed);
	cfg = config_parse(text, strlen(text), &lines, NULL);
	more = confedit_errors(lines);
	while (more->child != NULL)
		cJSON_AddItemToArray(errs,
		    cJSON_DetachItemViaPointer(more, more->child));
	cJSON_Delete(more);
	free(lines);
out:
	scrub(copy);
	cJSON_Delete(copy);
	scrub(cur);
	cJSON_Delete(cur);
	if (cJSON_GetArraySize(errs) > 0) {
		*errors = errs;
		config_free(cfg);
		wipe_free(text);
		return NULL;
	}
	cJSON_Delete(errs);
	if (cfg_out != NULL)
		*cfg_out = cfg;
	else
		config_free(cfg);
	return text;
}

/* What config.c says after "<path>: " when it is not "expected ..., got
 * ...", and how the page is told. */
static const struct {
	const char *message;	/* the whole message, or its start */
	bool prefix;
	const char *expected;	/* NULL: "a value (<message>)" */
	const char *got;
} forms[] = {
	{ "required key is missing", false, "a value (the key is required)",
	    "nothing" },
	{ "required when ", true, NULL, "nothing" },
	{ "unknown key", false, "one of the keys this object takes",
	    "an unknown key" },
	{ "key appears more than once", false, "the key once",
	    "the key more than once" },
};

/* One error line into errors. */
static void
map_line(cJSON *errors, const char *line, size_t n)
{
	static const char *const at_end[] = { ": unknown key",
		": key appears more than once" };
	char *s = xmalloc(n + 1), *msg, *got, *want;
	const char *path = "";

	memcpy(s, line, n);
	/* An unknown key's name may hold ": " itself: those messages end the
	 * line, so they are found from the end. Every other path is made of
	 * the file's known keys and indexes, which never do. */
	msg = NULL;
	for (size_t i = 0; i < sizeof at_end / sizeof *at_end; i++) {
		size_t k = strlen(at_end[i]);

		if (n > k && strcmp(s + n - k, at_end[i]) == 0) {
			msg = s + n - k;
			break;
		}
	}
	if (msg == NULL)
		msg = strstr(s, ": ");
	if (msg != NULL) {
		*msg = '\0';
		msg += 2;
		path = strcmp(s, "(top level)") == 0 ? "" : s;
	} else {
		msg = s;
	}
	for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
		if (forms[i].prefix ? strncmp(msg, forms[i].message,
		    strlen(forms[i].message)) != 0 :
		    strcmp(msg, forms[i].message) != 0)
			continue;
		if (forms[i].expected != NULL) {
			add_error(errors, path, forms[i].expected, forms[i].got);
		} else {
			want = xasprintf("a value (%s)", msg);
			add_error(errors, path, want, forms[i].got);
			free(want);
		}
		free(s);
		return;
	}
	if (strncmp(msg, "expected ", 9) == 0) {
		msg += 9;
		/* The first ", got ": what is expected is the code's words,
		 * what was got may be anything the file holds. */
		if ((got = strstr(msg, ", got ")) != NULL) {
			*got = '\0';
			got += 6;
		}
		add_error(errors, path, msg, got != NULL ? got : "");
	} else {
		add_error(errors, path, msg, "");
	}
	free(s);
}

cJSON *
confedit_errors(const char *lines)
{
	cJSON *errors = cJSON_CreateArray();
	const char *p = lines;

	if (errors == NULL)
		abort();
	while (p != NULL && *p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

		if (n > 0)
			map_line(errors, p, n);
		p = nl != NULL ? nl + 1 : NULL;
	}
	return errors;
}

static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* A copy of from at to (which does not exist), fsync'ed: the fallback
 * where the file system has no hard links. */
static int
copy_file(const char *from, const char *to, mode_t mode, char **cause)
{
	char buf[8192];
	int in, out = -1, rc = -1;
	ssize_t r;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0) {
		set_cause(cause, "cannot read %s: %s", from, strerror(errno));
		return -1;
	}
	if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0) {
		set_cause(cause, "cannot create %s: %s", to, strerror(errno));
		goto out;
	}
	for (;;) {
		r = read(in, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			set_cause(cause, "cannot read %s: %s", from,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		if (write_all(out, buf, (size_t)r) != 0) {
			set_cause(cause, "cannot write %s: %s", to,
			    strerror(errno));
			goto out;
		}
	}
	if (fsync(out) != 0) {
		set_cause(cause, "cannot sync %s: %s", to, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	explicit_bzero(buf, sizeof buf);
	close(in);
	if (out >= 0 && close(out) != 0 && rc == 0) {
		set_cause(cause, "cannot write %s: %s", to, strerror(errno));
		rc = -1;
	}
	if (rc != 0 && out >= 0)
		unlink(to);
	return rc;
}

/* Keep target as prev: a second name for the same file, so target is
 * never missing; a copy where that is not possible. */
static int
keep_prev(const char *target, const char *prev, mode_t mode, char **cause)
{
	if (unlink(prev) != 0 && errno != ENOENT) {
		set_cause(cause, "cannot remove the old %s: %s", prev,
		    strerror(errno));
		return -1;
	}
	if (link(target, prev) == 0)
		return 0;
	return copy_file(target, prev, mode, cause);
}

int
confedit_write(const char *path, const char *text, size_t len, char **cause)
{
	char *target = NULL, *tmp = NULL, *prev = NULL, *dirbuf = NULL;
	struct stat st;
	bool exists = false, made_tmp = false;
	mode_t mode = 0640;
	int fd = -1, rc = CONFEDIT_ERR_IO;

	if (cause != NULL)
		*cause = NULL;
	/* Replace what a link points at, not the link: an installer who
	 * linked /etc/sitegate/sitegate.json elsewhere keeps the link. */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		if ((target = realpath(path, NULL)) == NULL) {
			set_cause(cause, "cannot follow the link %s: %s", path,
			    strerror(errno));
			goto out;
		}
	} else {
		target = xstrdup(path);
	}
	if (stat(target, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			set_cause(cause, "cannot write %s: not a regular file",
			    target);
			goto out;
		}
		exists = true;
		mode = st.st_mode & 07777;
	} else if (errno != ENOENT) {
		set_cause(cause, "cannot write %s: %s", target, strerror(errno));
		goto out;
	}
	tmp = xasprintf("%s.tmp", target);
	prev = xasprintf("%s.prev", target);
	/* A stale tmp (a crash before its rename) goes; O_EXCL then makes
	 * sure we write a file of our own, not through a planted link. */
	if (unlink(tmp) != 0 && errno != ENOENT) {
		set_cause(cause, "cannot remove the stale %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0) {
		set_cause(cause, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	made_tmp = true;
	/* The owner where allowed (root writing a file the service owns);
	 * an unprivileged writer cannot and keeps its own. Before fchmod:
	 * a chown clears set-id bits. */
	if (exists && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    fchown(fd, st.st_uid, st.st_gid) != 0) {
		/* best effort, see above */
	}
	/* open() applied the umask; the file's mode is what it was. */
	if (fchmod(fd, mode) != 0) {
		set_cause(cause, "cannot set the mode of %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	if (write_all(fd, text, len) != 0 || fsync(fd) != 0) {
		set_cause(cause, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		set_cause(cause, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (exists && keep_prev(target, prev, mode, cause) != 0)
		goto out;
	if (rename(tmp, target) != 0) {
		set_cause(cause, "cannot replace %s: %s", target, strerror(errno));
		goto out;
	}
	made_tmp = false;
	/* From here path holds the new file; only its durability is left. */
	dirbuf = xstrdup(target);
	fd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL)) {
		set_cause(cause, "%s was replaced, but its folder could not be "
		    "synced: %s", target, strerror(errno));
		rc = CONFEDIT_ERR_UNSYNCED;
		goto out;
	}
	rc = CONFEDIT_OK;
out:
	if (fd >= 0)
		close(fd);
	if (made_tmp)
		unlink(tmp);
	free(target);
	free(tmp);
	free(prev);
	free(dirbuf);
	return rc;
}

/* n characters of [A-Za-z0-9] from the RNG into out. A byte below 248
 * (4 × 62) picks alphabet[byte % 62] with equal chance; the rest are
 * drawn again. */
static int
random_password(char *out, size_t n)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char r[64];
	size_t got = 0;

	_Static_assert(sizeof alphabet - 1 == 62, "the alphabet has 62");
	while (got < n) {
		if (RAND_bytes(r, sizeof r) != 1)
			return -1;
		for (size_t i = 0; i < sizeof r && got < n; i++)
			if (r[i] < 248)
				out[got++] = alphabet[r[i] % 62];
	}
	out[n] = '\0';
	explicit_bzero(r, sizeof r);
	return 0;
}

int
confedit_add_charger(cJSON *doc, const char *id, const char *circuit,
    double max_current_a, int phases, const char *phase_rotation,
    const char *password, char gen_password[CONFEDIT_PASSWORD_LEN + 1],
    char **cause)
{
	cJSON *chargers = cJSON_GetObjectItemCaseSensitive(doc, "chargers");
	cJSON *ch;

	if (cause != NULL)
		*cause = NULL;
	if (gen_password != NULL)
		gen_password[0] = '\0';
	if (!cJSON_IsObject(doc) || id == NULL) {
		set_cause(cause, "no configuration or no charger id");
		return -1;
	}
	if (chargers != NULL && !cJSON_IsArray(chargers)) {
		set_cause(cause, "chargers is not an array");
		return -1;
	}
	for (cJSON *it = chargers != NULL ? chargers->child : NULL; it != NULL;
	    it = it->next) {
		const cJSON *cid = cJSON_GetObjectItemCaseSensitive(it, "id");

		if (cJSON_IsString(cid) && strcmp(cid->valuestring, id) == 0) {
			set_cause(cause, "charger %s is already configured", id);
			return -1;
		}
	}
	if (password == NULL) {
		if (gen_password == NULL) {
			set_cause(cause, "no password and nowhere to put one");
			return -1;
		}
		if (random_password(gen_password, CONFEDIT_PASSWORD_LEN) != 0) {
			set_cause(cause, "the random number generator failed");
			return -1;
		}
		password = gen_password;
	}
	if (chargers == NULL)
		chargers = cJSON_AddArrayToObject(doc, "chargers");
	ch = cJSON_CreateObject();
	cJSON_AddStringToObject(ch, "id", id);
	if (circuit != NULL)
		cJSON_AddStringToObject(ch, "circuit", circuit);
	cJSON_AddNumberToObject(ch, "max_current_a", max_current_a);
	cJSON_AddNumberToObject(ch, "phases", phases);
	if (phase_rotation != NULL)
		cJSON_AddStringToObject(ch, "phase_rotation", phase_rotation);
	cJSON_AddStringToObject(ch, "password", password);
	cJSON_AddItemToArray(chargers, ch);
	return 0;
}

cJSON *
confedit_restart_keys(void)
{
	cJSON *keys = cJSON_CreateArray();
	const char *k;

	for (size_t i = 0; (k = config_restart_key(i)) != NULL; i++)
		cJSON_AddItemToArray(keys, cJSON_CreateString(k));
	return keys;
}
