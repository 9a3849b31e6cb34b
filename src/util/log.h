/*
 * log — one line per event on stderr, with levels and key=value fields.
 *
 * A line looks like
 *
 *   2026-11-21T16:20:00.123Z warn  ws: handshake refused peer=127.0.0.1:5555 charger="CP\x01" status=401
 *
 * The text after "module:" is a short event description followed by
 * key=value fields. Anything that came from outside the process (a charger
 * id, an MQTT payload, a file name) goes through log_esc() first, so a peer
 * can never forge log lines or smuggle terminal escapes into them.
 *
 * The level is checked before any formatting is done: use the macros, not
 * log_write() directly, on hot paths. The logger is process-global on
 * purpose (like stderr itself); pure modules (policy/, the codecs) never log.
 *
 * Recent lines: every line written (any level that passed the level
 * filter) is also kept in a ring of the last LOG_RECENT_LINES lines, for
 * the installer's page and the diagnostics download (log_recent). The ring
 * is fixed memory (about 220 kB), filled by one copy of the text per
 * line; its text is cut at LOG_RECENT_TEXT - 1 bytes (ending in "...").
 * Like the logger, it is for the event loop's thread only.
 */
#ifndef SITEGATE_LOG_H
#define SITEGATE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

/* Set the lowest level that is written. Default: LOG_LEVEL_INFO. */
void log_set_level(enum log_level level);

/* Parse "debug", "info", "warn" or "error" into *out. Returns 0, or -1 for
 * any other string (then *out is untouched). */
int log_level_parse(const char *name, enum log_level *out);

/* Name of a level ("debug", ...). */
const char *log_level_name(enum log_level level);

/* True when a line of this level would be written. */
bool log_enabled(enum log_level level);

/* Write one line. module is a short static name ("ws", "store"). The
 * formatted text must not contain a newline; any that slips through is
 * escaped. Use the macros below. */
void log_write(enum log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Escape an untrusted string for a log field: printable ASCII other than
 * '"' and '\' is kept; everything else becomes \xHH (or \" and \\). The
 * result is wrapped in double quotes when it is empty or contains a space,
 * '=' or an escaped byte. At most len-1 bytes are written to buf, always
 * NUL-terminated; an overlong value ends in "...". s may be NULL ("-").
 * Returns buf, so it can be used inline as a printf argument. */
const char *log_esc(char *buf, size_t len, const char *s);

/* Lines the recent ring keeps, and the bytes of text kept per line. */
#define LOG_RECENT_LINES 500
#define LOG_RECENT_TEXT 400

typedef void log_recent_cb(int64_t ms, enum log_level level,
    const char *module, const char *text, void *arg);

/* Call cb for the most recent lines kept whose level is min or above,
 * newest first, at most max of them (0: none). ms is the line's wall-clock
 * time (ms since the epoch), module and text are NUL-terminated and valid
 * during the call only (text without the time, level and module prefix).
 * cb should not log: a line it writes takes the place of the oldest one,
 * which may then be reported in its stead. */
void log_recent(enum log_level min, size_t max, log_recent_cb *cb, void *arg);

/* Empty the recent ring (for tests). */
void log_recent_clear(void);

/* Bytes a log_esc() buffer needs for the usual field (ids, names). */
#define LOG_ESC_LEN 160

#define log_debug(mod, ...) do { if (log_enabled(LOG_LEVEL_DEBUG)) \
	log_write(LOG_LEVEL_DEBUG, (mod), __VA_ARGS__); } while (0)
#define log_info(mod, ...) do { if (log_enabled(LOG_LEVEL_INFO)) \
	log_write(LOG_LEVEL_INFO, (mod), __VA_ARGS__); } while (0)
#define log_warn(mod, ...) do { if (log_enabled(LOG_LEVEL_WARN)) \
	log_write(LOG_LEVEL_WARN, (mod), __VA_ARGS__); } while (0)
#define log_error(mod, ...) do { if (log_enabled(LOG_LEVEL_ERROR)) \
	log_write(LOG_LEVEL_ERROR, (mod), __VA_ARGS__); } while (0)

#endif
