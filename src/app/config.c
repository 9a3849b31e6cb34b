/*
 * config — see config.h.
 *
 * Validation walks the cJSON tree once, section by section. Each reader
 * (read_string, read_number, ...) takes the object, the key and the rules,
 * has the validation engine (util/jcheck) check the value against them,
 * records an error naming the JSON path when it breaks one (report() words
 * the engine's result), and leaves the default in place, so one pass
 * reports every problem. Unknown and duplicate keys are found by the
 * engine too, against a per-object list (check_keys()). What the engine
 * does not state (an endpoint, an id's characters, phases and their
 * rotation, listed versions, a URL or topic prefix) is checked here.
 * Cross-references (circuit tree, charger circuits, unique ids) are checked
 * after all shapes, and only when the shapes were valid enough to make sense
 * of them.
 *
 * Passwords are hashed as soon as they are read and the plain text in the
 * cJSON tree and in the file buffer is wiped with explicit_bzero().
 */
#include "app/config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/isotime.h"
#include "util/jcheck.h"
#include "util/num.h"
#include "util/xalloc.h"

#define PATH_LEN 128

struct ctx {
	char *errs;		/* one error per line */
	size_t len, cap;
	int n;
};

static const char *const rotation_names[] = {
	"L1L2L3", "L2L3L1", "L3L1L2", "L1L3L2", "L2L1L3", "L3L2L1",
};

static const char *const token_status_names[] = {
	"Accepted", "Blocked", "Expired", "Invalid",
};

static const char *const auth_mode_names[] = {
	"local_list", "accept_all", "upstream",
};



static void
err(struct ctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
err(struct ctx *c, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	n = snprintf(NULL, 0, "%s: %s\n", *path ? path : "(top level)", msg);
	if (c->len + (size_t)n + 1 > c->cap) {
		c->cap = (c->len + (size_t)n + 1) * 2;
		c->errs = realloc(c->errs, c->cap);
		if (c->errs == NULL)
			abort();
	}
	snprintf(c->errs + c->len, c->cap - c->len, "%s: %s\n",
	    *path ? path : "(top level)", msg);
	c->len += (size_t)n;
	c->n++;
}

/* Describe a JSON value for "got ..." in a message. */
static const char *
describe(const cJSON *v, char *buf, size_t len)
{
	if (v == NULL)
		snprintf(buf, len, "nothing");
	else if (cJSON_IsString(v)) {
		size_t sl = strlen(v->valuestring);
		/* Quote the string; cut long ones and hide control bytes. */
		size_t o = 0;
		buf[o++] = '"';
		for (size_t i = 0; i < sl && o + 5 < len; i++) {
			unsigned char ch = (unsigned char)v->valuestring[i];
			buf[o++] = ch < ' ' || ch == 0x7f ? '?' : (char)ch;
		}
		if (o + 5 >= len && sl > 0)
			o = len - 5, memcpy(buf + o, "...", 3), o += 3;
		buf[o++] = '"';
		buf[o] = '\0';
	} else if (cJSON_IsNumber(v))
		snprintf(buf, len, "%.15g", v->valuedouble);
	else if (cJSON_IsBool(v))
		snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
	else if (cJSON_IsNull(v))
		snprintf(buf, len, "null");
	else if (cJSON_IsArray(v))
		snprintf(buf, len, "an array");
	else if (cJSON_IsObject(v))
		snprintf(buf, len, "an object");
	else
		snprintf(buf, len, "an invalid value");
	return buf;
}

#define GOT(v) describe((v), got, sizeof got)

/* A path too long for the buffer (an absurd unknown key) ends in "...". */
static const char *
mark_cut(char *buf, int n)
{
	if (n >= PATH_LEN)
		memcpy(buf + PATH_LEN - 4, "...", 4);
	return buf;
}

static const char *
subpath(char *buf, const char *path, const char *key)
{
	return mark_cut(buf, snprintf(buf, PATH_LEN, "%s%s%s", path,
	    *path ? "." : "", key));
}

static const char *
indexpath(char *buf, const char *path, size_t i)
{
	return mark_cut(buf, snprintf(buf, PATH_LEN, "%s[%zu]", path, i));
}

/* The configuration's words for what the validation engine found at path:
 * "required key is missing", "unknown key", "key appears more than once",
 * or "expected <what the rule wants>, got <the value>". */
static void
report(struct ctx *c, const char *path, const struct jc_result *r)
{
	char want[256], got[64];

	switch (r->rule) {
	case JC_MISSING:
		err(c, path, "required key is missing");
		break;
	case JC_UNKNOWN:
		err(c, path, "unknown key");
		break;
	case JC_DUPLICATE:
		err(c, path, "key appears more than once");
		break;
	default:
		err(c, path, "expected %s, got %s",
		    jc_expected(r, want, sizeof want), GOT(r->got));
		break;
	}
}

/* Check v (NULL when absent) against the rule f; report a violation at
 * path. Returns true when v passed (or is absent and not required). */
static bool
check(struct ctx *c, const struct jc_field *f, const cJSON *v,
    const char *path)
{
	struct jc_result r;

	if (jc_check(f, v, NULL, &r) == JC_OK)
		return true;
	report(c, path, &r);
	return false;
}

static const struct jc_field an_object = { .type = JC_OBJECT };

#define KEYS_MAX 16	/* the most keys a section of the file has */

struct keys_at {
	struct ctx *c;
	const char *path;
};

static int
key_problem(void *arg, const struct jc_result *r)
{
	const struct keys_at *at = arg;
	char p[PATH_LEN];

	report(at->c, subpath(p, at->path, r->got->string), r);
	return 0;			/* go on: every key is reported */
}

/* Report keys of obj that are not in allowed (NULL-terminated), and keys
 * that appear twice: the engine's member check over a table of the names,
 * each taking any value (each key's reader checks its value). */
static void
check_keys(struct ctx *c, const cJSON *obj, const char *path,
    const char *const *allowed)
{
	struct jc_field rows[KEYS_MAX + 1] = { { .name = NULL } };
	struct keys_at at = { c, path };
	const struct jc_opts opts = { .flags = JC_UNIQUE_KEYS,
		.each = key_problem, .arg = &at };

	for (size_t i = 0; allowed[i] != NULL; i++) {
		if (i == KEYS_MAX)
			abort();	/* a section outgrew KEYS_MAX */
		rows[i].name = allowed[i];
	}
	jc_check_object(rows, obj, &opts, NULL);
}

/* The value at key when it passes f (whose name is key), or NULL. */
static const cJSON *
read_checked(struct ctx *c, const cJSON *obj, const char *path,
    const struct jc_field *f)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, f->name);
	char p[PATH_LEN];

	if (v == NULL && !(f->flags & JC_REQUIRED))
		return NULL;
	if (!check(c, f, v, subpath(p, path, f->name)))
		return NULL;
	return v;
}

/* The object at key, or NULL (with an error when it is there but is not an
 * object, or when it is required and absent). */
