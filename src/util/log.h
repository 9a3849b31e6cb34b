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
 */
#ifndef SITEGATE_LOG_H
#define SITEGATE_LOG_H

#include <stdbool.h>
#include <stddef.h>

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
