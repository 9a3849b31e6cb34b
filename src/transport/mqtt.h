/*
 * mqtt — one MQTT 3.1.1 client link inside the caller's libevent loop.
 *
 * libmosquitto speaks the protocol; this module runs it without its thread:
 * the socket of the current attempt has one read event and one write event
 * (armed while libmosquitto has bytes to send) in the caller's loop, and a
 * 1 s timer drives the keepalive. It knows nothing of what the topics mean:
 * the owner subscribes, publishes and receives through the calls and
 * callbacks below.
 *
 * Connecting. The broker's host name is resolved with libevent's evdns
 * (the hosts file, then the name servers of resolv.conf), never with the
 * system resolver, which would block the loop. Every address it gives is
 * tried in the order given, IPv6 and IPv4 alike: libmosquitto is handed
 * one numeric address per attempt. An address that refuses the TCP
 * connection, is unreachable or does not answer within 10 s is logged as
 * such ("[::1]:1883 refused, trying 127.0.0.1:1883") and the next one is
 * tried at once. Once TCP is up, the outcome (TLS, CONNACK) is that of the
 * attempt: a broker that refuses us is not asked again through its other
 * addresses. When every address failed, or the link is lost later, the
 * owner hears on_down with the reason and the delay before the next round,
 * which resolves the name again: 1 s doubling to 60 s, each delay drawn
 * from [d/2, d], back to 1 s after a CONNACK.
 *
 * TLS (opts.ca_file set): TLS 1.2 or 1.3, the broker's certificate must
 * chain to ca_file and be for the host name the owner configured (not for
 * the numeric address connected to: that check and the SNI use the
 * configured name), optionally with a client certificate. The TLS files
 * are read at mqtt_new (a file that cannot be used is refused there) and
 * again at each round, so renewed files are picked up at the next
 * reconnect.
 *
 * Ownership and callbacks: strings in opts are copied. Callbacks run from
 * the loop, never from inside mqtt_new, mqtt_publish or mqtt_subscribe. A
 * callback may publish and subscribe, but must not call mqtt_free.
 */
#ifndef SITEGATE_MQTT_H
#define SITEGATE_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/dns.h>
#include <event2/event.h>

struct mqtt;

enum mqtt_err {
	MQTT_OK = 0,
	MQTT_E_DOWN = -1,	/* not connected, or the link broke: not sent */
	MQTT_E_ARG = -2,	/* an argument libmosquitto refuses (topic, size) */
};

#define MQTT_WHY_LEN 160	/* a reason, with its NUL */

/* Why the link is down. */
enum mqtt_down_kind {
	MQTT_DOWN_SETUP = 0,	/* the client could not be set up (TLS files) */
	MQTT_DOWN_RESOLVE,	/* the host name did not resolve */
	MQTT_DOWN_REFUSED,	/* the last address tried refused TCP */
	MQTT_DOWN_UNREACHABLE,	/* ... was unreachable or did not answer */
	MQTT_DOWN_TLS,		/* TLS handshake or certificate check failed */
	MQTT_DOWN_CONNACK,	/* the broker refused the CONNECT */
	MQTT_DOWN_TIMEOUT,	/* no CONNACK within 10 s of TCP */
	MQTT_DOWN_CLOSED,	/* closed, reset, keepalive or I/O error */
};

struct mqtt_down {
	enum mqtt_down_kind kind;
	const char *why;	/* one printable line, e.g. "[::1]:1883 refused,
				 * 127.0.0.1:1883 refused"; valid during the
				 * callback */
	bool was_up;		/* the link had been up (CONNACK seen) */
	int retry_in_ms;	/* the next round starts this much later */
};

struct mqtt_opts {
	const char *log_name;	/* module name of the log lines; NULL: "mqtt" */
	const char *host;	/* a name, or an IPv4 / IPv6 address literal */
	uint16_t port;
	const char *client_id;
	const char *username;	/* NULL: no authentication */
	const char *password;
	int keepalive_s;
	const char *ca_file;	/* NULL: plain TCP; else TLS, as above */
	const char *cert, *key;	/* client certificate and key; NULL: none */
	const char *will_topic;	/* NULL: no last will */
	const char *will_payload;
	int will_qos;
	bool will_retain;
	struct evdns_base *dns;	/* NULL: a resolver of its own per round,
				 * from /etc/resolv.conf and /etc/hosts */
};

struct mqtt_handler {
	/* CONNACK accepted: the link is up. Subscribe here (a clean session
	 * starts with none). */
	void (*on_up)(void *arg);
	/* A round failed, or the link was lost. */
	void (*on_down)(const struct mqtt_down *down, void *arg);
	/* A message on a subscribed topic; payload is len bytes (not
	 * NUL-terminated), valid during the call. */
	void (*on_message)(const char *topic, const void *payload, size_t len,
	    bool retained, void *arg);
	/* SUBACK: granted[i] is the QoS granted for the i-th topic of the
	 * mqtt_subscribe call, 0x80 when the broker refused it. May be NULL. */
	void (*on_subscribed)(const int *granted, int n, void *arg);
};

/* Create the link and start connecting from the loop. handler is copied;
 * arg is passed to every callback. Returns NULL with a malloc'd *cause
 * when the settings are unusable (TLS files that cannot be read or do not
 * match, a will libmosquitto refuses). */
struct mqtt *mqtt_new(struct event_base *base, const struct mqtt_opts *opts,
    const struct mqtt_handler *handler, void *arg, char **cause);

/* Publish len bytes on topic. Returns MQTT_OK when libmosquitto took it
 * (QoS 1: it resends until PUBACK while this link lasts), MQTT_E_DOWN when
 * the link is not up or broke (nothing is queued for later), MQTT_E_ARG
 * for a topic or size libmosquitto refuses. */
int mqtt_publish(struct mqtt *m, const char *topic, const void *payload,
    size_t len, int qos, bool retain);

/* Subscribe to n topic filters at qos in one SUBSCRIBE; on_subscribed
 * follows. Returns MQTT_OK, MQTT_E_DOWN or MQTT_E_ARG as mqtt_publish. */
int mqtt_subscribe(struct mqtt *m, const char *const *topics, int n, int qos);

/* Whether the link is up (CONNACK accepted, not lost since). */
bool mqtt_is_up(const struct mqtt *m);

/* When up, send DISCONNECT (the broker then drops the last will) and write
 * what can be written without blocking, after anything published before;
 * then free everything. NULL is a no-op. Not from one of its callbacks. */
void mqtt_free(struct mqtt *m);

#endif