static const cJSON *
read_object(struct ctx *c, const cJSON *obj, const char *path, const char *key,
    bool required)
{
	const struct jc_field f = { .name = key, .type = JC_OBJECT,
		.flags = required ? JC_REQUIRED : 0 };

	return read_checked(c, obj, path, &f);
}

static const cJSON *
read_array(struct ctx *c, const cJSON *obj, const char *path, const char *key,
    bool required)
{
	const struct jc_field f = { .name = key, .type = JC_ANY,
		.flags = JC_LIST | (required ? JC_REQUIRED : 0) };

	return read_checked(c, obj, path, &f);
}

/* Read a string of minlen..maxlen bytes into *out (a copy). Absent and not
 * required: *out keeps its value. Returns true when a value was read. */
static bool
read_string(struct ctx *c, const cJSON *obj, const char *path, const char *key,
    bool required, size_t minlen, size_t maxlen, char **out)
{
	const struct jc_field f = { .name = key, .type = JC_STRING,
		.flags = JC_BYTES | (required ? JC_REQUIRED : 0),
		.min_len = (uint32_t)minlen, .max_len = (uint32_t)maxlen };
	const cJSON *v = read_checked(c, obj, path, &f);

	if (v == NULL)
		return false;
	free(*out);
	*out = xstrdup(v->valuestring);
	return true;
}

/* Read one of names[0..n) into *out (its index). */
static bool
read_enum(struct ctx *c, const cJSON *obj, const char *path, const char *key,
    const char *const *names, size_t n, int *out)
{
	const struct jc_field f = { .name = key, .type = JC_STRING,
		.enums = names, .nenums = (uint16_t)n };
	const cJSON *v = read_checked(c, obj, path, &f);

	if (v == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v->valuestring, names[i]) == 0) {
			*out = (int)i;
			return true;
		}
	return false;		/* not reached: the engine found it */
}

/* The rule of a number from min to max (an integer when integer). */
static struct jc_field
number_rule(const char *key, bool integer, double min, double max,
    bool required)
{
	const struct jc_field f = { .name = key,
		.type = integer ? JC_INTEGER : JC_NUMBER,
		.flags = JC_MIN | JC_MAX | (required ? JC_REQUIRED : 0),
		.min = min, .max = max };

	return f;
}

static bool
check_number(struct ctx *c, const cJSON *v, const char *p, double min,
    double max, bool integer, double *out)
{
	const struct jc_field f = number_rule(NULL, integer, min, max, true);

	if (!check(c, &f, v, p))
		return false;
	*out = v->valuedouble;
	return true;
}

/* A number from min to max (an integer when integer) at key into *out. */
static bool
read_num(struct ctx *c, const cJSON *obj, const char *path, const char *key,
    bool required, bool integer, double min, double max, double *out)
{
	const struct jc_field f = number_rule(key, integer, min, max, required);
	const cJSON *v = read_checked(c, obj, path, &f);

	if (v == NULL)
		return false;
	*out = v->valuedouble;
	return true;
}

static bool
read_number(struct ctx *c, const cJSON *obj, const char *path, const char *key,
    bool required, double min, double max, double *out)
{
	return read_num(c, obj, path, key, required, false, min, max, out);
}

static bool
read_int(struct ctx *c, const cJSON *obj, const char *path, const char *key,
    int min, int max, int *out)
{
	double d;

	if (!read_num(c, obj, path, key, false, true, min, max, &d))
		return false;
	*out = (int)d;
	return true;
}

static bool
read_bool(struct ctx *c, const cJSON *obj, const char *path, const char *key,
    bool *out)
{
	const struct jc_field f = { .name = key, .type = JC_BOOL };
	const cJSON *v = read_checked(c, obj, path, &f);

	if (v == NULL)
		return false;
	*out = cJSON_IsTrue(v);
	return true;
}

/* An id: 1..CONFIG_ID_MAX printable ASCII characters other than ':'
 * (OCPP identities travel in URLs and Basic auth user names). */
static bool
read_id(struct ctx *c, const cJSON *obj, const char *path, const char *key,
    char **out)
{
	char p[PATH_LEN];

	if (!read_string(c, obj, path, key, true, 1, CONFIG_ID_MAX, out))
		return false;
	for (const char *s = *out; *s; s++)
		if (*s <= ' ' || *s >= 0x7f || *s == ':') {
			err(c, subpath(p, path, key),
			    "expected printable ASCII without spaces or ':', got "
			    "a character 0x%02x", (unsigned char)*s);
			free(*out);
			*out = NULL;
			return false;
		}
	return true;
}

/* "host:port" or "[v6addr]:port"; port 0 asks the system for a free one. */
static bool
read_endpoint(struct ctx *c, const cJSON *obj, const char *path,
    const char *key, struct config_endpoint *ep)
{
	char p[PATH_LEN], got[64];
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	const char *s, *colon, *host;
	size_t hostlen;
	int64_t port;

	if (v == NULL) {
		err(c, subpath(p, path, key), "required key is missing");
		return false;
	}
	if (!cJSON_IsString(v))
		goto bad;
	s = v->valuestring;
	colon = strrchr(s, ':');
	if (colon == NULL || colon == s)
		goto bad;
	host = s;
	hostlen = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hostlen < 3 || s[hostlen - 1] != ']')
			goto bad;
		host++;
		hostlen -= 2;
	} else if (memchr(s, ':', hostlen) != NULL) {
		goto bad;	/* a bare IPv6 address needs brackets */
	}
	if (num_parse_i64(colon + 1, 0, 65535, &port) != 0)
		goto bad;
	free(ep->host);
	ep->host = xmalloc(hostlen + 1);
	memcpy(ep->host, host, hostlen);
	ep->port = (uint16_t)port;
	return true;
bad:
	err(c, subpath(p, path, key),
	    "expected \"host:port\" (\"[addr]:port\" for IPv6) with a port from "
	    "0 to 65535, got %s", GOT(v));
	return false;
}

/* Wipe a secret held in the parse tree. */
static void
wipe(cJSON *obj, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (cJSON_IsString(v))
		explicit_bzero(v->valuestring, strlen(v->valuestring));
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* A charger password (OCPP BasicAuthPassword / AuthorizationKey): 16 to 40
 * characters. One of exactly 40 hex digits is the 1.6 AuthorizationKey
 * form, whose wire password is the 20 bytes it encodes: both are hashed. */
static void
read_password(struct ctx *c, cJSON *obj, const char *path,
    struct config_charger *ch)
{
	static const struct jc_field f = { .name = "password",
		.type = JC_STRING, .flags = JC_BYTES, .min_len = 16,
		.max_len = 40 };
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "password");
	char p[PATH_LEN], got[64], want[64];
	unsigned char raw[20];
	struct jc_result r;
	size_t len;
	bool hex = true;

	if (v == NULL)
		return;
	if (jc_check(&f, v, NULL, &r) != JC_OK) {
		/* Never echo what might be most of a password. */
		err(c, subpath(p, path, "password"), "expected %s, got %s",
		    jc_expected(&r, want, sizeof want), cJSON_IsString(v) ?
		    "a string of another length" : GOT(v));
		wipe(obj, "password");
		return;
	}
	len = strlen(v->valuestring);
	if (pwhash_set(&ch->password, v->valuestring, len) != 0)
		err(c, subpath(p, path, "password"), "could not hash it");
	for (size_t i = 0; i < len; i++)
		if (hexval(v->valuestring[i]) < 0)
			hex = false;
	if (hex && len == 40) {
		for (size_t i = 0; i < 20; i++)
			raw[i] = (unsigned char)(hexval(v->valuestring[2 * i]) << 4 |
			    hexval(v->valuestring[2 * i + 1]));
		if (pwhash_set(&ch->password_raw, raw, sizeof raw) != 0)
			err(c, subpath(p, path, "password"), "could not hash it");
		explicit_bzero(raw, sizeof raw);
	}
	wipe(obj, "password");
}

