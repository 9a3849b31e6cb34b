/*
 * jcheck — the one table-driven validator of JSON values (cJSON trees).
 *
 * A JSON document is described as data: one table of struct jc_field per
 * object type, one row per member, saying the member's JSON type (integer
 * and number apart), whether it is required, its allowed values (an enum),
 * its length in Unicode code points (or in bytes, JC_BYTES), its numeric
 * bounds and multipleOf, a format (RFC 3339 date-time, RFC 3986 uri),
 * whether it is an array of such values (JC_LIST, with minItems and
 * maxItems), and for an object the table of its own members. A table ends
 * with a row whose name is NULL; JC_OPEN on that row allows members the
 * table does not name (JSON Schema's "additionalProperties"; closed when
 * absent). For example
 *
 *	static const struct jc_field meter_value[] = {
 *		{ "timestamp", JC_STRING, JC_REQUIRED, .format = JC_DATETIME },
 *		{ "sampledValue", JC_OBJECT, JC_REQUIRED | JC_LIST,
 *		  .min_items = 1, .fields = sampled_value },
 *		{ NULL },
 *	};
 *
 * One engine, many sets of words: the OCPP schemas (tables generated from
 * the official JSON schemas; ocpp/schema turns a result into a CallError
 * and a description), the configuration file (every problem, one line
 * each: `chargers[1].max_current_a: expected a number from 6 to 80, got
 * "32A"`), and the EMS payloads (control/emsmsg: the first problem, as a
 * reason). The engine decides and says which rule failed,
 * where, against which row, with what value; each user words it.
 * jc_expected() renders what a row expects in plain English ("a number
 * from 6 to 80"), jc_quote() a text from the document.
 *
 * One value is checked in this order, the first failure being the result:
 *   type         the JSON type (null is no string; JC_ANY takes anything)
 *                                                              JC_TYPE
 *   list         JC_LIST: an array, then its number of items   JC_TYPE,
 *                (each item is then checked as below)          JC_ITEMS
 *   string       enum, then length, then format                JC_VALUE
 *   number       finite, else outside the limits               JC_VALUE
 *                integral (JC_INTEGER)                         JC_TYPE
 *                within the run's limits (struct jc_limits)    JC_VALUE
 *                unless JC_OWN_LIMITS, then min, max (JC_MIN, JC_MAX),
 *                multipleOf (a tolerance of 1e-6 on the quotient: 0.3 is
 *                a multiple of 0.1, although 0.3 / 0.1 is not exactly 3
 *                in binary floating point)                     JC_VALUE
 *   object       the members, as below
 * An object's members: first each required row absent from it (JC_MISSING,
 * in table order), then each member in document order (JC_UNKNOWN for one
 * the table does not name, unless open; with JC_UNIQUE_KEYS, JC_DUPLICATE
 * for a name seen before in the same object), depth first. JC_KEYS_FIRST
 * checks every member's name before any member's value (a payload's shape
 * before its numbers). Without JC_UNIQUE_KEYS every member is checked,
 * duplicates included, so whichever of two equal keys a reader picks has
 * passed.
 *
 * The walk follows the tables, not the document: it descends only into the
 * objects a table describes, so its depth is bounded by the tables however
 * deeply a document nests. Pure: no I/O, no logging, no allocation, no
 * global state.
 */
#ifndef SITEGATE_JCHECK_H
#define SITEGATE_JCHECK_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define JC_PATH_MAX 128

enum jc_type {
	JC_ANY,			/* any JSON value */
	JC_STRING,
	JC_INTEGER,		/* a number without a fraction */
	JC_NUMBER,
	JC_BOOL,
	JC_OBJECT,		/* members as .fields says */
};

enum jc_format {
	JC_FREE,		/* any string */
	JC_DATETIME,		/* RFC 3339 date-time (util/isotime) */
	JC_URI,			/* RFC 3986 URI (a scheme, then what it allows) */
};

/* struct jc_field .flags */
enum {
	JC_REQUIRED = 1 << 0,
	JC_LIST = 1 << 1,	/* an array of such values */
	JC_OPEN = 1 << 2,	/* on a table's end row: other members allowed */
	JC_MIN = 1 << 3,	/* .min applies */
	JC_MAX = 1 << 4,	/* .max applies */
	JC_BYTES = 1 << 5,	/* .min_len/.max_len count bytes, not code points */
	JC_OWN_LIMITS = 1 << 6,	/* .min/.max replace the run's jc_limits */
};

struct jc_field {
	const char *name;		/* NULL ends a table */
	uint8_t type;			/* enum jc_type */
	uint8_t flags;
	uint8_t format;			/* enum jc_format, JC_STRING */
	uint16_t nenums;		/* JC_STRING: one of enums[0..nenums) */
	uint16_t min_items, max_items;	/* JC_LIST; max_items 0: no maximum */
	uint32_t min_len, max_len;	/* JC_STRING; max_len 0: no maximum */
	const char *const *enums;
	const struct jc_field *fields;	/* JC_OBJECT: its members */
	double min, max;		/* JC_INTEGER, JC_NUMBER: JC_MIN, JC_MAX */
	double multiple_of;		/* JC_NUMBER: 0 for none */
};

