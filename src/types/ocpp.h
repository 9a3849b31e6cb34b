/*
 * types/ocpp — the OCPP words every layer shares: which version a
 * connection speaks, and the CallError codes with their wire spellings.
 *
 * This is the bottom of the include graph: it includes nothing of the
 * project, does no I/O and allocates nothing. There is one version enum
 * and one CallError enum for the whole gateway; the transport frames
 * them, the schema check and the codecs produce them, the roles answer
 * with them.
 *
 * CallError codes: one value per meaning. 1.6 spells two of them
 * differently (FormationViolation, OccurenceConstraintViolation) and has no
 * word for two others (a broken frame is a FormationViolation, an unknown
 * message type a GenericError); ocpp_errcode_name() gives the spelling of
 * a version, ocpp_errcode_parse() reads every spelling. The table is in
 * ocpp.c, once.
 */
#ifndef SITEGATE_TYPES_OCPP_H
#define SITEGATE_TYPES_OCPP_H

/* OCPP versions, in order of preference (newest last). */
enum ocpp_version {
	OCPP_V16 = 0,
	OCPP_V201,
	OCPP_V21,
	OCPP_NVERSIONS,
};

/* OCPP-J CallError codes. */
enum ocpp_errcode {
	OCPP_ERR_OTHER = 0,		/* received a code we do not know */
	OCPP_ERR_NOT_IMPLEMENTED,
	OCPP_ERR_NOT_SUPPORTED,
	OCPP_ERR_INTERNAL,
	OCPP_ERR_PROTOCOL,
	OCPP_ERR_SECURITY,
	OCPP_ERR_FORMAT,		/* 1.6: FormationViolation */
	OCPP_ERR_PROPERTY,		/* PropertyConstraintViolation */
	OCPP_ERR_OCCURRENCE,		/* 1.6: OccurenceConstraintViolation */
	OCPP_ERR_TYPE,			/* TypeConstraintViolation */
	OCPP_ERR_GENERIC,
	OCPP_ERR_FRAMEWORK,		/* 2.x RpcFrameworkError; 1.6: Formation- */
	OCPP_ERR_MESSAGE_TYPE,		/* 2.x MessageTypeNotSupported; 1.6:
					   GenericError */
	OCPP_NERRCODES,
};

/* "ocpp1.6", "ocpp2.0.1", "ocpp2.1" (the WebSocket subprotocol); "?" for a
 * value out of range. */
const char *ocpp_version_name(enum ocpp_version v);

/* The version of a subprotocol name. Returns 0, or -1 when no version has
 * that name (*out untouched). */
int ocpp_version_parse(const char *subprotocol, enum ocpp_version *out);

/* The wire name of code in version v; a code out of range is spelled as
 * GenericError. */
const char *ocpp_errcode_name(enum ocpp_errcode code, enum ocpp_version v);

/* The code of a wire name, in any version's spelling; OCPP_ERR_OTHER for a
 * name no version defines. */
enum ocpp_errcode ocpp_errcode_parse(const char *name);

#endif