/* A circuit's max_current_a: one number for all phases, or [L1, L2, L3]. */
static void
read_phase_limits(struct ctx *c, const cJSON *obj, const char *path,
    double out[3])
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "max_current_a");
	char p[PATH_LEN], ip[PATH_LEN], got[64];

	subpath(p, path, "max_current_a");
	if (v == NULL) {
		err(c, p, "required key is missing");
		return;
	}
	if (cJSON_IsNumber(v)) {
		if (check_number(c, v, p, 1, 10000, false, &out[0]))
			out[1] = out[2] = out[0];
		return;
	}
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 3) {
		err(c, p, "expected a number or an array of 3 numbers [L1, L2, L3], "
		    "got %s", cJSON_IsArray(v) ? "an array of another length" :
		    GOT(v));
		return;
	}
	for (int i = 0; i < 3; i++)
		check_number(c, cJSON_GetArrayItem(v, i), indexpath(ip, p, (size_t)i),
		    0, 10000, false, &out[i]);
}

static void
read_ocpp(struct ctx *c, const cJSON *root, struct config_ocpp *o)
{
	static const char *const keys[] = { "listen", "versions", "tls",
		"allow_unknown_chargers", "heartbeat_interval_s", "call_timeout_s",
		"ping_interval_s", "max_message_bytes", "max_connections",
		"handshake_timeout_s", "idle_timeout_s", "meter_interval_s",
		"max_evses", "max_connectors_per_evse", NULL };
	static const char *const tls_keys[] = { "cert", "key", "client_ca", NULL };
	const cJSON *obj = read_object(c, root, "", "ocpp", true);
	const cJSON *vers, *tls;
	char p[PATH_LEN], got[64];

	o->versions[OCPP_V16] = o->versions[OCPP_V201] = true;
	o->heartbeat_interval_s = 300;
	o->call_timeout_s = 30;
	o->ping_interval_s = 60;
	o->max_message_bytes = 65536;
	o->max_connections = 2000;
	o->handshake_timeout_s = 10;
	o->idle_timeout_s = 900;
	o->meter_interval_s = 10;
	o->max_evses = 2;
	o->max_connectors_per_evse = 2;
	if (obj == NULL)
		return;
	check_keys(c, obj, "ocpp", keys);
	read_endpoint(c, obj, "ocpp", "listen", &o->listen);

	if ((vers = read_array(c, obj, "ocpp", "versions", false)) != NULL) {
		size_t i = 0;
		bool seen[OCPP_NVERSIONS] = { false };

		if (cJSON_GetArraySize(vers) == 0)
			err(c, "ocpp.versions", "expected at least one version");
		for (const cJSON *it = vers->child; it; it = it->next, i++) {
			enum ocpp_version ver;
			int k = cJSON_IsString(it) && ocpp_version_parse(
			    it->valuestring, &ver) == 0 ? (int)ver : -1;

			indexpath(p, "ocpp.versions", i);
			if (k < 0)
				err(c, p, "expected one of \"ocpp2.1\", \"ocpp2.0.1\", "
				    "\"ocpp1.6\", got %s", GOT(it));
			else if (seen[k])
				err(c, p, "version listed twice");
			else
				seen[k] = true;
		}
		memcpy(o->versions, seen, sizeof seen);
	}

	if ((tls = read_object(c, obj, "ocpp", "tls", false)) != NULL) {
		o->tls = xmalloc(sizeof *o->tls);
		check_keys(c, tls, "ocpp.tls", tls_keys);
		read_string(c, tls, "ocpp.tls", "cert", true, 1, 4096, &o->tls->cert);
		read_string(c, tls, "ocpp.tls", "key", true, 1, 4096, &o->tls->key);
		read_string(c, tls, "ocpp.tls", "client_ca", false, 1, 4096,
		    &o->tls->client_ca);
	}
	read_bool(c, obj, "ocpp", "allow_unknown_chargers",
	    &o->allow_unknown_chargers);
	read_int(c, obj, "ocpp", "heartbeat_interval_s", 10, 86400,
	    &o->heartbeat_interval_s);
	read_int(c, obj, "ocpp", "call_timeout_s", 1, 300, &o->call_timeout_s);
	read_int(c, obj, "ocpp", "ping_interval_s", 0, 3600, &o->ping_interval_s);
	read_int(c, obj, "ocpp", "max_message_bytes", 4096, 16 * 1024 * 1024,
	    &o->max_message_bytes);
	read_int(c, obj, "ocpp", "max_connections", 1, 100000,
	    &o->max_connections);
	read_int(c, obj, "ocpp", "handshake_timeout_s", 1, 120,
	    &o->handshake_timeout_s);
	read_int(c, obj, "ocpp", "idle_timeout_s", 0, 86400, &o->idle_timeout_s);
	read_int(c, obj, "ocpp", "meter_interval_s", 0, 3600,
	    &o->meter_interval_s);
	read_int(c, obj, "ocpp", "max_evses", 1, CONFIG_EVSES_MAX, &o->max_evses);
	read_int(c, obj, "ocpp", "max_connectors_per_evse", 1,
	    CONFIG_CONNECTORS_MAX, &o->max_connectors_per_evse);
}

static int
rotation_from(const char *name, int phases, int grid_phase[3])
{
	if (phases == 1) {
		if (name[0] == 'L' && name[1] >= '1' && name[1] <= '3' && !name[2]) {
			grid_phase[0] = name[1] - '1';
			grid_phase[1] = grid_phase[2] = -1;
			return 0;
		}
		return -1;
	}
	for (size_t i = 0; i < sizeof rotation_names / sizeof *rotation_names; i++)
		if (strcmp(name, rotation_names[i]) == 0) {
			for (int k = 0; k < 3; k++)
				grid_phase[k] = name[2 * k + 1] - '1';
			return 0;
		}
	return -1;
}