/* Bounds every integer or number of a document is held to, beyond its
 * row's own (OCPP: an integer is 32 bits). Not finite is always outside. */
struct jc_limits {
	double int_min, int_max;
	double num_min, num_max;
};

/* What failed: the class of the rule (the return value of the checks). */
enum jc_rule {
	JC_OK = 0,
	JC_MISSING = -1,	/* a required member is absent */
	JC_TYPE = -2,		/* the wrong JSON type, or a fraction for an
				   integer */
	JC_VALUE = -3,		/* the right type, but a value the row refuses */
	JC_ITEMS = -4,		/* an array with too few or too many items */
	JC_UNKNOWN = -5,	/* a member the table does not name */
	JC_DUPLICATE = -6,	/* a member named twice (JC_UNIQUE_KEYS) */
	JC_NOT_OBJECT = -7,	/* jc_check_object: the document itself */
};

/* Which constraint of the row, within the rule. */
enum jc_detail {
	JC_D_NONE,
	JC_D_TYPE,		/* JC_TYPE: not the row's JSON type */
	JC_D_ARRAY,		/* JC_TYPE: a JC_LIST row's value is no array */
	JC_D_FRACTION,		/* JC_TYPE: a fraction for JC_INTEGER */
	JC_D_ENUM,		/* JC_VALUE: not one of the row's enums */
	JC_D_LENGTH,		/* JC_VALUE: shorter or longer than allowed */
	JC_D_FORMAT,		/* JC_VALUE: not a date-time / uri */
	JC_D_LIMIT,		/* JC_VALUE: outside the run's jc_limits, or not
				   finite */
	JC_D_MIN,		/* JC_VALUE: below .min */
	JC_D_MAX,		/* JC_VALUE: above .max */
	JC_D_MULTIPLE,		/* JC_VALUE: not a multiple of .multiple_of */
	JC_D_FEW,		/* JC_ITEMS: fewer than .min_items */
	JC_D_MANY,		/* JC_ITEMS: more than .max_items */
};

struct jc_result {
	enum jc_rule rule;
	enum jc_detail detail;
	/* The row whose rule failed (for an array item, the JC_LIST row);
	 * NULL for JC_UNKNOWN, JC_DUPLICATE and JC_NOT_OBJECT. */
	const struct jc_field *field;
	/* The value that failed (an array item, for one); the member for
	 * JC_UNKNOWN and JC_DUPLICATE (its ->string is the name); NULL for
	 * JC_MISSING. Points into the caller's tree. */
	const cJSON *got;
	/* JC_ITEMS: how many items the array has. */
	int items;
	/* Where: the run's jc_opts.path, then ".name" per member ("name" at
	 * the start) and "[i]" per array item, names escaped as jc_quote()
	 * does; cut short when longer. A missing member's path names it. */
	char path[JC_PATH_MAX];
};

/* struct jc_opts .flags */
enum {
	JC_UNIQUE_KEYS = 1 << 0,	/* a name twice in an object: JC_DUPLICATE */
	JC_KEYS_FIRST = 1 << 1,		/* all members' names before any value */
};

struct jc_opts {
	const struct jc_limits *limits;	/* NULL: none */
	unsigned flags;
	const char *path;		/* prefix of every result's path; NULL: "" */
	/* NULL: the walk stops at the first violation, which the result
	 * holds. Otherwise each violation is handed to each() (arg passed
	 * through; the result is only valid during the call) and the walk
	 * goes on while each() returns 0. */
	int (*each)(void *arg, const struct jc_result *r);
	void *arg;
};

/* Check v (a value of the caller's tree; NULL counts as absent, which only
 * a required row refuses) against the row f. opts may be NULL (no limits,
 * no flags, stop at the first). Returns JC_OK or the rule of the first
 * violation, which *r (when not NULL) describes; on JC_OK *r is zeroed. */
int jc_check(const struct jc_field *f, const cJSON *v,
    const struct jc_opts *opts, struct jc_result *r);

/* Check doc as an object whose members the table fields describes (ended
 * by a row named NULL). JC_NOT_OBJECT when doc is not an object (NULL
 * included). Otherwise as jc_check(). */
int jc_check_object(const struct jc_field *fields, const cJSON *doc,
    const struct jc_opts *opts, struct jc_result *r);

/* What the result's row expects, in English, into buf (n > 0 bytes,
 * always terminated, cut short when longer), as the configuration file
 * says it: "a string of 1 to 48 characters", "an integer from 10 to 86400",
 * "a number from 6 to 80", "one of \"A\", \"W\"", "true or false", "an
 * object", "an array" (for a JC_TYPE/JC_ITEMS on a JC_LIST row's array),
 * "an RFC 3339 date-time", "a URI"; a bound the row lacks is left out ("a
 * string of at most 20 characters", "an integer"). Returns buf. */
char *jc_expected(const struct jc_result *r, char *buf, size_t n);

/* Copy s into buf (n > 4 bytes) fit to quote in a message: quotes and
 * backslashes escaped, control characters as \xNN, cut at 40 bytes on a
 * UTF-8 boundary with "..." after it. Returns buf. */
char *jc_quote(const char *s, char *buf, size_t n);

#endif