static void
read_chargers(struct ctx *c, cJSON *root, struct config *cfg)
{
	static const char *const keys[] = { "id", "password", "max_current_a",
		"phases", "phase_rotation", "circuit", "priority", "first_evse",
		"evses", "connectors_per_evse", "smart_charging", NULL };
	static const char *const sc_keys[] = { "purpose", "unit",
		"max_stack_level", "number_phases", NULL };
	static const char *const purposes[] = { "auto", "TxProfile",
		"TxDefaultProfile" };
	static const char *const units[] = { "auto", "A", "W" };
	const cJSON *arr = read_array(c, root, "", "chargers", false);
	char path[PATH_LEN], p[PATH_LEN], got[64];
	size_t i = 0;

	if (arr == NULL)
		return;
	cfg->nchargers = (size_t)cJSON_GetArraySize(arr);
	cfg->chargers = xmalloc(cfg->nchargers * sizeof *cfg->chargers);
	for (cJSON *it = arr->child; it; it = it->next, i++) {
		struct config_charger *ch = &cfg->chargers[i];
		const cJSON *rot;
		double phases = 3;

		ch->phases = 3;
		ch->circuit_index = -1;
		ch->max_stack_level = -1;
		ch->number_phases = true;
		indexpath(path, "chargers", i);
		if (!check(c, &an_object, it, path))
			continue;
		check_keys(c, it, path, keys);
		read_id(c, it, path, "id", &ch->id);
		read_password(c, it, path, ch);
		read_number(c, it, path, "max_current_a", true, 6, 80,
		    &ch->max_current_a);
		if (cJSON_GetObjectItemCaseSensitive(it, "phases") != NULL) {
			const cJSON *pv = cJSON_GetObjectItemCaseSensitive(it, "phases");
			if (!cJSON_IsNumber(pv) || (pv->valuedouble != 1 &&
			    pv->valuedouble != 3))
				err(c, subpath(p, path, "phases"),
				    "expected 1 or 3, got %s", GOT(pv));
			else
				phases = pv->valuedouble;
		}
		ch->phases = (int)phases;
		rotation_from(ch->phases == 1 ? "L1" : "L1L2L3", ch->phases,
		    ch->grid_phase);
		rot = cJSON_GetObjectItemCaseSensitive(it, "phase_rotation");
		if (rot != NULL && (!cJSON_IsString(rot) ||
		    rotation_from(rot->valuestring, ch->phases, ch->grid_phase) != 0)) {
			if (ch->phases == 1)
				err(c, subpath(p, path, "phase_rotation"),
				    "expected one of \"L1\", \"L2\", \"L3\" for a "
				    "1-phase charger, got %s", GOT(rot));
			else
				err(c, subpath(p, path, "phase_rotation"),
				    "expected one of \"L1L2L3\", \"L2L3L1\", \"L3L1L2\", "
				    "\"L1L3L2\", \"L2L1L3\", \"L3L2L1\" for a 3-phase "
				    "charger, got %s", GOT(rot));
		}
		/* Without "circuit" a charger hangs off the grid connection. */
		if (cJSON_GetObjectItemCaseSensitive(it, "circuit") != NULL)
			read_id(c, it, path, "circuit", &ch->circuit);
		read_int(c, it, path, "priority", 0, 100, &ch->priority);
		read_int(c, it, path, "first_evse", 1, CONFIG_EVSE_NUMBER_MAX,
		    &ch->first_evse);
		/* "ocpp" was read first: its bounds are the defaults. */
		ch->evses = cfg->ocpp.max_evses;
		ch->connectors_per_evse = cfg->ocpp.max_connectors_per_evse;
		read_int(c, it, path, "evses", 1, CONFIG_EVSES_MAX, &ch->evses);
		read_int(c, it, path, "connectors_per_evse", 1,
		    CONFIG_CONNECTORS_MAX, &ch->connectors_per_evse);
		{
			const cJSON *sc = read_object(c, it, path, "smart_charging",
			    false);
			char sp[PATH_LEN];
			int k;

			if (sc != NULL) {
				subpath(sp, path, "smart_charging");
				check_keys(c, sc, sp, sc_keys);
				if (read_enum(c, sc, sp, "purpose", purposes, 3, &k))
					ch->purpose = (enum dispatch_purpose)k;
				if (read_enum(c, sc, sp, "unit", units, 3, &k))
					ch->unit = (enum dispatch_unit)k;
				read_int(c, sc, sp, "max_stack_level", 0, 1000,
				    &ch->max_stack_level);
				read_bool(c, sc, sp, "number_phases",
				    &ch->number_phases);
			}
		}
	}
}

static void
read_control(struct ctx *c, const cJSON *root, struct config_control *k)
{
	static const char *const keys[] = { "coalesce_ms", "hysteresis_a",
		"profile_validity_s", "retry_min_s", "retry_max_s", NULL };
	const cJSON *obj = read_object(c, root, "", "control", false);

	k->coalesce_ms = 5;
	k->hysteresis_a = 1;
	k->profile_validity_s = 300;
	k->retry_min_s = 10;
	k->retry_max_s = 300;
	if (obj == NULL)
		return;
	check_keys(c, obj, "control", keys);
	read_int(c, obj, "control", "coalesce_ms", 0, 1000, &k->coalesce_ms);
	read_number(c, obj, "control", "hysteresis_a", false, 0, 10,
	    &k->hysteresis_a);
	read_int(c, obj, "control", "profile_validity_s", 60, 86400,
	    &k->profile_validity_s);
	read_int(c, obj, "control", "retry_min_s", 1, 3600, &k->retry_min_s);
	read_int(c, obj, "control", "retry_max_s", 1, 86400, &k->retry_max_s);
	if (k->retry_max_s < k->retry_min_s)
		err(c, "control.retry_max_s", "expected at least control."
		    "retry_min_s (%d), got %d", k->retry_min_s, k->retry_max_s);
}

static void
read_site(struct ctx *c, const cJSON *root, struct config_site *s)
{
	static const char *const keys[] = { "voltage_v", "min_current_a",
		"failsafe_current_a", "circuits", NULL };
	static const char *const ckeys[] = { "id", "parent", "max_current_a", NULL };
	const cJSON *obj = read_object(c, root, "", "site", true);
	const cJSON *arr;
	char path[PATH_LEN];
	size_t i = 0;

	s->voltage_v = 230;
	s->min_current_a = 6;
	s->failsafe_current_a = 16;
	s->root_index = -1;
	if (obj == NULL)
		return;
	check_keys(c, obj, "site", keys);
	read_number(c, obj, "site", "voltage_v", false, 100, 500, &s->voltage_v);
	read_number(c, obj, "site", "min_current_a", false, 6, 32,
	    &s->min_current_a);
	read_number(c, obj, "site", "failsafe_current_a", false, 0, 10000,
	    &s->failsafe_current_a);
	if ((arr = read_array(c, obj, "site", "circuits", true)) == NULL)
		return;
	if (cJSON_GetArraySize(arr) == 0) {
		err(c, "site.circuits", "expected at least one circuit (the grid "
		    "connection)");
		return;
	}
	s->ncircuits = (size_t)cJSON_GetArraySize(arr);
	s->circuits = xmalloc(s->ncircuits * sizeof *s->circuits);
	for (const cJSON *it = arr->child; it; it = it->next, i++) {
		struct config_circuit *cc = &s->circuits[i];

		cc->parent_index = -1;
		indexpath(path, "site.circuits", i);
		if (!check(c, &an_object, it, path))
			continue;
		check_keys(c, it, path, ckeys);
		read_id(c, it, path, "id", &cc->id);
		if (cJSON_GetObjectItemCaseSensitive(it, "parent") != NULL)
			read_id(c, it, path, "parent", &cc->parent);
		read_phase_limits(c, it, path, cc->max_current_a);
	}
}

static void
read_auth(struct ctx *c, const cJSON *root, struct auth_opts *a)
{
	static const char *const keys[] = { "mode", "local_list", NULL };
	static const char *const tkeys[] = { "id_token", "status", "expiry", NULL };
	const cJSON *obj = read_object(c, root, "", "authorization", false);
	const cJSON *arr;
	char path[PATH_LEN], p[PATH_LEN], got[64];
	size_t i = 0;
	int k;

	a->mode = AUTH_MODE_LOCAL_LIST;
	if (obj == NULL)
		return;
	check_keys(c, obj, "authorization", keys);
	if (read_enum(c, obj, "authorization", "mode", auth_mode_names, 3, &k))
		a->mode = (enum auth_mode)k;
	if ((arr = read_array(c, obj, "authorization", "local_list", false)) == NULL)
		return;
	a->nlocal = (size_t)cJSON_GetArraySize(arr);
	a->local_list = xmalloc(a->nlocal * sizeof *a->local_list);
	for (const cJSON *it = arr->child; it; it = it->next, i++) {
		struct auth_token *t = &a->local_list[i];
		const cJSON *ev;
		int64_t ms;

		indexpath(path, "authorization.local_list", i);
		if (!check(c, &an_object, it, path))
			continue;
		check_keys(c, it, path, tkeys);
		read_string(c, it, path, "id_token", true, 1, CONFIG_TOKEN_MAX,
		    &t->id_token);
		if (read_enum(c, it, path, "status", token_status_names, 4, &k))
			t->status = (enum auth_token_status)k;
		ev = cJSON_GetObjectItemCaseSensitive(it, "expiry");
		if (ev != NULL) {
			if (!cJSON_IsString(ev) || isotime_parse(ev->valuestring, &ms))
				err(c, subpath(p, path, "expiry"), "expected an RFC 3339 "
				    "date-time such as \"2027-01-31T23:59:59Z\", got %s",
				    GOT(ev));
			else
				t->expiry = (time_t)(ms / 1000);
		}
		for (size_t j = 0; j < i && t->id_token; j++)
			if (a->local_list[j].id_token &&
			    strcasecmp(a->local_list[j].id_token, t->id_token) == 0)
				err(c, subpath(p, path, "id_token"), "duplicate of "
				    "authorization.local_list[%zu] (id tokens compare "
				    "case-insensitively)", j);
	}
}

static bool
valid_topic_prefix(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && s[0] != '/' && s[n - 1] != '/' && !strpbrk(s, "+#") &&
	    !strstr(s, "//");
}

static void
read_mqtt(struct ctx *c, cJSON *root, struct config *cfg)
{
	static const char *const keys[] = { "host", "port", "prefix",
		"limit_timeout_s", "client_id", "username", "password",
		"keepalive_s", "tls", NULL };
	static const char *const tls_keys[] = { "ca_file", "cert", "key", NULL };
	cJSON *obj = (cJSON *)read_object(c, root, "", "mqtt", false);
	const cJSON *tls;
	struct config_mqtt *m;
	int port = 1883;

	if (obj == NULL)
		return;
	m = cfg->mqtt = xmalloc(sizeof *m);
	m->limit_timeout_s = 120;
	m->keepalive_s = 30;
	check_keys(c, obj, "mqtt", keys);
	read_string(c, obj, "mqtt", "host", true, 1, 253, &m->host);
	read_int(c, obj, "mqtt", "port", 1, 65535, &port);
	m->port = (uint16_t)port;
	if (read_string(c, obj, "mqtt", "prefix", false, 1, 200, &m->prefix) &&
	    !valid_topic_prefix(m->prefix))
		err(c, "mqtt.prefix", "expected a topic without '+', '#', empty "
		    "levels or a leading or trailing '/', got \"%s\"", m->prefix);
	read_int(c, obj, "mqtt", "limit_timeout_s", 10, 86400, &m->limit_timeout_s);
	read_string(c, obj, "mqtt", "client_id", false, 1, 23 * 10, &m->client_id);
	read_string(c, obj, "mqtt", "username", false, 1, 256, &m->username);
	read_string(c, obj, "mqtt", "password", false, 1, 256, &m->password);
	wipe(obj, "password");
	if (m->password != NULL && m->username == NULL)
		err(c, "mqtt.username", "required when mqtt.password is set");
	read_int(c, obj, "mqtt", "keepalive_s", 5, 3600, &m->keepalive_s);
	if ((tls = read_object(c, obj, "mqtt", "tls", false)) != NULL) {
		check_keys(c, tls, "mqtt.tls", tls_keys);
		read_string(c, tls, "mqtt.tls", "ca_file", true, 1, 4096, &m->ca_file);
		read_string(c, tls, "mqtt.tls", "cert", false, 1, 4096, &m->cert);
		read_string(c, tls, "mqtt.tls", "key", false, 1, 4096, &m->key);
		if ((m->cert == NULL) != (m->key == NULL))
			err(c, m->cert ? "mqtt.tls.key" : "mqtt.tls.cert",
			    "required when mqtt.tls.%s is set", m->cert ? "cert" :
			    "key");
	}
}

static void
read_upstream(struct ctx *c, cJSON *root, struct config *cfg)
{
	static const char *const keys[] = { "url", "id", "version", "password",
		"ca_file", "cert", "key", "meter_interval_s", "queue_max",
		"offline_unknown_tokens", "message_attempts", "retry_interval_s",
		"reconnect_max_s", "call_timeout_s", NULL };
	static const char *const offline_names[] = { "reject", "accept" };
	/* The versions an uplink can speak, indexed by enum ocpp_version. */
	const char *const upstream_versions[] = {
		ocpp_version_name(OCPP_V16), ocpp_version_name(OCPP_V201) };
	cJSON *obj = (cJSON *)read_object(c, root, "", "upstream", false);
	struct config_upstream *u;
	int k;

	if (obj == NULL)
		return;
	u = cfg->upstream = xmalloc(sizeof *u);
	u->version = OCPP_V201;
	u->meter_interval_s = 60;
	u->queue_max = 100000;
	u->message_attempts = 3;
	u->retry_interval_s = 30;
	u->reconnect_max_s = 60;
	u->call_timeout_s = 30;
	check_keys(c, obj, "upstream", keys);
	read_int(c, obj, "upstream", "meter_interval_s", 0, 3600,
	    &u->meter_interval_s);
	read_int(c, obj, "upstream", "queue_max", 100, 10000000, &u->queue_max);
	if (read_enum(c, obj, "upstream", "offline_unknown_tokens", offline_names,
	    2, &k))
		u->offline_accept_unknown = k == 1;
	read_int(c, obj, "upstream", "message_attempts", 1, 10,
	    &u->message_attempts);
	read_int(c, obj, "upstream", "retry_interval_s", 1, 3600,
	    &u->retry_interval_s);
	read_int(c, obj, "upstream", "reconnect_max_s", 1, 3600,
	    &u->reconnect_max_s);
	read_int(c, obj, "upstream", "call_timeout_s", 1, 300, &u->call_timeout_s);
	if (read_string(c, obj, "upstream", "url", true, 6, 2048, &u->url)) {
		bool tls = strncmp(u->url, "wss://", 6) == 0;
		const char *host = u->url + (tls ? 6 : 5);

		if ((!tls && strncmp(u->url, "ws://", 5) != 0) || *host == '\0' ||
		    *host == '/' || strpbrk(u->url, " \t\r\n?#"))
			err(c, "upstream.url", "expected a ws:// or wss:// URL with a "
			    "host and no query, got \"%s\"", u->url);
	}
	read_id(c, obj, "upstream", "id", &u->id);
	if (read_enum(c, obj, "upstream", "version", upstream_versions, 2, &k))
		u->version = (enum ocpp_version)k;
	read_string(c, obj, "upstream", "password", false, 16, 40, &u->password);
	wipe(obj, "password");
	read_string(c, obj, "upstream", "ca_file", false, 1, 4096, &u->ca_file);
	read_string(c, obj, "upstream", "cert", false, 1, 4096, &u->cert);
	read_string(c, obj, "upstream", "key", false, 1, 4096, &u->key);
	if ((u->cert == NULL) != (u->key == NULL))
		err(c, u->cert ? "upstream.key" : "upstream.cert",
		    "required when upstream.%s is set", u->cert ? "cert" : "key");
}

static void
read_web(struct ctx *c, const cJSON *root, struct config *cfg)
{
	static const char *const keys[] = { "listen", "root", "tls",
		"max_clients", NULL };
	static const char *const tls_keys[] = { "cert", "key", NULL };
	const cJSON *obj = read_object(c, root, "", "web", false), *tls;

	if (obj == NULL)
		return;
	cfg->web = xcalloc(1, sizeof *cfg->web);
	cfg->web->root = xstrdup("web");
	cfg->web->max_clients = 10;
	check_keys(c, obj, "web", keys);
	read_endpoint(c, obj, "web", "listen", &cfg->web->listen);
	read_string(c, obj, "web", "root", false, 1, 4096, &cfg->web->root);
	read_int(c, obj, "web", "max_clients", 1, 100, &cfg->web->max_clients);
	if ((tls = read_object(c, obj, "web", "tls", false)) != NULL) {
		check_keys(c, tls, "web.tls", tls_keys);
		read_string(c, tls, "web.tls", "cert", true, 1, 4096,
		    &cfg->web->tls_cert);
		read_string(c, tls, "web.tls", "key", true, 1, 4096,
		    &cfg->web->tls_key);
	}
}

static int
circuit_find(const struct config_site *s, const char *id)
{
	for (size_t i = 0; i < s->ncircuits; i++)
		if (s->circuits[i].id && strcmp(s->circuits[i].id, id) == 0)
			return (int)i;
	return -1;
}

/* The circuit tree: one root, parents exist, no cycle, unique ids; then
 * every charger names an existing circuit, and charger ids are unique. */
static void
check_references(struct ctx *c, struct config *cfg)
{
	struct config_site *s = &cfg->site;
	char p[PATH_LEN];

	for (size_t i = 0; i < s->ncircuits; i++) {
		struct config_circuit *cc = &s->circuits[i];

		if (cc->id == NULL)
			continue;
		for (size_t j = 0; j < i; j++)
			if (s->circuits[j].id && !strcmp(s->circuits[j].id, cc->id))
				err(c, indexpath(p, "site.circuits", i), "duplicate "
				    "circuit id \"%s\" (also site.circuits[%zu])",
				    cc->id, j);
		if (cc->parent == NULL) {
			if (s->root_index >= 0)
				err(c, indexpath(p, "site.circuits", i), "a second "
				    "circuit without a parent: only the grid connection "
				    "(site.circuits[%d]) may have none", s->root_index);
			else
				s->root_index = (int)i;
			continue;
		}
		cc->parent_index = circuit_find(s, cc->parent);
		if (cc->parent_index < 0) {
			char pp[PATH_LEN];
			err(c, subpath(pp, indexpath(p, "site.circuits", i), "parent"),
			    "no circuit has the id \"%s\"", cc->parent);
		}
	}
	if (s->ncircuits > 0 && s->root_index < 0 && c->n == 0)
		err(c, "site.circuits", "no circuit without a parent: exactly one "
		    "(the grid connection) must have none");
	/* A walk up from any circuit must reach the root in fewer steps than
	 * there are circuits; otherwise it is in a cycle. */
	for (size_t i = 0; i < s->ncircuits; i++) {
		int at = (int)i;
		size_t steps = 0;

		while (at >= 0 && steps <= s->ncircuits) {
			at = s->circuits[at].parent_index;
			steps++;
		}
		if (at >= 0 || (steps > s->ncircuits)) {
			err(c, indexpath(p, "site.circuits", i), "circuit \"%s\" is "
			    "part of a parent cycle", s->circuits[i].id);
			break;
		}
	}

	for (size_t i = 0; i < cfg->nchargers; i++) {
		struct config_charger *ch = &cfg->chargers[i];

		if (ch->id == NULL)
			continue;
		for (size_t j = 0; j < i; j++)
			if (cfg->chargers[j].id && !strcmp(cfg->chargers[j].id, ch->id))
				err(c, indexpath(p, "chargers", i), "duplicate charger "
				    "id \"%s\" (also chargers[%zu])", ch->id, j);
		for (size_t j = 0; j < i && ch->first_evse > 0; j++)
			if (cfg->chargers[j].first_evse == ch->first_evse) {
				char fp[PATH_LEN];
				err(c, subpath(fp, indexpath(p, "chargers", i),
				    "first_evse"), "EVSE number %d is already "
				    "chargers[%zu].first_evse", ch->first_evse, j);
			}
		if (ch->circuit == NULL) {
			ch->circuit_index = s->root_index;
			continue;
		}
		ch->circuit_index = circuit_find(s, ch->circuit);
		if (ch->circuit_index < 0) {
			char cp[PATH_LEN];
			err(c, subpath(cp, indexpath(p, "chargers", i), "circuit"),
			    "no circuit has the id \"%s\"", ch->circuit);
		}
		if (ch->max_current_a > 0 && ch->max_current_a < s->min_current_a)
			err(c, indexpath(p, "chargers", i), "max_current_a %.15g is "
			    "below site.min_current_a %.15g: it could never charge",
			    ch->max_current_a, s->min_current_a);
	}
}

static void
line_col(const char *text, const char *at, size_t *line, size_t *col)
{
	*line = *col = 1;
	for (const char *p = text; p < at; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* True when the document was cut short: it ends inside a string or with
 * objects or arrays still open, and the parse error lies inside them (so
 * "this is {" is plain garbage, not a truncated file). cJSON's error
 * position alone cannot tell: at the end of the input it points back at
 * the last member it was working on. */
static bool
cut_short(const char *text, size_t len, const char *at)
{
	bool in_string = false;
	long depth = 0, depth_at = 0;

	for (size_t i = 0; i < len; i++) {
		if (text + i == at)
			depth_at = depth + in_string;
		if (in_string) {
			if (text[i] == '\\')
				i++;
			else if (text[i] == '"')
				in_string = false;
		} else if (text[i] == '"') {
			in_string = true;
		} else if (text[i] == '{' || text[i] == '[') {
			depth++;
		} else if (text[i] == '}' || text[i] == ']') {
			depth--;
		}
	}
	return (in_string || depth > 0) && depth_at > 0;
}

/* Turn cJSON's error position into "line L, column C". */
static void
json_error(struct ctx *c, const char *text, size_t len, const char *at)
{
	size_t line, col;

	if (at == NULL || at < text || at > text + len) {
		err(c, "", "not valid JSON");
		return;
	}
	line_col(text, at, &line, &col);
	const char *rest = at;
	while (rest < text + len && strchr(" \t\r\n", *rest))
		rest++;
	if (rest == text + len || cut_short(text, len, at))
		err(c, "", "not valid JSON: the text ends early (line %zu, column "
		    "%zu); is the file truncated?", line, col);
	else
		err(c, "", "not valid JSON: unexpected text at line %zu, column %zu",
		    line, col);
}

/* Blank out // line comments and block comments outside JSON strings of
 * s[0..len), in place, keeping every newline so that line and column
 * numbers of later errors stay true. Returns NULL, or where a block
 * comment that is never closed starts (s is then partly blanked). */
static const char *
config_strip_comments(char *s, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		if (in_string) {
			if (s[i] == '\\' && i + 1 < len)
				i++;
			else if (s[i] == '"')
				in_string = false;
		} else if (s[i] == '"') {
			in_string = true;
		} else if (s[i] == '/' && i + 1 < len && s[i + 1] == '/') {
			for (; i < len && s[i] != '\n'; i++)
				s[i] = ' ';
		} else if (s[i] == '/' && i + 1 < len && s[i + 1] == '*') {
			size_t start = i;

			for (; i < len && !(s[i] == '*' && i + 1 < len &&
			    s[i + 1] == '/'); i++)
				if (s[i] != '\n')
					s[i] = ' ';
			if (i >= len)
				return s + start;
			s[i] = s[i + 1] = ' ';
			i++;
		}
	}
	return NULL;
}

/* text as JSON with comments: the tree (any JSON value), or NULL with the
 * reason in c. The copy the comments are blanked in is wiped (it holds the
 * passwords). */
static cJSON *
parse_json(struct ctx *c, const char *text, size_t len)
{
	const char *end = NULL, *open_comment;
	cJSON *root = NULL;
	char *buf;

	if (len > CONFIG_MAX_FILE_BYTES) {
		err(c, "", "the configuration is %zu bytes, more than the %d "
		    "allowed", len, CONFIG_MAX_FILE_BYTES);
		return NULL;
	}
	buf = xmalloc(len + 1);
	memcpy(buf, text, len);
	if ((open_comment = config_strip_comments(buf, len)) != NULL) {
		size_t line, col;

		line_col(buf, open_comment, &line, &col);
		err(c, "", "the comment that starts at line %zu, column %zu is "
		    "never closed with */", line, col);
		goto out;
	}
	root = cJSON_ParseWithLengthOpts(buf, len, &end, false);
	if (root == NULL) {
		json_error(c, buf, len, end ? end : cJSON_GetErrorPtr());
		goto out;
	}
	/* Only white space may follow the document. */
	while (end && end < buf + len && strchr(" \t\r\n", *end))
		end++;
	if (end && end < buf + len && *end != '\0') {
		json_error(c, buf, len, end);
		cJSON_Delete(root);
		root = NULL;
	}
out:
	explicit_bzero(buf, len);
	free(buf);
	return root;
}

cJSON *
config_parse_json(const char *text, size_t len, char **why)
{
	struct ctx c = { 0 };
	cJSON *root = parse_json(&c, text, len);

	if (root != NULL) {
		free(c.errs);
		*why = NULL;
		return root;
	}
	/* One reason, without its line break. */
	if (c.errs != NULL && c.len > 0 && c.errs[c.len - 1] == '\n')
		c.errs[c.len - 1] = '\0';
	*why = c.errs;
	return NULL;
}

struct config *
config_parse(const char *text, size_t len, char **errors, int *nerrors)
{
	static const char *const keys[] = { "site_id", "state_file", "log_level",
		"meter_retention_days", "ocpp", "chargers", "site", "authorization",
		"control", "mqtt", "upstream", "web", NULL };
	struct ctx c = { 0 };
	struct config *cfg = xmalloc(sizeof *cfg);
	cJSON *root = NULL;
	int k;

	cfg->log_level = LOG_LEVEL_INFO;
	cfg->meter_retention_days = 7;
	cfg->state_file = xstrdup("/var/lib/sitegate/state.db");

	if ((root = parse_json(&c, text, len)) == NULL)
		goto out;
	if (!cJSON_IsObject(root)) {
		char got[64];
		err(&c, "", "expected a JSON object, got %s", GOT(root));
		goto out;
	}

	check_keys(&c, root, "", keys);
	read_id(&c, root, "", "site_id", &cfg->site_id);
	if (cfg->site_id && strspn(cfg->site_id, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(cfg->site_id))
		err(&c, "site_id", "expected letters, digits, '.', '_' or '-' (it "
		    "becomes part of MQTT topics), got \"%s\"", cfg->site_id);
	read_string(&c, root, "", "state_file", false, 1, 4096, &cfg->state_file);
	read_int(&c, root, "", "meter_retention_days", 1, 3650,
	    &cfg->meter_retention_days);
	{
		static const char *const lv[] = { "debug", "info", "warn", "error" };
		if (read_enum(&c, root, "", "log_level", lv, 4, &k))
			cfg->log_level = (enum log_level)k;
	}
	read_ocpp(&c, root, &cfg->ocpp);
	read_site(&c, root, &cfg->site);
	read_chargers(&c, root, cfg);
	read_auth(&c, root, &cfg->auth);
	read_control(&c, root, &cfg->control);
	read_mqtt(&c, root, cfg);
	read_upstream(&c, root, cfg);
	read_web(&c, root, cfg);

	if (cfg->mqtt && cfg->mqtt->prefix == NULL && cfg->site_id) {
		size_t n = strlen(cfg->site_id) + sizeof "sitegate/";
		cfg->mqtt->prefix = xmalloc(n);
		snprintf(cfg->mqtt->prefix, n, "sitegate/%s", cfg->site_id);
	}
	if (cfg->mqtt && cfg->mqtt->client_id == NULL && cfg->site_id) {
		size_t n = strlen(cfg->site_id) + sizeof "sitegate-";
		cfg->mqtt->client_id = xmalloc(n);
		snprintf(cfg->mqtt->client_id, n, "sitegate-%s", cfg->site_id);
	}
	if (c.n == 0)
		check_references(&c, cfg);
out:
	cJSON_Delete(root);
	if (nerrors)
		*nerrors = c.n;
	if (c.n > 0) {
		if (errors)
			*errors = c.errs;
		else
			free(c.errs);
		config_free(cfg);
		return NULL;
	}
	free(c.errs);
	if (errors)
		*errors = NULL;
	return cfg;
}

struct config *
config_load(const char *path, char **errors, int *nerrors)
{
	struct ctx c = { 0 };
	struct config *cfg = NULL;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err(&c, "", "cannot open %s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		err(&c, "", "%s is not a regular file", path);
		goto fail;
	}
	if (st.st_size > CONFIG_MAX_FILE_BYTES) {
		err(&c, "", "%s is %lld bytes, more than the %d allowed", path,
		    (long long)st.st_size, CONFIG_MAX_FILE_BYTES);
		goto fail;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	/* Read to the end even if the file grew or shrank since fstat. */
	for (;;) {
		ssize_t r = read(fd, buf + len, (size_t)st.st_size + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err(&c, "", "cannot read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > (size_t)st.st_size) {
			err(&c, "", "%s changed while it was read", path);
			goto fail;
		}
	}
	close(fd);
	fd = -1;
	cfg = config_parse(buf, len, errors, nerrors);
	explicit_bzero(buf, len);
	free(buf);
	return cfg;
fail:
	if (fd >= 0)
		close(fd);
	if (buf) {
		explicit_bzero(buf, len);
		free(buf);
	}
	if (nerrors)
		*nerrors = c.n;
	if (errors)
		*errors = c.errs;
	else
		free(c.errs);
	return NULL;
}

static void
endpoint_free(struct config_endpoint *ep)
{
	free(ep->host);
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->site_id);
	free(cfg->state_file);
	endpoint_free(&cfg->ocpp.listen);
	if (cfg->ocpp.tls) {
		free(cfg->ocpp.tls->cert);
		free(cfg->ocpp.tls->key);
		free(cfg->ocpp.tls->client_ca);
		free(cfg->ocpp.tls);
	}
	for (size_t i = 0; i < cfg->nchargers; i++) {
		free(cfg->chargers[i].id);
		free(cfg->chargers[i].circuit);
	}
	if (cfg->chargers)
		explicit_bzero(cfg->chargers, cfg->nchargers * sizeof *cfg->chargers);
	free(cfg->chargers);
	for (size_t i = 0; i < cfg->site.ncircuits; i++) {
		free(cfg->site.circuits[i].id);
		free(cfg->site.circuits[i].parent);
	}
	free(cfg->site.circuits);
	for (size_t i = 0; i < cfg->auth.nlocal; i++)
		free(cfg->auth.local_list[i].id_token);
	free(cfg->auth.local_list);
	if (cfg->mqtt) {
		struct config_mqtt *m = cfg->mqtt;
		free(m->host);
		free(m->prefix);
		free(m->client_id);
		free(m->username);
		if (m->password) {
			explicit_bzero(m->password, strlen(m->password));
			free(m->password);
		}
		free(m->ca_file);
		free(m->cert);
		free(m->key);
		free(m);
	}
	if (cfg->upstream) {
		struct config_upstream *u = cfg->upstream;
		free(u->url);
		free(u->id);
		if (u->password) {
			explicit_bzero(u->password, strlen(u->password));
			free(u->password);
		}
		free(u->ca_file);
		free(u->cert);
		free(u->key);
		free(u);
	}
	if (cfg->web) {
		endpoint_free(&cfg->web->listen);
		free(cfg->web->root);
		free(cfg->web->tls_cert);
		free(cfg->web->tls_key);
		free(cfg->web);
	}
	free(cfg);
}

const struct config_charger *
config_charger_find(const struct config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->nchargers; i++)
		if (strcmp(cfg->chargers[i].id, id) == 0)
			return &cfg->chargers[i];
	return NULL;
}

static bool
str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

static bool
endpoint_differs(const struct config_endpoint *a, const struct config_endpoint *b)
{
	return str_differs(a->host, b->host) || a->port != b->port;
}

static bool
state_file_differs(const struct config *a, const struct config *b)
{
	return str_differs(a->state_file, b->state_file);
}

static bool
ocpp_listen_differs(const struct config *a, const struct config *b)
{
	return endpoint_differs(&a->ocpp.listen, &b->ocpp.listen);
}

static bool
ocpp_tls_differs(const struct config *a, const struct config *b)
{
	const struct config_tls *at = a->ocpp.tls, *bt = b->ocpp.tls;

	if (at == NULL || bt == NULL)
		return at != bt;
	return str_differs(at->cert, bt->cert) || str_differs(at->key, bt->key) ||
	    str_differs(at->client_ca, bt->client_ca);
}

/* Turning the page on or off needs a restart too: it is its listener. */
static bool
web_listen_differs(const struct config *a, const struct config *b)
{
	if (a->web == NULL || b->web == NULL)
		return a->web != b->web;
	return endpoint_differs(&a->web->listen, &b->web->listen);
}

static bool
web_root_differs(const struct config *a, const struct config *b)
{
	return a->web != NULL && b->web != NULL &&
	    str_differs(a->web->root, b->web->root);
}

static bool
web_tls_differs(const struct config *a, const struct config *b)
{
	return a->web != NULL && b->web != NULL &&
	    (str_differs(a->web->tls_cert, b->web->tls_cert) ||
	    str_differs(a->web->tls_key, b->web->tls_key));
}

static bool
web_max_clients_differs(const struct config *a, const struct config *b)
{
	return a->web != NULL && b->web != NULL &&
	    a->web->max_clients != b->web->max_clients;
}

/* The keys that only take effect after a restart: the one list behind
 * config_restart_needed() and config_restart_key() (the page shows it). */
static const struct {
	const char *key;
	bool (*differs)(const struct config *, const struct config *);
} restart_keys[] = {
	{ "state_file", state_file_differs },
	{ "ocpp.listen", ocpp_listen_differs },
	{ "ocpp.tls", ocpp_tls_differs },
	{ "web.listen", web_listen_differs },
	{ "web.root", web_root_differs },
	{ "web.tls", web_tls_differs },
	{ "web.max_clients", web_max_clients_differs },
};

const char *
config_restart_key(size_t i)
{
	return i < sizeof restart_keys / sizeof *restart_keys ?
	    restart_keys[i].key : NULL;
}

char *
config_restart_needed(const struct config *old, const struct config *new)
{
	struct ctx c = { 0 };

	for (size_t i = 0; i < sizeof restart_keys / sizeof *restart_keys; i++)
		if (restart_keys[i].differs(old, new))
			err(&c, restart_keys[i].key,
			    "changed; takes effect after a restart");
	return c.errs;
}
