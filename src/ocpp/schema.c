/*
 * schema — see schema.h for what is checked and how violations map onto
 * OCPP-J CallError codes.
 *
 * The rules are data: one table per object type, one row per property,
 * written with the row macros below, for example
 *
 *	static const struct sc_field f16_MeterValue[] = {
 *		DATETIME("timestamp", REQ),
 *		OBJ("sampledValue", REQ_LIST(1, 0), f16_SampledValue),
 *		END
 *	};
 *
 * says: an object with a required date-time "timestamp" and a required
 * array "sampledValue" of at least one (and at most any number of)
 * SampledValue objects, and no other property. Object types used in more
 * than one message (IdTagInfo, ChargingProfile, MeterValue, SampledValue,
 * IdToken, EVSE, StatusInfo, ...) have one table each, shared by every
 * message that carries them. Enumerations are NULL-terminated string
 * arrays. Names follow the specifications: f16_X / e16_X for 1.6 type X,
 * f201_X / e201_X for 2.0.1's XType / XEnumType, and f16_<Action>Req /
 * f16_<Action>Conf, f201_<Action>Request / f201_<Action>Response for the
 * payloads. In 2.0.1 "customData" is left out of the tables: check_object
 * allows it in every object.
 *
 * The tables were transcribed from the official JSON schemas (OCPP 1.6 with
 * the 2020 security extension, OCPP 2.0.1 FINAL; schema.h lists the three
 * errata followed); tests/integration/schema.test.js checks them against
 * ajv running the schemas that the ocpp-rpc npm package carries.
 *
 * The walk follows the tables, not the document: it descends only into
 * objects the schema describes, so its depth is bounded by the tables'
 * (eight objects at most: 2.0.1 SetChargingProfile down to a cost's
 * customData), however deeply the payload nests.
 */
#include "ocpp/schema.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/isotime.h"
#include "util/json.h"

enum sc_kind {
	SK_STRING,	/* max_len: maxLength in code points, 0 for none */
	SK_DATETIME,	/* string, "format": "date-time" */
	SK_URI,		/* string, "format": "uri" */
	SK_ENUM,	/* string, one of en */
	SK_INT,		/* integer; lo/hi when range says so */
	SK_NUM,		/* number */
	SK_TENTHS,	/* number, "multipleOf": 0.1 */
	SK_BOOL,
	SK_OBJECT,	/* obj: the object's table */
	SK_ANY,		/* any JSON value (2.0.1 DataTransfer "data") */
};

enum {
	SC_REQ = 1 << 0,	/* required */
	SC_LIST = 1 << 1,	/* an array of such values */
	SC_OPEN = 1 << 2,	/* on END: other properties are allowed */
};

enum {
	SC_LO = 1 << 0,		/* "minimum": lo */
	SC_HI = 1 << 1,		/* "maximum": hi */
	SC_WH = 1 << 2,		/* an energy register in Wh: 0..SCHEMA_NUM_MAX
				   instead of OCPP's 32 bits (see schema.h) */
};

struct sc_field {
	const char *name;		/* NULL ends the table */
	const char *const *en;		/* SK_ENUM */
	const struct sc_field *obj;	/* SK_OBJECT */
	int32_t lo, hi;			/* SK_INT, as range says */
	uint16_t max_len;		/* SK_STRING */
	uint16_t min_items, max_items;	/* SC_LIST; max_items 0: none */
	uint8_t kind;
	uint8_t flags;
	uint8_t range;
};

struct sc_message {
	const char *action;
	const struct sc_field *req, *conf;
};

/* Occurrence, the second argument of every row: OPT, REQ, or for an
 * array LIST(minItems, maxItems) / REQ_LIST(...), maxItems 0 for none. */
#define OPT			.flags = 0
#define REQ			.flags = SC_REQ
#define LIST(lo, hi)		.flags = SC_LIST, \
				.min_items = (lo), .max_items = (hi)
#define REQ_LIST(lo, hi)	.flags = SC_REQ | SC_LIST, \
				.min_items = (lo), .max_items = (hi)

#define STR(n, occ, len)	{ .name = (n), .kind = SK_STRING, occ, \
				  .max_len = (len) }
#define DATETIME(n, occ)	{ .name = (n), .kind = SK_DATETIME, occ }
#define URI(n, occ)		{ .name = (n), .kind = SK_URI, occ }
#define ENUM(n, occ, e)		{ .name = (n), .kind = SK_ENUM, occ, \
				  .en = (e) }
#define INT(n, occ)		{ .name = (n), .kind = SK_INT, occ }
#define INT_GE(n, occ, l)	{ .name = (n), .kind = SK_INT, occ, \
				  .range = SC_LO, .lo = (l) }
#define INT_RANGE(n, occ, l, h)	{ .name = (n), .kind = SK_INT, occ, \
				  .range = SC_LO | SC_HI, .lo = (l), .hi = (h) }
#define INT_WH(n, occ)		{ .name = (n), .kind = SK_INT, occ, \
				  .range = SC_WH }
#define NUM(n, occ)		{ .name = (n), .kind = SK_NUM, occ }
#define TENTHS(n, occ)		{ .name = (n), .kind = SK_TENTHS, occ }
#define BOOL(n, occ)		{ .name = (n), .kind = SK_BOOL, occ }
#define OBJ(n, occ, o)		{ .name = (n), .kind = SK_OBJECT, occ, \
				  .obj = (o) }
#define ANY(n, occ)		{ .name = (n), .kind = SK_ANY, occ }
#define END			{ .name = NULL }
#define END_OPEN		{ .name = NULL, .flags = SC_OPEN }

#define MSG16(a)	{ #a, f16_##a##Req, f16_##a##Conf }
#define MSG201(a)	{ #a, f201_##a##Request, f201_##a##Response }

/* 2.0.1 CustomDataType: allowed in every object, see check_object. */
static const struct sc_field f201_CustomData[] = {
	STR("vendorId", REQ, 255),
	END_OPEN
};
static const struct sc_field customdata_field =
	OBJ("customData", OPT, f201_CustomData);

/* ------------------------------------------------------------ OCPP 1.6 */

static const char *const e16_AuthorizationStatus[] = {
	"Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx", NULL
};
static const char *const e16_AvailabilityStatus[] = {
	"Accepted", "Rejected", "Scheduled", NULL
};
static const char *const e16_AvailabilityType[] = {
	"Inoperative", "Operative", NULL
};
static const char *const e16_CertificateUse[] = {
	"CentralSystemRootCertificate", "ManufacturerRootCertificate", NULL
};
static const char *const e16_ChargePointErrorCode[] = {
	"ConnectorLockFailure", "EVCommunicationError", "GroundFailure",
	"HighTemperature", "InternalError", "LocalListConflict", "NoError",
	"OtherError", "OverCurrentFailure", "PowerMeterFailure",
	"PowerSwitchFailure", "ReaderFailure", "ResetFailure", "UnderVoltage",
	"OverVoltage", "WeakSignal", NULL
};
static const char *const e16_ChargePointStatus[] = {
	"Available", "Preparing", "Charging", "SuspendedEVSE", "SuspendedEV",
	"Finishing", "Reserved", "Unavailable", "Faulted", NULL
};
static const char *const e16_ChargingProfileKindType[] = {
	"Absolute", "Recurring", "Relative", NULL
};
static const char *const e16_ChargingProfilePurposeType[] = {
	"ChargePointMaxProfile", "TxDefaultProfile", "TxProfile", NULL
};
static const char *const e16_ChargingProfileStatus[] = {
	"Accepted", "Rejected", "NotSupported", NULL
};
static const char *const e16_ChargingRateUnitType[] = {
	"A", "W", NULL
};
static const char *const e16_ClearChargingProfileStatus[] = {
	"Accepted", "Unknown", NULL
};
static const char *const e16_ConfigurationStatus[] = {
	"Accepted", "Rejected", "RebootRequired", "NotSupported", NULL
};
static const char *const e16_DataTransferStatus[] = {
	"Accepted", "Rejected", "UnknownMessageId", "UnknownVendorId", NULL
};
static const char *const e16_DeleteCertificateStatus[] = {
	"Accepted", "Failed", "NotFound", NULL
};
static const char *const e16_DiagnosticsStatus[] = {
	"Idle", "Uploaded", "UploadFailed", "Uploading", NULL
};
static const char *const e16_ExtendedMessageTrigger[] = {
	"BootNotification", "LogStatusNotification",
	"FirmwareStatusNotification", "Heartbeat", "MeterValues",
	"SignChargePointCertificate", "StatusNotification", NULL
};
static const char *const e16_FirmwareStatus[] = {
	"Downloaded", "DownloadFailed", "Downloading", "Idle",
	"InstallationFailed", "Installing", "Installed", NULL
};
/* Accepted/Rejected: CancelReservation, CertificateSigned, ClearCache,
 * GetCompositeSchedule, RemoteStart/StopTransaction, Reset, SignCertificate. */
static const char *const e16_GenericStatus[] = {
	"Accepted", "Rejected", NULL
};
static const char *const e16_GetInstalledCertificateStatus[] = {
	"Accepted", "NotFound", NULL
};
static const char *const e16_HashAlgorithm[] = {
	"SHA256", "SHA384", "SHA512", NULL
};
static const char *const e16_InstallCertificateStatus[] = {
	"Accepted", "Failed", "Rejected", NULL
};
static const char *const e16_Location[] = {
	"Cable", "EV", "Inlet", "Outlet", "Body", NULL
};
static const char *const e16_LogStatus[] = {
	"Accepted", "Rejected", "AcceptedCanceled", NULL
};
static const char *const e16_LogType[] = {
	"DiagnosticsLog", "SecurityLog", NULL
};
static const char *const e16_Measurand[] = {
	"Energy.Active.Export.Register", "Energy.Active.Import.Register",
	"Energy.Reactive.Export.Register", "Energy.Reactive.Import.Register",
	"Energy.Active.Export.Interval", "Energy.Active.Import.Interval",
	"Energy.Reactive.Export.Interval", "Energy.Reactive.Import.Interval",
	"Power.Active.Export", "Power.Active.Import", "Power.Offered",
	"Power.Reactive.Export", "Power.Reactive.Import", "Power.Factor",
	"Current.Import", "Current.Export", "Current.Offered", "Voltage",
	"Frequency", "Temperature", "SoC", "RPM", NULL
};
static const char *const e16_MessageTrigger[] = {
	"BootNotification", "DiagnosticsStatusNotification",
	"FirmwareStatusNotification", "Heartbeat", "MeterValues",
	"StatusNotification", NULL
};
static const char *const e16_Phase[] = {
	"L1", "L2", "L3", "N", "L1-N", "L2-N", "L3-N", "L1-L2", "L2-L3",
	"L3-L1", NULL
};
static const char *const e16_ReadingContext[] = {
	"Interruption.Begin", "Interruption.End", "Sample.Clock",
	"Sample.Periodic", "Transaction.Begin", "Transaction.End", "Trigger",
	"Other", NULL
};
static const char *const e16_Reason[] = {
	"EmergencyStop", "EVDisconnected", "HardReset", "Local", "Other",
	"PowerLoss", "Reboot", "Remote", "SoftReset", "UnlockCommand",
	"DeAuthorized", NULL
};
static const char *const e16_RecurrencyKindType[] = {
	"Daily", "Weekly", NULL
};
static const char *const e16_RegistrationStatus[] = {
	"Accepted", "Pending", "Rejected", NULL
};
static const char *const e16_ReservationStatus[] = {
	"Accepted", "Faulted", "Occupied", "Rejected", "Unavailable", NULL
};
static const char *const e16_ResetType[] = {
	"Hard", "Soft", NULL
};
static const char *const e16_SignedFirmwareStatus[] = {
	"Downloaded", "DownloadFailed", "Downloading", "DownloadScheduled",
	"DownloadPaused", "Idle", "InstallationFailed", "Installing",
	"Installed", "InstallRebooting", "InstallScheduled",
	"InstallVerificationFailed", "InvalidSignature", "SignatureVerified",
	NULL
};
static const char *const e16_TriggerMessageStatus[] = {
	"Accepted", "Rejected", "NotImplemented", NULL
};
/* "Hertz": errata v4, in MeterValues and StopTransaction alike. */
static const char *const e16_UnitOfMeasure[] = {
	"Wh", "kWh", "varh", "kvarh", "W", "kW", "VA", "kVA", "var", "kvar",
	"A", "V", "K", "Celcius", "Celsius", "Fahrenheit", "Percent", "Hertz",
	NULL
};
static const char *const e16_UnlockStatus[] = {
	"Unlocked", "UnlockFailed", "NotSupported", NULL
};
static const char *const e16_UpdateFirmwareStatus[] = {
	"Accepted", "Rejected", "AcceptedCanceled", "InvalidCertificate",
	"RevokedCertificate", NULL
};
static const char *const e16_UpdateStatus[] = {
	"Accepted", "Failed", "NotSupported", "VersionMismatch", NULL
};
static const char *const e16_UpdateType[] = {
	"Differential", "Full", NULL
};
static const char *const e16_UploadLogStatus[] = {
	"BadMessage", "Idle", "NotSupportedOperation", "PermissionDenied",
	"Uploaded", "UploadFailure", "Uploading", NULL
};
static const char *const e16_ValueFormat[] = {
	"Raw", "SignedData", NULL
};

static const struct sc_field f16_IdTagInfo[] = {
	DATETIME("expiryDate", OPT),
	STR("parentIdTag", OPT, 20),
	ENUM("status", REQ, e16_AuthorizationStatus),
	END
};

static const struct sc_field f16_AuthorizationData[] = {
	STR("idTag", REQ, 20),
	OBJ("idTagInfo", OPT, f16_IdTagInfo),
	END
};

static const struct sc_field f16_CertificateHashData[] = {
	ENUM("hashAlgorithm", REQ, e16_HashAlgorithm),
	STR("issuerNameHash", REQ, 128),
	STR("issuerKeyHash", REQ, 128),
	STR("serialNumber", REQ, 40),
	END
};

static const struct sc_field f16_ChargingSchedulePeriod[] = {
	INT("startPeriod", REQ),
	TENTHS("limit", REQ),
	INT("numberPhases", OPT),
	END
};

static const struct sc_field f16_ChargingSchedule[] = {
	INT("duration", OPT),
	DATETIME("startSchedule", OPT),
	ENUM("chargingRateUnit", REQ, e16_ChargingRateUnitType),
	OBJ("chargingSchedulePeriod", REQ_LIST(0, 0),
	    f16_ChargingSchedulePeriod),
	TENTHS("minChargingRate", OPT),
	END
};

static const struct sc_field f16_ChargingProfile[] = {
	INT("chargingProfileId", REQ),
	INT("transactionId", OPT),
	INT("stackLevel", REQ),
	ENUM("chargingProfilePurpose", REQ, e16_ChargingProfilePurposeType),
	ENUM("chargingProfileKind", REQ, e16_ChargingProfileKindType),
	ENUM("recurrencyKind", OPT, e16_RecurrencyKindType),
	DATETIME("validFrom", OPT),
	DATETIME("validTo", OPT),
	OBJ("chargingSchedule", REQ, f16_ChargingSchedule),
	END
};

static const struct sc_field f16_Firmware[] = {
	STR("location", REQ, 512),
	DATETIME("retrieveDateTime", REQ),
	DATETIME("installDateTime", OPT),
	STR("signingCertificate", REQ, 5500),
	STR("signature", REQ, 800),
	END
};

static const struct sc_field f16_KeyValue[] = {
	STR("key", REQ, 50),
	BOOL("readonly", REQ),
	STR("value", OPT, 500),
	END
};

static const struct sc_field f16_LogParameters[] = {
	STR("remoteLocation", REQ, 512),
	DATETIME("oldestTimestamp", OPT),
	DATETIME("latestTimestamp", OPT),
	END
};

static const struct sc_field f16_SampledValue[] = {
	STR("value", REQ, 0),
	ENUM("context", OPT, e16_ReadingContext),
	ENUM("format", OPT, e16_ValueFormat),
	ENUM("measurand", OPT, e16_Measurand),
	ENUM("phase", OPT, e16_Phase),
	ENUM("location", OPT, e16_Location),
	ENUM("unit", OPT, e16_UnitOfMeasure),
	END
};

static const struct sc_field f16_MeterValue[] = {
	DATETIME("timestamp", REQ),
	OBJ("sampledValue", REQ_LIST(1, 0), f16_SampledValue),
	END
};

/* StopTransaction's MeterValue: sampledValue may be empty, see schema.h. */
static const struct sc_field f16_TransactionData[] = {
	DATETIME("timestamp", REQ),
	OBJ("sampledValue", REQ_LIST(0, 0), f16_SampledValue),
	END
};

/* -------------------------------------------------- OCPP 1.6 messages */

static const struct sc_field f16_AuthorizeReq[] = {
	STR("idTag", REQ, 20),
	END
};

static const struct sc_field f16_AuthorizeConf[] = {
	OBJ("idTagInfo", REQ, f16_IdTagInfo),
	END
};

static const struct sc_field f16_BootNotificationReq[] = {
	STR("chargePointVendor", REQ, 20),
	STR("chargePointModel", REQ, 20),
	STR("chargePointSerialNumber", OPT, 25),
	STR("chargeBoxSerialNumber", OPT, 25),
	STR("firmwareVersion", OPT, 50),
	STR("iccid", OPT, 20),
	STR("imsi", OPT, 20),
	STR("meterType", OPT, 25),
	STR("meterSerialNumber", OPT, 25),
	END
};

static const struct sc_field f16_BootNotificationConf[] = {
	ENUM("status", REQ, e16_RegistrationStatus),
	DATETIME("currentTime", REQ),
	INT("interval", REQ),
	END
};

static const struct sc_field f16_CancelReservationReq[] = {
	INT("reservationId", REQ),
	END
};

static const struct sc_field f16_CancelReservationConf[] = {
	ENUM("status", REQ, e16_GenericStatus),
	END
};

static const struct sc_field f16_CertificateSignedReq[] = {
	STR("certificateChain", REQ, 10000),
	END
};

static const struct sc_field f16_CertificateSignedConf[] = {
	ENUM("status", REQ, e16_GenericStatus),
	END
};

static const struct sc_field f16_ChangeAvailabilityReq[] = {
	INT("connectorId", REQ),
	ENUM("type", REQ, e16_AvailabilityType),
	END
};

static const struct sc_field f16_ChangeAvailabilityConf[] = {
	ENUM("status", REQ, e16_AvailabilityStatus),
	END
};

static const struct sc_field f16_ChangeConfigurationReq[] = {
	STR("key", REQ, 50),
	STR("value", REQ, 500),
	END
};

static const struct sc_field f16_ChangeConfigurationConf[] = {
	ENUM("status", REQ, e16_ConfigurationStatus),
	END
};

static const struct sc_field f16_ClearCacheReq[] = { END };
static const struct sc_field f16_ClearCacheConf[] = {
	ENUM("status", REQ, e16_GenericStatus),
	END
};

static const struct sc_field f16_ClearChargingProfileReq[] = {
	INT("id", OPT),
	INT("connectorId", OPT),
	ENUM("chargingProfilePurpose", OPT, e16_ChargingProfilePurposeType),
	INT("stackLevel", OPT),
	END
};

static const struct sc_field f16_ClearChargingProfileConf[] = {
	ENUM("status", REQ, e16_ClearChargingProfileStatus),
	END
};

static const struct sc_field f16_DataTransferReq[] = {
	STR("vendorId", REQ, 255),
	STR("messageId", OPT, 50),
	STR("data", OPT, 0),
	END
};

static const struct sc_field f16_DataTransferConf[] = {
	ENUM("status", REQ, e16_DataTransferStatus),
	STR("data", OPT, 0),
	END
};

static const struct sc_field f16_DeleteCertificateReq[] = {
	OBJ("certificateHashData", REQ, f16_CertificateHashData),
	END
};

static const struct sc_field f16_DeleteCertificateConf[] = {
	ENUM("status", REQ, e16_DeleteCertificateStatus),
	END
};

static const struct sc_field f16_DiagnosticsStatusNotificationReq[] = {
	ENUM("status", REQ, e16_DiagnosticsStatus),
	END
};

static const struct sc_field f16_DiagnosticsStatusNotificationConf[] = { END };
static const struct sc_field f16_ExtendedTriggerMessageReq[] = {
	ENUM("requestedMessage", REQ, e16_ExtendedMessageTrigger),
	INT("connectorId", OPT),
	END
};

static const struct sc_field f16_ExtendedTriggerMessageConf[] = {
	ENUM("status", REQ, e16_TriggerMessageStatus),
	END
};

static const struct sc_field f16_FirmwareStatusNotificationReq[] = {
	ENUM("status", REQ, e16_FirmwareStatus),
	END
};

static const struct sc_field f16_FirmwareStatusNotificationConf[] = { END };
static const struct sc_field f16_GetCompositeScheduleReq[] = {
	INT("connectorId", REQ),
	INT("duration", REQ),
	ENUM("chargingRateUnit", OPT, e16_ChargingRateUnitType),
	END
};

static const struct sc_field f16_GetCompositeScheduleConf[] = {
	ENUM("status", REQ, e16_GenericStatus),
	INT("connectorId", OPT),
	DATETIME("scheduleStart", OPT),
	OBJ("chargingSchedule", OPT, f16_ChargingSchedule),
	END
};

static const struct sc_field f16_GetConfigurationReq[] = {
	STR("key", LIST(0, 0), 50),
	END
};

static const struct sc_field f16_GetConfigurationConf[] = {
	OBJ("configurationKey", LIST(0, 0), f16_KeyValue),
	STR("unknownKey", LIST(0, 0), 50),
	END
};

static const struct sc_field f16_GetDiagnosticsReq[] = {
	URI("location", REQ),
	INT("retries", OPT),
	INT("retryInterval", OPT),
	DATETIME("startTime", OPT),
	DATETIME("stopTime", OPT),
	END
};

static const struct sc_field f16_GetDiagnosticsConf[] = {
	STR("fileName", OPT, 255),
	END
};

static const struct sc_field f16_GetInstalledCertificateIdsReq[] = {
	ENUM("certificateType", REQ, e16_CertificateUse),
	END
};

static const struct sc_field f16_GetInstalledCertificateIdsConf[] = {
	OBJ("certificateHashData", LIST(1, 0), f16_CertificateHashData),
	ENUM("status", REQ, e16_GetInstalledCertificateStatus),
	END
};

static const struct sc_field f16_GetLocalListVersionReq[] = { END };
static const struct sc_field f16_GetLocalListVersionConf[] = {
	INT("listVersion", REQ),
	END
};

static const struct sc_field f16_GetLogReq[] = {
	OBJ("log", REQ, f16_LogParameters),
	ENUM("logType", REQ, e16_LogType),
	INT("requestId", REQ),
	INT("retries", OPT),
	INT("retryInterval", OPT),
	END
};

static const struct sc_field f16_GetLogConf[] = {
	ENUM("status", REQ, e16_LogStatus),
	STR("filename", OPT, 255),
	END
};

static const struct sc_field f16_HeartbeatReq[] = { END };
static const struct sc_field f16_HeartbeatConf[] = {
	DATETIME("currentTime", REQ),
	END
};

static const struct sc_field f16_InstallCertificateReq[] = {
	ENUM("certificateType", REQ, e16_CertificateUse),
	STR("certificate", REQ, 5500),
	END
};

static const struct sc_field f16_InstallCertificateConf[] = {
	ENUM("status", REQ, e16_InstallCertificateStatus),
	END
};

static const struct sc_field f16_LogStatusNotificationReq[] = {
	ENUM("status", REQ, e16_UploadLogStatus),
	INT("requestId", OPT),
	END
};

static const struct sc_field f16_LogStatusNotificationConf[] = { END };
static const struct sc_field f16_MeterValuesReq[] = {
	INT("connectorId", REQ),
	INT("transactionId", OPT),
	OBJ("meterValue", REQ_LIST(1, 0), f16_MeterValue),
	END
};

static const struct sc_field f16_MeterValuesConf[] = { END };
static const struct sc_field f16_RemoteStartTransactionReq[] = {
	INT("connectorId", OPT),
	STR("idTag", REQ, 20),
	OBJ("chargingProfile", OPT, f16_ChargingProfile),
	END
};

static const struct sc_field f16_RemoteStartTransactionConf[] = {
	ENUM("status", REQ, e16_GenericStatus),
	END
};

static const struct sc_field f16_RemoteStopTransactionReq[] = {
	INT("transactionId", REQ),
	END
};

static const struct sc_field f16_RemoteStopTransactionConf[] = {
	ENUM("status", REQ, e16_GenericStatus),
	END
};

static const struct sc_field f16_ReserveNowReq[] = {
	INT("connectorId", REQ),
	DATETIME("expiryDate", REQ),
	STR("idTag", REQ, 20),
	STR("parentIdTag", OPT, 20),
	INT("reservationId", REQ),
	END
};

static const struct sc_field f16_ReserveNowConf[] = {
	ENUM("status", REQ, e16_ReservationStatus),
	END
};

static const struct sc_field f16_ResetReq[] = {
	ENUM("type", REQ, e16_ResetType),
	END
};

static const struct sc_field f16_ResetConf[] = {
	ENUM("status", REQ, e16_GenericStatus),
	END
};

static const struct sc_field f16_SecurityEventNotificationReq[] = {
	STR("type", REQ, 50),
	DATETIME("timestamp", REQ),
	STR("techInfo", OPT, 255),
	END
};

static const struct sc_field f16_SecurityEventNotificationConf[] = { END };
static const struct sc_field f16_SendLocalListReq[] = {
	INT("listVersion", REQ),
	OBJ("localAuthorizationList", LIST(0, 0), f16_AuthorizationData),
	ENUM("updateType", REQ, e16_UpdateType),
	END
};

static const struct sc_field f16_SendLocalListConf[] = {
	ENUM("status", REQ, e16_UpdateStatus),
	END
};

static const struct sc_field f16_SetChargingProfileReq[] = {
	INT("connectorId", REQ),
	OBJ("csChargingProfiles", REQ, f16_ChargingProfile),
	END
};

static const struct sc_field f16_SetChargingProfileConf[] = {
	ENUM("status", REQ, e16_ChargingProfileStatus),
	END
};

static const struct sc_field f16_SignCertificateReq[] = {
	STR("csr", REQ, 5500),
	END
};

static const struct sc_field f16_SignCertificateConf[] = {
	ENUM("status", REQ, e16_GenericStatus),
	END
};

static const struct sc_field f16_SignedFirmwareStatusNotificationReq[] = {
	ENUM("status", REQ, e16_SignedFirmwareStatus),
	INT("requestId", OPT),
	END
};

static const struct sc_field f16_SignedFirmwareStatusNotificationConf[] = {
	END
};

static const struct sc_field f16_SignedUpdateFirmwareReq[] = {
	INT("retries", OPT),
	INT("retryInterval", OPT),
	INT("requestId", REQ),
	OBJ("firmware", REQ, f16_Firmware),
	END
};

static const struct sc_field f16_SignedUpdateFirmwareConf[] = {
	ENUM("status", REQ, e16_UpdateFirmwareStatus),
	END
};

static const struct sc_field f16_StartTransactionReq[] = {
	INT("connectorId", REQ),
	STR("idTag", REQ, 20),
	INT_WH("meterStart", REQ),
	INT("reservationId", OPT),
	DATETIME("timestamp", REQ),
	END
};

static const struct sc_field f16_StartTransactionConf[] = {
	OBJ("idTagInfo", REQ, f16_IdTagInfo),
	INT("transactionId", REQ),
	END
};

static const struct sc_field f16_StatusNotificationReq[] = {
	INT("connectorId", REQ),
	ENUM("errorCode", REQ, e16_ChargePointErrorCode),
	STR("info", OPT, 50),
	ENUM("status", REQ, e16_ChargePointStatus),
	DATETIME("timestamp", OPT),
	STR("vendorId", OPT, 255),
	STR("vendorErrorCode", OPT, 50),
	END
};

static const struct sc_field f16_StatusNotificationConf[] = { END };
static const struct sc_field f16_StopTransactionReq[] = {
	STR("idTag", OPT, 20),
	INT_WH("meterStop", REQ),
	DATETIME("timestamp", REQ),
	INT("transactionId", REQ),
	ENUM("reason", OPT, e16_Reason),
	OBJ("transactionData", LIST(0, 0), f16_TransactionData),
	END
};

static const struct sc_field f16_StopTransactionConf[] = {
	OBJ("idTagInfo", OPT, f16_IdTagInfo),
	END
};

static const struct sc_field f16_TriggerMessageReq[] = {
	ENUM("requestedMessage", REQ, e16_MessageTrigger),
	INT("connectorId", OPT),
	END
};

static const struct sc_field f16_TriggerMessageConf[] = {
	ENUM("status", REQ, e16_TriggerMessageStatus),
	END
};

static const struct sc_field f16_UnlockConnectorReq[] = {
	INT("connectorId", REQ),
	END
};

static const struct sc_field f16_UnlockConnectorConf[] = {
	ENUM("status", REQ, e16_UnlockStatus),
	END
};

static const struct sc_field f16_UpdateFirmwareReq[] = {
	URI("location", REQ),
	INT("retries", OPT),
	DATETIME("retrieveDate", REQ),
	INT("retryInterval", OPT),
	END
};

static const struct sc_field f16_UpdateFirmwareConf[] = { END };
static const struct sc_message msgs16[] = {
	MSG16(Authorize),
	MSG16(BootNotification),
	MSG16(CancelReservation),
	MSG16(CertificateSigned),
	MSG16(ChangeAvailability),
	MSG16(ChangeConfiguration),
	MSG16(ClearCache),
	MSG16(ClearChargingProfile),
	MSG16(DataTransfer),
	MSG16(DeleteCertificate),
	MSG16(DiagnosticsStatusNotification),
	MSG16(ExtendedTriggerMessage),
	MSG16(FirmwareStatusNotification),
	MSG16(GetCompositeSchedule),
	MSG16(GetConfiguration),
	MSG16(GetDiagnostics),
	MSG16(GetInstalledCertificateIds),
	MSG16(GetLocalListVersion),
	MSG16(GetLog),
	MSG16(Heartbeat),
	MSG16(InstallCertificate),
	MSG16(LogStatusNotification),
	MSG16(MeterValues),
	MSG16(RemoteStartTransaction),
	MSG16(RemoteStopTransaction),
	MSG16(ReserveNow),
	MSG16(Reset),
	MSG16(SecurityEventNotification),
	MSG16(SendLocalList),
	MSG16(SetChargingProfile),
	MSG16(SignCertificate),
	MSG16(SignedFirmwareStatusNotification),
	MSG16(SignedUpdateFirmware),
	MSG16(StartTransaction),
	MSG16(StatusNotification),
	MSG16(StopTransaction),
	MSG16(TriggerMessage),
	MSG16(UnlockConnector),
	MSG16(UpdateFirmware),
};

/* ------------------------------------------------------------ OCPP 2.0.1 */

static const char *const e201_APNAuthenticationEnum[] = {
	"CHAP", "NONE", "PAP", "AUTO", NULL
};
static const char *const e201_AttributeEnum[] = {
	"Actual", "Target", "MinSet", "MaxSet", NULL
};
static const char *const e201_AuthorizationStatusEnum[] = {
	"Accepted", "Blocked", "ConcurrentTx", "Expired", "Invalid",
	"NoCredit", "NotAllowedTypeEVSE", "NotAtThisLocation", "NotAtThisTime",
	"Unknown", NULL
};
static const char *const e201_AuthorizeCertificateStatusEnum[] = {
	"Accepted", "SignatureError", "CertificateExpired",
	"CertificateRevoked", "NoCertificateAvailable", "CertChainError",
	"ContractCancelled", NULL
};
static const char *const e201_BootReasonEnum[] = {
	"ApplicationReset", "FirmwareUpdate", "LocalReset", "PowerUp",
	"RemoteReset", "ScheduledReset", "Triggered", "Unknown", "Watchdog",
	NULL
};
static const char *const e201_CancelReservationStatusEnum[] = {
	"Accepted", "Rejected", NULL
};
static const char *const e201_CertificateActionEnum[] = {
	"Install", "Update", NULL
};
static const char *const e201_CertificateSignedStatusEnum[] = {
	"Accepted", "Rejected", NULL
};
static const char *const e201_CertificateSigningUseEnum[] = {
	"ChargingStationCertificate", "V2GCertificate", NULL
};
static const char *const e201_ChangeAvailabilityStatusEnum[] = {
	"Accepted", "Rejected", "Scheduled", NULL
};
static const char *const e201_ChargingLimitSourceEnum[] = {
	"EMS", "Other", "SO", "CSO", NULL
};
static const char *const e201_ChargingProfileKindEnum[] = {
	"Absolute", "Recurring", "Relative", NULL
};
static const char *const e201_ChargingProfilePurposeEnum[] = {
	"ChargingStationExternalConstraints", "ChargingStationMaxProfile",
	"TxDefaultProfile", "TxProfile", NULL
};
static const char *const e201_ChargingProfileStatusEnum[] = {
	"Accepted", "Rejected", NULL
};
static const char *const e201_ChargingRateUnitEnum[] = {
	"W", "A", NULL
};
static const char *const e201_ChargingStateEnum[] = {
	"Charging", "EVConnected", "SuspendedEV", "SuspendedEVSE", "Idle", NULL
};
static const char *const e201_ClearCacheStatusEnum[] = {
	"Accepted", "Rejected", NULL
};
static const char *const e201_ClearChargingProfileStatusEnum[] = {
	"Accepted", "Unknown", NULL
};
static const char *const e201_ClearMessageStatusEnum[] = {
	"Accepted", "Unknown", NULL
};
static const char *const e201_ClearMonitoringStatusEnum[] = {
	"Accepted", "Rejected", "NotFound", NULL
};
static const char *const e201_ComponentCriterionEnum[] = {
	"Active", "Available", "Enabled", "Problem", NULL
};
static const char *const e201_ConnectorEnum[] = {
	"cCCS1", "cCCS2", "cG105", "cTesla", "cType1", "cType2", "s309-1P-16A",
	"s309-1P-32A", "s309-3P-16A", "s309-3P-32A", "sBS1361", "sCEE-7-7",
	"sType2", "sType3", "Other1PhMax16A", "Other1PhOver16A", "Other3Ph",
	"Pan", "wInductive", "wResonant", "Undetermined", "Unknown", NULL
};
static const char *const e201_ConnectorStatusEnum[] = {
	"Available", "Occupied", "Reserved", "Unavailable", "Faulted", NULL
};
static const char *const e201_CostKindEnum[] = {
	"CarbonDioxideEmission", "RelativePricePercentage",
	"RenewableGenerationPercentage", NULL
};
static const char *const e201_CustomerInformationStatusEnum[] = {
	"Accepted", "Rejected", "Invalid", NULL
};
static const char *const e201_DataEnum[] = {
	"string", "decimal", "integer", "dateTime", "boolean", "OptionList",
	"SequenceList", "MemberList", NULL
};
static const char *const e201_DataTransferStatusEnum[] = {
	"Accepted", "Rejected", "UnknownMessageId", "UnknownVendorId", NULL
};
static const char *const e201_DeleteCertificateStatusEnum[] = {
	"Accepted", "Failed", "NotFound", NULL
};
static const char *const e201_DisplayMessageStatusEnum[] = {
	"Accepted", "NotSupportedMessageFormat", "Rejected",
	"NotSupportedPriority", "NotSupportedState", "UnknownTransaction", NULL
};
static const char *const e201_EnergyTransferModeEnum[] = {
	"DC", "AC_single_phase", "AC_two_phase", "AC_three_phase", NULL
};
static const char *const e201_EventNotificationEnum[] = {
	"HardWiredNotification", "HardWiredMonitor", "PreconfiguredMonitor",
	"CustomMonitor", NULL
};
static const char *const e201_EventTriggerEnum[] = {
	"Alerting", "Delta", "Periodic", NULL
};
static const char *const e201_FirmwareStatusEnum[] = {
	"Downloaded", "DownloadFailed", "Downloading", "DownloadScheduled",
	"DownloadPaused", "Idle", "InstallationFailed", "Installing",
	"Installed", "InstallRebooting", "InstallScheduled",
	"InstallVerificationFailed", "InvalidSignature", "SignatureVerified",
	NULL
};
static const char *const e201_GenericDeviceModelStatusEnum[] = {
	"Accepted", "Rejected", "NotSupported", "EmptyResultSet", NULL
};
static const char *const e201_GenericStatusEnum[] = {
	"Accepted", "Rejected", NULL
};
static const char *const e201_GetCertificateIdUseEnum[] = {
	"V2GRootCertificate", "MORootCertificate", "CSMSRootCertificate",
	"V2GCertificateChain", "ManufacturerRootCertificate", NULL
};
static const char *const e201_GetCertificateStatusEnum[] = {
	"Accepted", "Failed", NULL
};
static const char *const e201_GetChargingProfileStatusEnum[] = {
	"Accepted", "NoProfiles", NULL
};
static const char *const e201_GetDisplayMessagesStatusEnum[] = {
	"Accepted", "Unknown", NULL
};
static const char *const e201_GetInstalledCertificateStatusEnum[] = {
	"Accepted", "NotFound", NULL
};
static const char *const e201_GetVariableStatusEnum[] = {
	"Accepted", "Rejected", "UnknownComponent", "UnknownVariable",
	"NotSupportedAttributeType", NULL
};
static const char *const e201_HashAlgorithmEnum[] = {
	"SHA256", "SHA384", "SHA512", NULL
};
static const char *const e201_IdTokenEnum[] = {
	"Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local",
	"MacAddress", "NoAuthorization", NULL
};
static const char *const e201_InstallCertificateStatusEnum[] = {
	"Accepted", "Rejected", "Failed", NULL
};
static const char *const e201_InstallCertificateUseEnum[] = {
	"V2GRootCertificate", "MORootCertificate", "CSMSRootCertificate",
	"ManufacturerRootCertificate", NULL
};
static const char *const e201_Iso15118EVCertificateStatusEnum[] = {
	"Accepted", "Failed", NULL
};
static const char *const e201_LocationEnum[] = {
	"Body", "Cable", "EV", "Inlet", "Outlet", NULL
};
static const char *const e201_LogEnum[] = {
	"DiagnosticsLog", "SecurityLog", NULL
};
static const char *const e201_LogStatusEnum[] = {
	"Accepted", "Rejected", "AcceptedCanceled", NULL
};
static const char *const e201_MeasurandEnum[] = {
	"Current.Export", "Current.Import", "Current.Offered",
	"Energy.Active.Export.Register", "Energy.Active.Import.Register",
	"Energy.Reactive.Export.Register", "Energy.Reactive.Import.Register",
	"Energy.Active.Export.Interval", "Energy.Active.Import.Interval",
	"Energy.Active.Net", "Energy.Reactive.Export.Interval",
	"Energy.Reactive.Import.Interval", "Energy.Reactive.Net",
	"Energy.Apparent.Net", "Energy.Apparent.Import",
	"Energy.Apparent.Export", "Frequency", "Power.Active.Export",
	"Power.Active.Import", "Power.Factor", "Power.Offered",
	"Power.Reactive.Export", "Power.Reactive.Import", "SoC", "Voltage",
	NULL
};
static const char *const e201_MessageFormatEnum[] = {
	"ASCII", "HTML", "URI", "UTF8", NULL
};
static const char *const e201_MessagePriorityEnum[] = {
	"AlwaysFront", "InFront", "NormalCycle", NULL
};
static const char *const e201_MessageStateEnum[] = {
	"Charging", "Faulted", "Idle", "Unavailable", NULL
};
static const char *const e201_MessageTriggerEnum[] = {
	"BootNotification", "LogStatusNotification",
	"FirmwareStatusNotification", "Heartbeat", "MeterValues",
	"SignChargingStationCertificate", "SignV2GCertificate",
	"StatusNotification", "TransactionEvent", "SignCombinedCertificate",
	"PublishFirmwareStatusNotification", NULL
};
static const char *const e201_MonitorEnum[] = {
	"UpperThreshold", "LowerThreshold", "Delta", "Periodic",
	"PeriodicClockAligned", NULL
};
static const char *const e201_MonitoringBaseEnum[] = {
	"All", "FactoryDefault", "HardWiredOnly", NULL
};
static const char *const e201_MonitoringCriterionEnum[] = {
	"ThresholdMonitoring", "DeltaMonitoring", "PeriodicMonitoring", NULL
};
static const char *const e201_MutabilityEnum[] = {
	"ReadOnly", "WriteOnly", "ReadWrite", NULL
};
static const char *const e201_NotifyEVChargingNeedsStatusEnum[] = {
	"Accepted", "Rejected", "Processing", NULL
};
static const char *const e201_OCPPInterfaceEnum[] = {
	"Wired0", "Wired1", "Wired2", "Wired3", "Wireless0", "Wireless1",
	"Wireless2", "Wireless3", NULL
};
static const char *const e201_OCPPTransportEnum[] = {
	"JSON", "SOAP", NULL
};
static const char *const e201_OCPPVersionEnum[] = {
	"OCPP12", "OCPP15", "OCPP16", "OCPP20", NULL
};
static const char *const e201_OperationalStatusEnum[] = {
	"Inoperative", "Operative", NULL
};
static const char *const e201_PhaseEnum[] = {
	"L1", "L2", "L3", "N", "L1-N", "L2-N", "L3-N", "L1-L2", "L2-L3",
	"L3-L1", NULL
};
static const char *const e201_PublishFirmwareStatusEnum[] = {
	"Idle", "DownloadScheduled", "Downloading", "Downloaded", "Published",
	"DownloadFailed", "DownloadPaused", "InvalidChecksum",
	"ChecksumVerified", "PublishFailed", NULL
};
static const char *const e201_ReadingContextEnum[] = {
	"Interruption.Begin", "Interruption.End", "Other", "Sample.Clock",
	"Sample.Periodic", "Transaction.Begin", "Transaction.End", "Trigger",
	NULL
};
static const char *const e201_ReasonEnum[] = {
	"DeAuthorized", "EmergencyStop", "EnergyLimitReached",
	"EVDisconnected", "GroundFault", "ImmediateReset", "Local",
	"LocalOutOfCredit", "MasterPass", "Other", "OvercurrentFault",
	"PowerLoss", "PowerQuality", "Reboot", "Remote", "SOCLimitReached",
	"StoppedByEV", "TimeLimitReached", "Timeout", NULL
};
static const char *const e201_RecurrencyKindEnum[] = {
	"Daily", "Weekly", NULL
};
static const char *const e201_RegistrationStatusEnum[] = {
	"Accepted", "Pending", "Rejected", NULL
};
static const char *const e201_ReportBaseEnum[] = {
	"ConfigurationInventory", "FullInventory", "SummaryInventory", NULL
};
static const char *const e201_RequestStartStopStatusEnum[] = {
	"Accepted", "Rejected", NULL
};
static const char *const e201_ReservationUpdateStatusEnum[] = {
	"Expired", "Removed", NULL
};
static const char *const e201_ReserveNowStatusEnum[] = {
	"Accepted", "Faulted", "Occupied", "Rejected", "Unavailable", NULL
};
static const char *const e201_ResetEnum[] = {
	"Immediate", "OnIdle", NULL
};
static const char *const e201_ResetStatusEnum[] = {
	"Accepted", "Rejected", "Scheduled", NULL
};
static const char *const e201_SendLocalListStatusEnum[] = {
	"Accepted", "Failed", "VersionMismatch", NULL
};
static const char *const e201_SetMonitoringStatusEnum[] = {
	"Accepted", "UnknownComponent", "UnknownVariable",
	"UnsupportedMonitorType", "Rejected", "Duplicate", NULL
};
static const char *const e201_SetNetworkProfileStatusEnum[] = {
	"Accepted", "Rejected", "Failed", NULL
};
static const char *const e201_SetVariableStatusEnum[] = {
	"Accepted", "Rejected", "UnknownComponent", "UnknownVariable",
	"NotSupportedAttributeType", "RebootRequired", NULL
};
static const char *const e201_TransactionEventEnum[] = {
	"Ended", "Started", "Updated", NULL
};
static const char *const e201_TriggerMessageStatusEnum[] = {
	"Accepted", "Rejected", "NotImplemented", NULL
};
static const char *const e201_TriggerReasonEnum[] = {
	"Authorized", "CablePluggedIn", "ChargingRateChanged",
	"ChargingStateChanged", "Deauthorized", "EnergyLimitReached",
	"EVCommunicationLost", "EVConnectTimeout", "MeterValueClock",
	"MeterValuePeriodic", "TimeLimitReached", "Trigger", "UnlockCommand",
	"StopAuthorized", "EVDeparted", "EVDetected", "RemoteStop",
	"RemoteStart", "AbnormalCondition", "SignedDataReceived",
	"ResetCommand", NULL
};
static const char *const e201_UnlockStatusEnum[] = {
	"Unlocked", "UnlockFailed", "OngoingAuthorizedTransaction",
	"UnknownConnector", NULL
};
static const char *const e201_UnpublishFirmwareStatusEnum[] = {
	"DownloadOngoing", "NoFirmware", "Unpublished", NULL
};
static const char *const e201_UpdateEnum[] = {
	"Differential", "Full", NULL
};
static const char *const e201_UpdateFirmwareStatusEnum[] = {
	"Accepted", "Rejected", "AcceptedCanceled", "InvalidCertificate",
	"RevokedCertificate", NULL
};
static const char *const e201_UploadLogStatusEnum[] = {
	"BadMessage", "Idle", "NotSupportedOperation", "PermissionDenied",
	"Uploaded", "UploadFailure", "Uploading", "AcceptedCanceled", NULL
};
static const char *const e201_VPNEnum[] = {
	"IKEv2", "IPSec", "L2TP", "PPTP", NULL
};

static const struct sc_field f201_ACChargingParameters[] = {
	INT("energyAmount", REQ),
	INT("evMinCurrent", REQ),
	INT("evMaxCurrent", REQ),
	INT("evMaxVoltage", REQ),
	END
};

static const struct sc_field f201_APN[] = {
	STR("apn", REQ, 512),
	STR("apnUserName", OPT, 20),
	STR("apnPassword", OPT, 20),
	INT("simPin", OPT),
	STR("preferredNetwork", OPT, 6),
	BOOL("useOnlyPreferredNetwork", OPT),
	ENUM("apnAuthentication", REQ, e201_APNAuthenticationEnum),
	END
};

static const struct sc_field f201_AdditionalInfo[] = {
	STR("additionalIdToken", REQ, 36),
	STR("type", REQ, 50),
	END
};

static const struct sc_field f201_IdToken[] = {
	OBJ("additionalInfo", LIST(1, 0), f201_AdditionalInfo),
	STR("idToken", REQ, 36),
	ENUM("type", REQ, e201_IdTokenEnum),
	END
};

static const struct sc_field f201_MessageContent[] = {
	ENUM("format", REQ, e201_MessageFormatEnum),
	STR("language", OPT, 8),
	STR("content", REQ, 512),
	END
};

static const struct sc_field f201_IdTokenInfo[] = {
	ENUM("status", REQ, e201_AuthorizationStatusEnum),
	DATETIME("cacheExpiryDateTime", OPT),
	INT("chargingPriority", OPT),
	STR("language1", OPT, 8),
	INT("evseId", LIST(1, 0)),
	OBJ("groupIdToken", OPT, f201_IdToken),
	STR("language2", OPT, 8),
	OBJ("personalMessage", OPT, f201_MessageContent),
	END
};

static const struct sc_field f201_AuthorizationData[] = {
	OBJ("idToken", REQ, f201_IdToken),
	OBJ("idTokenInfo", OPT, f201_IdTokenInfo),
	END
};

static const struct sc_field f201_CertificateHashData[] = {
	ENUM("hashAlgorithm", REQ, e201_HashAlgorithmEnum),
	STR("issuerNameHash", REQ, 128),
	STR("issuerKeyHash", REQ, 128),
	STR("serialNumber", REQ, 40),
	END
};

static const struct sc_field f201_CertificateHashDataChain[] = {
	OBJ("certificateHashData", REQ, f201_CertificateHashData),
	ENUM("certificateType", REQ, e201_GetCertificateIdUseEnum),
	OBJ("childCertificateHashData", LIST(1, 4), f201_CertificateHashData),
	END
};

static const struct sc_field f201_ChargingLimit[] = {
	ENUM("chargingLimitSource", REQ, e201_ChargingLimitSourceEnum),
	BOOL("isGridCritical", OPT),
	END
};

static const struct sc_field f201_DCChargingParameters[] = {
	INT("evMaxCurrent", REQ),
	INT("evMaxVoltage", REQ),
	INT("energyAmount", OPT),
	INT("evMaxPower", OPT),
	INT_RANGE("stateOfCharge", OPT, 0, 100),
	INT("evEnergyCapacity", OPT),
	INT_RANGE("fullSoC", OPT, 0, 100),
	INT_RANGE("bulkSoC", OPT, 0, 100),
	END
};

static const struct sc_field f201_ChargingNeeds[] = {
	OBJ("acChargingParameters", OPT, f201_ACChargingParameters),
	OBJ("dcChargingParameters", OPT, f201_DCChargingParameters),
	ENUM("requestedEnergyTransfer", REQ, e201_EnergyTransferModeEnum),
	DATETIME("departureTime", OPT),
	END
};

static const struct sc_field f201_ChargingSchedulePeriod[] = {
	INT("startPeriod", REQ),
	NUM("limit", REQ),
	INT("numberPhases", OPT),
	INT("phaseToUse", OPT),
	END
};

static const struct sc_field f201_Cost[] = {
	ENUM("costKind", REQ, e201_CostKindEnum),
	INT("amount", REQ),
	INT("amountMultiplier", OPT),
	END
};

static const struct sc_field f201_ConsumptionCost[] = {
	NUM("startValue", REQ),
	OBJ("cost", REQ_LIST(1, 3), f201_Cost),
	END
};

static const struct sc_field f201_RelativeTimeInterval[] = {
	INT("start", REQ),
	INT("duration", OPT),
	END
};

static const struct sc_field f201_SalesTariffEntry[] = {
	OBJ("relativeTimeInterval", REQ, f201_RelativeTimeInterval),
	INT_GE("ePriceLevel", OPT, 0),
	OBJ("consumptionCost", LIST(1, 3), f201_ConsumptionCost),
	END
};

static const struct sc_field f201_SalesTariff[] = {
	INT("id", REQ),
	STR("salesTariffDescription", OPT, 32),
	INT("numEPriceLevels", OPT),
	OBJ("salesTariffEntry", REQ_LIST(1, 1024), f201_SalesTariffEntry),
	END
};

static const struct sc_field f201_ChargingSchedule[] = {
	INT("id", REQ),
	DATETIME("startSchedule", OPT),
	INT("duration", OPT),
	ENUM("chargingRateUnit", REQ, e201_ChargingRateUnitEnum),
	OBJ("chargingSchedulePeriod", REQ_LIST(1, 1024),
	    f201_ChargingSchedulePeriod),
	NUM("minChargingRate", OPT),
	OBJ("salesTariff", OPT, f201_SalesTariff),
	END
};

static const struct sc_field f201_ChargingProfile[] = {
	INT("id", REQ),
	INT("stackLevel", REQ),
	ENUM("chargingProfilePurpose", REQ, e201_ChargingProfilePurposeEnum),
	ENUM("chargingProfileKind", REQ, e201_ChargingProfileKindEnum),
	ENUM("recurrencyKind", OPT, e201_RecurrencyKindEnum),
	DATETIME("validFrom", OPT),
	DATETIME("validTo", OPT),
	OBJ("chargingSchedule", REQ_LIST(1, 3), f201_ChargingSchedule),
	STR("transactionId", OPT, 36),
	END
};

static const struct sc_field f201_ChargingProfileCriterion[] = {
	ENUM("chargingProfilePurpose", OPT, e201_ChargingProfilePurposeEnum),
	INT("stackLevel", OPT),
	INT("chargingProfileId", LIST(1, 0)),
	ENUM("chargingLimitSource", LIST(1, 4), e201_ChargingLimitSourceEnum),
	END
};

static const struct sc_field f201_Modem[] = {
	STR("iccid", OPT, 20),
	STR("imsi", OPT, 20),
	END
};

static const struct sc_field f201_ChargingStation[] = {
	STR("serialNumber", OPT, 25),
	STR("model", REQ, 20),
	OBJ("modem", OPT, f201_Modem),
	STR("vendorName", REQ, 50),
	STR("firmwareVersion", OPT, 50),
	END
};

static const struct sc_field f201_ClearChargingProfile[] = {
	INT("evseId", OPT),
	ENUM("chargingProfilePurpose", OPT, e201_ChargingProfilePurposeEnum),
	INT("stackLevel", OPT),
	END
};

static const struct sc_field f201_StatusInfo[] = {
	STR("reasonCode", REQ, 20),
	STR("additionalInfo", OPT, 512),
	END
};

static const struct sc_field f201_ClearMonitoringResult[] = {
	ENUM("status", REQ, e201_ClearMonitoringStatusEnum),
	INT("id", REQ),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_EVSE[] = {
	INT("id", REQ),
	INT("connectorId", OPT),
	END
};

static const struct sc_field f201_Component[] = {
	OBJ("evse", OPT, f201_EVSE),
	STR("name", REQ, 50),
	STR("instance", OPT, 50),
	END
};

static const struct sc_field f201_Variable[] = {
	STR("name", REQ, 50),
	STR("instance", OPT, 50),
	END
};

static const struct sc_field f201_ComponentVariable[] = {
	OBJ("component", REQ, f201_Component),
	OBJ("variable", OPT, f201_Variable),
	END
};

static const struct sc_field f201_CompositeSchedule[] = {
	OBJ("chargingSchedulePeriod", REQ_LIST(1, 0),
	    f201_ChargingSchedulePeriod),
	INT("evseId", REQ),
	INT("duration", REQ),
	DATETIME("scheduleStart", REQ),
	ENUM("chargingRateUnit", REQ, e201_ChargingRateUnitEnum),
	END
};

static const struct sc_field f201_EventData[] = {
	INT("eventId", REQ),
	DATETIME("timestamp", REQ),
	ENUM("trigger", REQ, e201_EventTriggerEnum),
	INT("cause", OPT),
	STR("actualValue", REQ, 2500),
	STR("techCode", OPT, 50),
	STR("techInfo", OPT, 500),
	BOOL("cleared", OPT),
	STR("transactionId", OPT, 36),
	OBJ("component", REQ, f201_Component),
	INT("variableMonitoringId", OPT),
	ENUM("eventNotificationType", REQ, e201_EventNotificationEnum),
	OBJ("variable", REQ, f201_Variable),
	END
};

static const struct sc_field f201_Firmware[] = {
	STR("location", REQ, 512),
	DATETIME("retrieveDateTime", REQ),
	DATETIME("installDateTime", OPT),
	STR("signingCertificate", OPT, 5500),
	STR("signature", OPT, 800),
	END
};

static const struct sc_field f201_GetVariableData[] = {
	ENUM("attributeType", OPT, e201_AttributeEnum),
	OBJ("component", REQ, f201_Component),
	OBJ("variable", REQ, f201_Variable),
	END
};

static const struct sc_field f201_GetVariableResult[] = {
	OBJ("attributeStatusInfo", OPT, f201_StatusInfo),
	ENUM("attributeStatus", REQ, e201_GetVariableStatusEnum),
	ENUM("attributeType", OPT, e201_AttributeEnum),
	STR("attributeValue", OPT, 2500),
	OBJ("component", REQ, f201_Component),
	OBJ("variable", REQ, f201_Variable),
	END
};

static const struct sc_field f201_LogParameters[] = {
	STR("remoteLocation", REQ, 512),
	DATETIME("oldestTimestamp", OPT),
	DATETIME("latestTimestamp", OPT),
	END
};

static const struct sc_field f201_MessageInfo[] = {
	OBJ("display", OPT, f201_Component),
	INT("id", REQ),
	ENUM("priority", REQ, e201_MessagePriorityEnum),
	ENUM("state", OPT, e201_MessageStateEnum),
	DATETIME("startDateTime", OPT),
	DATETIME("endDateTime", OPT),
	STR("transactionId", OPT, 36),
	OBJ("message", REQ, f201_MessageContent),
	END
};

static const struct sc_field f201_SignedMeterValue[] = {
	STR("signedMeterData", REQ, 2500),
	STR("signingMethod", REQ, 50),
	STR("encodingMethod", REQ, 50),
	STR("publicKey", REQ, 2500),
	END
};

static const struct sc_field f201_UnitOfMeasure[] = {
	STR("unit", OPT, 20),
	INT("multiplier", OPT),
	END
};

static const struct sc_field f201_SampledValue[] = {
	NUM("value", REQ),
	ENUM("context", OPT, e201_ReadingContextEnum),
	ENUM("measurand", OPT, e201_MeasurandEnum),
	ENUM("phase", OPT, e201_PhaseEnum),
	ENUM("location", OPT, e201_LocationEnum),
	OBJ("signedMeterValue", OPT, f201_SignedMeterValue),
	OBJ("unitOfMeasure", OPT, f201_UnitOfMeasure),
	END
};

static const struct sc_field f201_MeterValue[] = {
	OBJ("sampledValue", REQ_LIST(1, 0), f201_SampledValue),
	DATETIME("timestamp", REQ),
	END
};

static const struct sc_field f201_VariableMonitoring[] = {
	INT("id", REQ),
	BOOL("transaction", REQ),
	NUM("value", REQ),
	ENUM("type", REQ, e201_MonitorEnum),
	INT("severity", REQ),
	END
};

static const struct sc_field f201_MonitoringData[] = {
	OBJ("component", REQ, f201_Component),
	OBJ("variable", REQ, f201_Variable),
	OBJ("variableMonitoring", REQ_LIST(1, 0), f201_VariableMonitoring),
	END
};

static const struct sc_field f201_VPN[] = {
	STR("server", REQ, 512),
	STR("user", REQ, 20),
	STR("group", OPT, 20),
	STR("password", REQ, 20),
	STR("key", REQ, 255),
	ENUM("type", REQ, e201_VPNEnum),
	END
};

static const struct sc_field f201_NetworkConnectionProfile[] = {
	OBJ("apn", OPT, f201_APN),
	ENUM("ocppVersion", REQ, e201_OCPPVersionEnum),
	ENUM("ocppTransport", REQ, e201_OCPPTransportEnum),
	STR("ocppCsmsUrl", REQ, 512),
	INT("messageTimeout", REQ),
	INT("securityProfile", REQ),
	ENUM("ocppInterface", REQ, e201_OCPPInterfaceEnum),
	OBJ("vpn", OPT, f201_VPN),
	END
};

static const struct sc_field f201_OCSPRequestData[] = {
	ENUM("hashAlgorithm", REQ, e201_HashAlgorithmEnum),
	STR("issuerNameHash", REQ, 128),
	STR("issuerKeyHash", REQ, 128),
	STR("serialNumber", REQ, 40),
	STR("responderURL", REQ, 512),
	END
};

static const struct sc_field f201_VariableAttribute[] = {
	ENUM("type", OPT, e201_AttributeEnum),
	STR("value", OPT, 2500),
	ENUM("mutability", OPT, e201_MutabilityEnum),
	BOOL("persistent", OPT),
	BOOL("constant", OPT),
	END
};

static const struct sc_field f201_VariableCharacteristics[] = {
	STR("unit", OPT, 16),
	ENUM("dataType", REQ, e201_DataEnum),
	NUM("minLimit", OPT),
	NUM("maxLimit", OPT),
	STR("valuesList", OPT, 1000),
	BOOL("supportsMonitoring", REQ),
	END
};

static const struct sc_field f201_ReportData[] = {
	OBJ("component", REQ, f201_Component),
	OBJ("variable", REQ, f201_Variable),
	OBJ("variableAttribute", REQ_LIST(1, 4), f201_VariableAttribute),
	OBJ("variableCharacteristics", OPT, f201_VariableCharacteristics),
	END
};

static const struct sc_field f201_SetMonitoringData[] = {
	INT("id", OPT),
	BOOL("transaction", OPT),
	NUM("value", REQ),
	ENUM("type", REQ, e201_MonitorEnum),
	INT("severity", REQ),
	OBJ("component", REQ, f201_Component),
	OBJ("variable", REQ, f201_Variable),
	END
};

static const struct sc_field f201_SetMonitoringResult[] = {
	INT("id", OPT),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	ENUM("status", REQ, e201_SetMonitoringStatusEnum),
	ENUM("type", REQ, e201_MonitorEnum),
	OBJ("component", REQ, f201_Component),
	OBJ("variable", REQ, f201_Variable),
	INT("severity", REQ),
	END
};

static const struct sc_field f201_SetVariableData[] = {
	ENUM("attributeType", OPT, e201_AttributeEnum),
	STR("attributeValue", REQ, 1000),
	OBJ("component", REQ, f201_Component),
	OBJ("variable", REQ, f201_Variable),
	END
};

static const struct sc_field f201_SetVariableResult[] = {
	ENUM("attributeType", OPT, e201_AttributeEnum),
	ENUM("attributeStatus", REQ, e201_SetVariableStatusEnum),
	OBJ("attributeStatusInfo", OPT, f201_StatusInfo),
	OBJ("component", REQ, f201_Component),
	OBJ("variable", REQ, f201_Variable),
	END
};

static const struct sc_field f201_Transaction[] = {
	STR("transactionId", REQ, 36),
	ENUM("chargingState", OPT, e201_ChargingStateEnum),
	INT("timeSpentCharging", OPT),
	ENUM("stoppedReason", OPT, e201_ReasonEnum),
	INT("remoteStartId", OPT),
	END
};

/* -------------------------------------------------- OCPP 2.0.1 messages */

static const struct sc_field f201_AuthorizeRequest[] = {
	OBJ("idToken", REQ, f201_IdToken),
	STR("certificate", OPT, 5500),
	OBJ("iso15118CertificateHashData", LIST(1, 4), f201_OCSPRequestData),
	END
};

static const struct sc_field f201_AuthorizeResponse[] = {
	OBJ("idTokenInfo", REQ, f201_IdTokenInfo),
	ENUM("certificateStatus", OPT, e201_AuthorizeCertificateStatusEnum),
	END
};

static const struct sc_field f201_BootNotificationRequest[] = {
	OBJ("chargingStation", REQ, f201_ChargingStation),
	ENUM("reason", REQ, e201_BootReasonEnum),
	END
};

static const struct sc_field f201_BootNotificationResponse[] = {
	DATETIME("currentTime", REQ),
	INT("interval", REQ),
	ENUM("status", REQ, e201_RegistrationStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_CancelReservationRequest[] = {
	INT("reservationId", REQ),
	END
};

static const struct sc_field f201_CancelReservationResponse[] = {
	ENUM("status", REQ, e201_CancelReservationStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_CertificateSignedRequest[] = {
	STR("certificateChain", REQ, 10000),
	ENUM("certificateType", OPT, e201_CertificateSigningUseEnum),
	END
};

static const struct sc_field f201_CertificateSignedResponse[] = {
	ENUM("status", REQ, e201_CertificateSignedStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_ChangeAvailabilityRequest[] = {
	OBJ("evse", OPT, f201_EVSE),
	ENUM("operationalStatus", REQ, e201_OperationalStatusEnum),
	END
};

static const struct sc_field f201_ChangeAvailabilityResponse[] = {
	ENUM("status", REQ, e201_ChangeAvailabilityStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_ClearCacheRequest[] = { END };
static const struct sc_field f201_ClearCacheResponse[] = {
	ENUM("status", REQ, e201_ClearCacheStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_ClearChargingProfileRequest[] = {
	INT("chargingProfileId", OPT),
	OBJ("chargingProfileCriteria", OPT, f201_ClearChargingProfile),
	END
};

static const struct sc_field f201_ClearChargingProfileResponse[] = {
	ENUM("status", REQ, e201_ClearChargingProfileStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_ClearDisplayMessageRequest[] = {
	INT("id", REQ),
	END
};

static const struct sc_field f201_ClearDisplayMessageResponse[] = {
	ENUM("status", REQ, e201_ClearMessageStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_ClearVariableMonitoringRequest[] = {
	INT("id", REQ_LIST(1, 0)),
	END
};

static const struct sc_field f201_ClearVariableMonitoringResponse[] = {
	OBJ("clearMonitoringResult", REQ_LIST(1, 0),
	    f201_ClearMonitoringResult),
	END
};

static const struct sc_field f201_ClearedChargingLimitRequest[] = {
	ENUM("chargingLimitSource", REQ, e201_ChargingLimitSourceEnum),
	INT("evseId", OPT),
	END
};

static const struct sc_field f201_ClearedChargingLimitResponse[] = { END };
static const struct sc_field f201_CostUpdatedRequest[] = {
	NUM("totalCost", REQ),
	STR("transactionId", REQ, 36),
	END
};

static const struct sc_field f201_CostUpdatedResponse[] = { END };
static const struct sc_field f201_CustomerInformationRequest[] = {
	OBJ("customerCertificate", OPT, f201_CertificateHashData),
	OBJ("idToken", OPT, f201_IdToken),
	INT("requestId", REQ),
	BOOL("report", REQ),
	BOOL("clear", REQ),
	STR("customerIdentifier", OPT, 64),
	END
};

static const struct sc_field f201_CustomerInformationResponse[] = {
	ENUM("status", REQ, e201_CustomerInformationStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_DataTransferRequest[] = {
	STR("messageId", OPT, 50),
	ANY("data", OPT),
	STR("vendorId", REQ, 255),
	END
};

static const struct sc_field f201_DataTransferResponse[] = {
	ENUM("status", REQ, e201_DataTransferStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	ANY("data", OPT),
	END
};

static const struct sc_field f201_DeleteCertificateRequest[] = {
	OBJ("certificateHashData", REQ, f201_CertificateHashData),
	END
};

static const struct sc_field f201_DeleteCertificateResponse[] = {
	ENUM("status", REQ, e201_DeleteCertificateStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_FirmwareStatusNotificationRequest[] = {
	ENUM("status", REQ, e201_FirmwareStatusEnum),
	INT("requestId", OPT),
	END
};

static const struct sc_field f201_FirmwareStatusNotificationResponse[] = {
	END
};

static const struct sc_field f201_Get15118EVCertificateRequest[] = {
	STR("iso15118SchemaVersion", REQ, 50),
	ENUM("action", REQ, e201_CertificateActionEnum),
	STR("exiRequest", REQ, 5600),
	END
};

static const struct sc_field f201_Get15118EVCertificateResponse[] = {
	ENUM("status", REQ, e201_Iso15118EVCertificateStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	STR("exiResponse", REQ, 7500),
	END
};

static const struct sc_field f201_GetBaseReportRequest[] = {
	INT("requestId", REQ),
	ENUM("reportBase", REQ, e201_ReportBaseEnum),
	END
};

static const struct sc_field f201_GetBaseReportResponse[] = {
	ENUM("status", REQ, e201_GenericDeviceModelStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_GetCertificateStatusRequest[] = {
	OBJ("ocspRequestData", REQ, f201_OCSPRequestData),
	END
};

static const struct sc_field f201_GetCertificateStatusResponse[] = {
	ENUM("status", REQ, e201_GetCertificateStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	STR("ocspResult", OPT, 5500),
	END
};

static const struct sc_field f201_GetChargingProfilesRequest[] = {
	INT("requestId", REQ),
	INT("evseId", OPT),
	OBJ("chargingProfile", REQ, f201_ChargingProfileCriterion),
	END
};

static const struct sc_field f201_GetChargingProfilesResponse[] = {
	ENUM("status", REQ, e201_GetChargingProfileStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_GetCompositeScheduleRequest[] = {
	INT("duration", REQ),
	ENUM("chargingRateUnit", OPT, e201_ChargingRateUnitEnum),
	INT("evseId", REQ),
	END
};

static const struct sc_field f201_GetCompositeScheduleResponse[] = {
	ENUM("status", REQ, e201_GenericStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	OBJ("schedule", OPT, f201_CompositeSchedule),
	END
};

static const struct sc_field f201_GetDisplayMessagesRequest[] = {
	INT("id", LIST(1, 0)),
	INT("requestId", REQ),
	ENUM("priority", OPT, e201_MessagePriorityEnum),
	ENUM("state", OPT, e201_MessageStateEnum),
	END
};

static const struct sc_field f201_GetDisplayMessagesResponse[] = {
	ENUM("status", REQ, e201_GetDisplayMessagesStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_GetInstalledCertificateIdsRequest[] = {
	ENUM("certificateType", LIST(1, 0), e201_GetCertificateIdUseEnum),
	END
};

static const struct sc_field f201_GetInstalledCertificateIdsResponse[] = {
	ENUM("status", REQ, e201_GetInstalledCertificateStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	OBJ("certificateHashDataChain", LIST(1, 0),
	    f201_CertificateHashDataChain),
	END
};

static const struct sc_field f201_GetLocalListVersionRequest[] = { END };
static const struct sc_field f201_GetLocalListVersionResponse[] = {
	INT("versionNumber", REQ),
	END
};

static const struct sc_field f201_GetLogRequest[] = {
	OBJ("log", REQ, f201_LogParameters),
	ENUM("logType", REQ, e201_LogEnum),
	INT("requestId", REQ),
	INT("retries", OPT),
	INT("retryInterval", OPT),
	END
};

static const struct sc_field f201_GetLogResponse[] = {
	ENUM("status", REQ, e201_LogStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	STR("filename", OPT, 255),
	END
};

static const struct sc_field f201_GetMonitoringReportRequest[] = {
	OBJ("componentVariable", LIST(1, 0), f201_ComponentVariable),
	INT("requestId", REQ),
	ENUM("monitoringCriteria", LIST(1, 3), e201_MonitoringCriterionEnum),
	END
};

static const struct sc_field f201_GetMonitoringReportResponse[] = {
	ENUM("status", REQ, e201_GenericDeviceModelStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_GetReportRequest[] = {
	OBJ("componentVariable", LIST(1, 0), f201_ComponentVariable),
	INT("requestId", REQ),
	ENUM("componentCriteria", LIST(1, 4), e201_ComponentCriterionEnum),
	END
};

static const struct sc_field f201_GetReportResponse[] = {
	ENUM("status", REQ, e201_GenericDeviceModelStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_GetTransactionStatusRequest[] = {
	STR("transactionId", OPT, 36),
	END
};

static const struct sc_field f201_GetTransactionStatusResponse[] = {
	BOOL("ongoingIndicator", OPT),
	BOOL("messagesInQueue", REQ),
	END
};

static const struct sc_field f201_GetVariablesRequest[] = {
	OBJ("getVariableData", REQ_LIST(1, 0), f201_GetVariableData),
	END
};

static const struct sc_field f201_GetVariablesResponse[] = {
	OBJ("getVariableResult", REQ_LIST(1, 0), f201_GetVariableResult),
	END
};

static const struct sc_field f201_HeartbeatRequest[] = { END };
static const struct sc_field f201_HeartbeatResponse[] = {
	DATETIME("currentTime", REQ),
	END
};

static const struct sc_field f201_InstallCertificateRequest[] = {
	ENUM("certificateType", REQ, e201_InstallCertificateUseEnum),
	STR("certificate", REQ, 5500),
	END
};

static const struct sc_field f201_InstallCertificateResponse[] = {
	ENUM("status", REQ, e201_InstallCertificateStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_LogStatusNotificationRequest[] = {
	ENUM("status", REQ, e201_UploadLogStatusEnum),
	INT("requestId", OPT),
	END
};

static const struct sc_field f201_LogStatusNotificationResponse[] = { END };
static const struct sc_field f201_MeterValuesRequest[] = {
	INT("evseId", REQ),
	OBJ("meterValue", REQ_LIST(1, 0), f201_MeterValue),
	END
};

static const struct sc_field f201_MeterValuesResponse[] = { END };
static const struct sc_field f201_NotifyChargingLimitRequest[] = {
	OBJ("chargingSchedule", LIST(1, 0), f201_ChargingSchedule),
	INT("evseId", OPT),
	OBJ("chargingLimit", REQ, f201_ChargingLimit),
	END
};

static const struct sc_field f201_NotifyChargingLimitResponse[] = { END };
static const struct sc_field f201_NotifyCustomerInformationRequest[] = {
	STR("data", REQ, 512),
	BOOL("tbc", OPT),
	INT("seqNo", REQ),
	DATETIME("generatedAt", REQ),
	INT("requestId", REQ),
	END
};

static const struct sc_field f201_NotifyCustomerInformationResponse[] = {
	END
};

static const struct sc_field f201_NotifyDisplayMessagesRequest[] = {
	OBJ("messageInfo", LIST(1, 0), f201_MessageInfo),
	INT("requestId", REQ),
	BOOL("tbc", OPT),
	END
};

static const struct sc_field f201_NotifyDisplayMessagesResponse[] = { END };
static const struct sc_field f201_NotifyEVChargingNeedsRequest[] = {
	INT("maxScheduleTuples", OPT),
	OBJ("chargingNeeds", REQ, f201_ChargingNeeds),
	INT("evseId", REQ),
	END
};

static const struct sc_field f201_NotifyEVChargingNeedsResponse[] = {
	ENUM("status", REQ, e201_NotifyEVChargingNeedsStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_NotifyEVChargingScheduleRequest[] = {
	DATETIME("timeBase", REQ),
	OBJ("chargingSchedule", REQ, f201_ChargingSchedule),
	INT("evseId", REQ),
	END
};

static const struct sc_field f201_NotifyEVChargingScheduleResponse[] = {
	ENUM("status", REQ, e201_GenericStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_NotifyEventRequest[] = {
	DATETIME("generatedAt", REQ),
	BOOL("tbc", OPT),
	INT("seqNo", REQ),
	OBJ("eventData", REQ_LIST(1, 0), f201_EventData),
	END
};

static const struct sc_field f201_NotifyEventResponse[] = { END };
static const struct sc_field f201_NotifyMonitoringReportRequest[] = {
	OBJ("monitor", LIST(1, 0), f201_MonitoringData),
	INT("requestId", REQ),
	BOOL("tbc", OPT),
	INT("seqNo", REQ),
	DATETIME("generatedAt", REQ),
	END
};

static const struct sc_field f201_NotifyMonitoringReportResponse[] = { END };
static const struct sc_field f201_NotifyReportRequest[] = {
	INT("requestId", REQ),
	DATETIME("generatedAt", REQ),
	OBJ("reportData", LIST(1, 0), f201_ReportData),
	BOOL("tbc", OPT),
	INT("seqNo", REQ),
	END
};

static const struct sc_field f201_NotifyReportResponse[] = { END };
static const struct sc_field f201_PublishFirmwareRequest[] = {
	STR("location", REQ, 512),
	INT("retries", OPT),
	STR("checksum", REQ, 32),
	INT("requestId", REQ),
	INT("retryInterval", OPT),
	END
};

static const struct sc_field f201_PublishFirmwareResponse[] = {
	ENUM("status", REQ, e201_GenericStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_PublishFirmwareStatusNotificationRequest[] = {
	ENUM("status", REQ, e201_PublishFirmwareStatusEnum),
	STR("location", LIST(1, 0), 512),
	INT("requestId", OPT),
	END
};

static const struct sc_field
    f201_PublishFirmwareStatusNotificationResponse[] = {
	END
};

static const struct sc_field f201_ReportChargingProfilesRequest[] = {
	INT("requestId", REQ),
	ENUM("chargingLimitSource", REQ, e201_ChargingLimitSourceEnum),
	OBJ("chargingProfile", REQ_LIST(1, 0), f201_ChargingProfile),
	BOOL("tbc", OPT),
	INT("evseId", REQ),
	END
};

static const struct sc_field f201_ReportChargingProfilesResponse[] = { END };
static const struct sc_field f201_RequestStartTransactionRequest[] = {
	INT("evseId", OPT),
	OBJ("groupIdToken", OPT, f201_IdToken),
	OBJ("idToken", REQ, f201_IdToken),
	INT("remoteStartId", REQ),
	OBJ("chargingProfile", OPT, f201_ChargingProfile),
	END
};

static const struct sc_field f201_RequestStartTransactionResponse[] = {
	ENUM("status", REQ, e201_RequestStartStopStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	STR("transactionId", OPT, 36),
	END
};

static const struct sc_field f201_RequestStopTransactionRequest[] = {
	STR("transactionId", REQ, 36),
	END
};

static const struct sc_field f201_RequestStopTransactionResponse[] = {
	ENUM("status", REQ, e201_RequestStartStopStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_ReservationStatusUpdateRequest[] = {
	INT("reservationId", REQ),
	ENUM("reservationUpdateStatus", REQ, e201_ReservationUpdateStatusEnum),
	END
};

static const struct sc_field f201_ReservationStatusUpdateResponse[] = { END };
static const struct sc_field f201_ReserveNowRequest[] = {
	INT("id", REQ),
	DATETIME("expiryDateTime", REQ),
	ENUM("connectorType", OPT, e201_ConnectorEnum),
	OBJ("idToken", REQ, f201_IdToken),
	INT("evseId", OPT),
	OBJ("groupIdToken", OPT, f201_IdToken),
	END
};

static const struct sc_field f201_ReserveNowResponse[] = {
	ENUM("status", REQ, e201_ReserveNowStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_ResetRequest[] = {
	ENUM("type", REQ, e201_ResetEnum),
	INT("evseId", OPT),
	END
};

static const struct sc_field f201_ResetResponse[] = {
	ENUM("status", REQ, e201_ResetStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_SecurityEventNotificationRequest[] = {
	STR("type", REQ, 50),
	DATETIME("timestamp", REQ),
	STR("techInfo", OPT, 255),
	END
};

static const struct sc_field f201_SecurityEventNotificationResponse[] = {
	END
};

static const struct sc_field f201_SendLocalListRequest[] = {
	OBJ("localAuthorizationList", LIST(1, 0), f201_AuthorizationData),
	INT("versionNumber", REQ),
	ENUM("updateType", REQ, e201_UpdateEnum),
	END
};

static const struct sc_field f201_SendLocalListResponse[] = {
	ENUM("status", REQ, e201_SendLocalListStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_SetChargingProfileRequest[] = {
	INT("evseId", REQ),
	OBJ("chargingProfile", REQ, f201_ChargingProfile),
	END
};

static const struct sc_field f201_SetChargingProfileResponse[] = {
	ENUM("status", REQ, e201_ChargingProfileStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_SetDisplayMessageRequest[] = {
	OBJ("message", REQ, f201_MessageInfo),
	END
};

static const struct sc_field f201_SetDisplayMessageResponse[] = {
	ENUM("status", REQ, e201_DisplayMessageStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_SetMonitoringBaseRequest[] = {
	ENUM("monitoringBase", REQ, e201_MonitoringBaseEnum),
	END
};

static const struct sc_field f201_SetMonitoringBaseResponse[] = {
	ENUM("status", REQ, e201_GenericDeviceModelStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_SetMonitoringLevelRequest[] = {
	INT("severity", REQ),
	END
};

static const struct sc_field f201_SetMonitoringLevelResponse[] = {
	ENUM("status", REQ, e201_GenericStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_SetNetworkProfileRequest[] = {
	INT("configurationSlot", REQ),
	OBJ("connectionData", REQ, f201_NetworkConnectionProfile),
	END
};

static const struct sc_field f201_SetNetworkProfileResponse[] = {
	ENUM("status", REQ, e201_SetNetworkProfileStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_SetVariableMonitoringRequest[] = {
	OBJ("setMonitoringData", REQ_LIST(1, 0), f201_SetMonitoringData),
	END
};

static const struct sc_field f201_SetVariableMonitoringResponse[] = {
	OBJ("setMonitoringResult", REQ_LIST(1, 0), f201_SetMonitoringResult),
	END
};

static const struct sc_field f201_SetVariablesRequest[] = {
	OBJ("setVariableData", REQ_LIST(1, 0), f201_SetVariableData),
	END
};

static const struct sc_field f201_SetVariablesResponse[] = {
	OBJ("setVariableResult", REQ_LIST(1, 0), f201_SetVariableResult),
	END
};

static const struct sc_field f201_SignCertificateRequest[] = {
	STR("csr", REQ, 5500),
	ENUM("certificateType", OPT, e201_CertificateSigningUseEnum),
	END
};

static const struct sc_field f201_SignCertificateResponse[] = {
	ENUM("status", REQ, e201_GenericStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_StatusNotificationRequest[] = {
	DATETIME("timestamp", REQ),
	ENUM("connectorStatus", REQ, e201_ConnectorStatusEnum),
	INT("evseId", REQ),
	INT("connectorId", REQ),
	END
};

static const struct sc_field f201_StatusNotificationResponse[] = { END };
static const struct sc_field f201_TransactionEventRequest[] = {
	ENUM("eventType", REQ, e201_TransactionEventEnum),
	OBJ("meterValue", LIST(1, 0), f201_MeterValue),
	DATETIME("timestamp", REQ),
	ENUM("triggerReason", REQ, e201_TriggerReasonEnum),
	INT("seqNo", REQ),
	BOOL("offline", OPT),
	INT("numberOfPhasesUsed", OPT),
	INT("cableMaxCurrent", OPT),
	INT("reservationId", OPT),
	OBJ("transactionInfo", REQ, f201_Transaction),
	OBJ("evse", OPT, f201_EVSE),
	OBJ("idToken", OPT, f201_IdToken),
	END
};

static const struct sc_field f201_TransactionEventResponse[] = {
	NUM("totalCost", OPT),
	INT("chargingPriority", OPT),
	OBJ("idTokenInfo", OPT, f201_IdTokenInfo),
	OBJ("updatedPersonalMessage", OPT, f201_MessageContent),
	END
};

static const struct sc_field f201_TriggerMessageRequest[] = {
	OBJ("evse", OPT, f201_EVSE),
	ENUM("requestedMessage", REQ, e201_MessageTriggerEnum),
	END
};

static const struct sc_field f201_TriggerMessageResponse[] = {
	ENUM("status", REQ, e201_TriggerMessageStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_UnlockConnectorRequest[] = {
	INT("evseId", REQ),
	INT("connectorId", REQ),
	END
};

static const struct sc_field f201_UnlockConnectorResponse[] = {
	ENUM("status", REQ, e201_UnlockStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_field f201_UnpublishFirmwareRequest[] = {
	STR("checksum", REQ, 32),
	END
};

static const struct sc_field f201_UnpublishFirmwareResponse[] = {
	ENUM("status", REQ, e201_UnpublishFirmwareStatusEnum),
	END
};

static const struct sc_field f201_UpdateFirmwareRequest[] = {
	INT("retries", OPT),
	INT("retryInterval", OPT),
	INT("requestId", REQ),
	OBJ("firmware", REQ, f201_Firmware),
	END
};

static const struct sc_field f201_UpdateFirmwareResponse[] = {
	ENUM("status", REQ, e201_UpdateFirmwareStatusEnum),
	OBJ("statusInfo", OPT, f201_StatusInfo),
	END
};

static const struct sc_message msgs201[] = {
	MSG201(Authorize),
	MSG201(BootNotification),
	MSG201(CancelReservation),
	MSG201(CertificateSigned),
	MSG201(ChangeAvailability),
	MSG201(ClearCache),
	MSG201(ClearChargingProfile),
	MSG201(ClearDisplayMessage),
	MSG201(ClearVariableMonitoring),
	MSG201(ClearedChargingLimit),
	MSG201(CostUpdated),
	MSG201(CustomerInformation),
	MSG201(DataTransfer),
	MSG201(DeleteCertificate),
	MSG201(FirmwareStatusNotification),
	MSG201(Get15118EVCertificate),
	MSG201(GetBaseReport),
	MSG201(GetCertificateStatus),
	MSG201(GetChargingProfiles),
	MSG201(GetCompositeSchedule),
	MSG201(GetDisplayMessages),
	MSG201(GetInstalledCertificateIds),
	MSG201(GetLocalListVersion),
	MSG201(GetLog),
	MSG201(GetMonitoringReport),
	MSG201(GetReport),
	MSG201(GetTransactionStatus),
	MSG201(GetVariables),
	MSG201(Heartbeat),
	MSG201(InstallCertificate),
	MSG201(LogStatusNotification),
	MSG201(MeterValues),
	MSG201(NotifyChargingLimit),
	MSG201(NotifyCustomerInformation),
	MSG201(NotifyDisplayMessages),
	MSG201(NotifyEVChargingNeeds),
	MSG201(NotifyEVChargingSchedule),
	MSG201(NotifyEvent),
	MSG201(NotifyMonitoringReport),
	MSG201(NotifyReport),
	MSG201(PublishFirmware),
	MSG201(PublishFirmwareStatusNotification),
	MSG201(ReportChargingProfiles),
	MSG201(RequestStartTransaction),
	MSG201(RequestStopTransaction),
	MSG201(ReservationStatusUpdate),
	MSG201(ReserveNow),
	MSG201(Reset),
	MSG201(SecurityEventNotification),
	MSG201(SendLocalList),
	MSG201(SetChargingProfile),
	MSG201(SetDisplayMessage),
	MSG201(SetMonitoringBase),
	MSG201(SetMonitoringLevel),
	MSG201(SetNetworkProfile),
	MSG201(SetVariableMonitoring),
	MSG201(SetVariables),
	MSG201(SignCertificate),
	MSG201(StatusNotification),
	MSG201(TransactionEvent),
	MSG201(TriggerMessage),
	MSG201(UnlockConnector),
	MSG201(UnpublishFirmware),
	MSG201(UpdateFirmware),
};

/* ---------------------------------------------------------------- walk */

/* Where the walk is: a stack of steps, a member name or an array index,
 * turned into "a.b[2].c" only when a violation is recorded (most payloads
 * are valid, and formatting every step cost more than checking it). */
#define WALK_DEPTH 32

struct walk {
	bool v201;
	struct schema_error *err;	/* may be NULL */
	size_t depth;			/* steps pushed, kept or not */
	struct {
		const char *name;	/* NULL: an index */
		int index;
	} step[WALK_DEPTH];
};

/* Copy s into buf (size n > 4) for a description: quotes and backslashes
 * escaped, control characters as \xNN, cut at 40 bytes on a UTF-8
 * boundary with "..." after it. */
static const char *
quote(const char *s, char *buf, size_t n)
{
	size_t o = 0, limit = n - 4 < 40 ? n - 4 : 40;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char tmp[5];
		size_t k;

		if (*p == '"' || *p == '\\')
			k = (size_t)snprintf(tmp, sizeof(tmp), "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			k = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
		else {
			tmp[0] = (char)*p;
			k = 1;
		}
		/* stop before a character that does not fit, not inside */
		if (o + k > limit && (*p & 0xc0) != 0x80) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (o + k > n - 4)
			break;
		memcpy(buf + o, tmp, k);
		o += k;
	}
	buf[o] = '\0';
	return buf;
}

/* Enter member name, or array item index when name is NULL; returns the
 * depth before, for pop. Steps beyond WALK_DEPTH are not kept. */
static size_t
push(struct walk *w, const char *name, int index)
{
	size_t mark = w->depth;

	if (w->depth < WALK_DEPTH) {
		w->step[w->depth].name = name;
		w->step[w->depth].index = index;
	}
	w->depth++;
	return mark;
}

static void
pop(struct walk *w, size_t mark)
{
	w->depth = mark;
}

/* The path: ".name" (or "name" at the root) or "[i]" per step, names
 * quoted like a description; cut short when it does not fit. Returns its
 * length. */
static size_t
path_format(const struct walk *w, char *buf, size_t n)
{
	size_t len = 0, depth = w->depth < WALK_DEPTH ? w->depth : WALK_DEPTH;

	buf[0] = '\0';
	for (size_t i = 0; i < depth; i++) {
		size_t room = n - len;
		char q[64];
		int k = w->step[i].name != NULL ?
		    snprintf(buf + len, room, "%s%s", len > 0 ? "." : "",
		    quote(w->step[i].name, q, sizeof(q))) :
		    snprintf(buf + len, room, "[%d]", w->step[i].index);

		if (k < 0 || (size_t)k >= room)
			return n - 1;
		len += (size_t)k;
	}
	return len;
}

static int fail(struct walk *w, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record violation code at the current path; returns code. */
static int
fail(struct walk *w, int code, const char *fmt, ...)
{
	struct schema_error *e = w->err;
	va_list ap;
	int k = 0;

	if (e == NULL)
		return code;
	if (path_format(w, e->path, sizeof(e->path)) > 0)
		k = snprintf(e->description, sizeof(e->description), "%s: ",
		    e->path);
	if (k < 0 || (size_t)k >= sizeof(e->description))
		return code;
	va_start(ap, fmt);
	vsnprintf(e->description + k, sizeof(e->description) - (size_t)k,
	    fmt, ap);
	va_end(ap);
	return code;
}


/* Length in Unicode code points, as JSON Schema's maxLength counts. */
static size_t
utf8_length(const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		n += (*p & 0xc0) != 0x80;
	return n;
}

/* ----------------------------------------------------------- RFC 3986 uri */

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_unreserved(int c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '-' ||
	    c == '.' || c == '_' || c == '~';
}

static bool
is_sub_delim(int c)
{
	return c != '\0' && strchr("!$&'()*+,;=", c) != NULL;
}

static bool
is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* Skip characters of the class unreserved / pct-encoded / sub-delims plus
 * those in extra; returns where it stopped, or NULL at a bad "%". */
static const char *
uri_span(const char *p, const char *extra)
{
	for (;;) {
		if (*p == '%') {
			if (!is_hex(p[1]) || !is_hex(p[2]))
				return NULL;
			p += 3;
		} else if (*p != '\0' && (is_unreserved(*p) ||
		    is_sub_delim(*p) || strchr(extra, *p) != NULL)) {
			p++;
		} else {
			return p;
		}
	}
}

/* RFC 3986 "URI": scheme ":" hier-part [ "?" query ] [ "#" fragment ]. */
static bool
uri_valid(const char *s)
{
	const char *p = s;

	if (!is_alpha(*p))		/* scheme */
		return false;
	while (is_alpha(*p) || (*p >= '0' && *p <= '9') || *p == '+' ||
	    *p == '-' || *p == '.')
		p++;
	if (*p++ != ':')
		return false;
	if (p[0] == '/' && p[1] == '/') {
		p += 2;
		const char *end = p + strcspn(p, "/?#");
		const char *at = memchr(p, '@', (size_t)(end - p));
		if (at != NULL) {	/* userinfo */
			if (uri_span(p, ":") != at)
				return false;
			p = at + 1;
		}
		if (*p == '[') {	/* IP-literal, loosely */
			const char *q = p + 1;
			while (is_hex(*q) || *q == ':' || *q == '.' ||
			    *q == 'v' || *q == 'V')
				q++;
			if (*q != ']' || q == p + 1)
				return false;
			p = q + 1;
		} else {		/* reg-name, IPv4 included */
			p = uri_span(p, "");
			if (p == NULL)
				return false;
		}
		if (*p == ':')		/* port */
			for (p++; *p >= '0' && *p <= '9'; p++)
				;
		if (p != end)
			return false;
	}
	p = uri_span(p, ":@/");		/* the path */
	if (p != NULL && *p == '?')
		p = uri_span(p + 1, ":@/?");
	if (p != NULL && *p == '#')
		p = uri_span(p + 1, ":@/?");
	return p != NULL && *p == '\0';
}

/* ---------------------------------------------------------------- checks */

static int check_object(struct walk *w, const struct sc_field *fields,
    const cJSON *obj);

static int
check_enum(struct walk *w, const struct sc_field *f, const char *s)
{
	char list[160], q[48];
	size_t o = 0;

	for (const char *const *e = f->en; *e != NULL; e++)
		if (strcmp(*e, s) == 0)
			return SCHEMA_OK;
	list[0] = '\0';
	for (const char *const *e = f->en; *e != NULL; e++) {
		size_t k = strlen(*e) + (o > 0 ? 2 : 0);
		if (o + k + sizeof(", ...") > sizeof(list)) {
			memcpy(list + o, ", ...", 6);
			break;
		}
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
		    o > 0 ? ", " : "", *e);
	}
	return fail(w, SCHEMA_PROPERTY, "\"%s\" is not one of %s",
	    quote(s, q, sizeof(q)), list);
}

/* One value (an array element, for lists) against f. */
static int
check_value(struct walk *w, const struct sc_field *f, const cJSON *v)
{
	char q[48];
	double d;

	switch (f->kind) {
	case SK_STRING:
	case SK_DATETIME:
	case SK_URI:
	case SK_ENUM:
		if (!cJSON_IsString(v) || v->valuestring == NULL)
			return fail(w, SCHEMA_TYPE, "expected a string, got %s",
			    json_type_name(v));
		break;
	case SK_INT:
	case SK_NUM:
	case SK_TENTHS:
		if (!cJSON_IsNumber(v))
			return fail(w, SCHEMA_TYPE, "expected %s, got %s",
			    f->kind == SK_INT ? "an integer" : "a number",
			    json_type_name(v));
		break;
	case SK_BOOL:
		if (!cJSON_IsBool(v))
			return fail(w, SCHEMA_TYPE,
			    "expected a boolean, got %s", json_type_name(v));
		return SCHEMA_OK;
	case SK_OBJECT:
		if (!cJSON_IsObject(v))
			return fail(w, SCHEMA_TYPE,
			    "expected an object, got %s", json_type_name(v));
		return check_object(w, f->obj, v);
	default:			/* SK_ANY */
		return SCHEMA_OK;
	}

	const char *s = v->valuestring;
	switch (f->kind) {
	case SK_STRING:
		if (f->max_len > 0 && utf8_length(s) > f->max_len)
			return fail(w, SCHEMA_PROPERTY,
			    "string longer than %u characters",
			    (unsigned)f->max_len);
		return SCHEMA_OK;
	case SK_DATETIME: {
		int64_t ms;
		if (isotime_parse(s, &ms) != 0)
			return fail(w, SCHEMA_PROPERTY,
			    "\"%s\" is not an RFC 3339 date-time",
			    quote(s, q, sizeof(q)));
		return SCHEMA_OK;
	}
	case SK_URI:
		if (!uri_valid(s))
			return fail(w, SCHEMA_PROPERTY,
			    "\"%s\" is not a URI", quote(s, q, sizeof(q)));
		return SCHEMA_OK;
	case SK_ENUM:
		return check_enum(w, f, s);
	default:
		break;
	}

	/* Before any rule of the schema's own: a number the model cannot
	 * hold is refused here, so that no decoder has to cast one (see
	 * schema.h). cJSON reads a literal beyond a double as an infinity. */
	d = v->valuedouble;
	switch (f->kind) {
	case SK_INT:
		if (!isfinite(d))
			return fail(w, SCHEMA_PROPERTY,
			    "%.15g is outside the 32-bit range of an OCPP integer",
			    d);
		if (floor(d) != d)
			return fail(w, SCHEMA_TYPE,
			    "expected an integer, got %.15g", d);
		if (f->range & SC_WH) {
			if (d < 0 || d > SCHEMA_NUM_MAX)
				return fail(w, SCHEMA_PROPERTY, "%.15g is outside 0 "
				    "to %g (an energy register in Wh)", d,
				    SCHEMA_NUM_MAX);
			return SCHEMA_OK;
		}
		if (d < INT32_MIN || d > INT32_MAX)
			return fail(w, SCHEMA_PROPERTY,
			    "%.15g is outside the 32-bit range of an OCPP integer",
			    d);
		if ((f->range & SC_LO) && d < f->lo)
			return fail(w, SCHEMA_PROPERTY,
			    "%.15g is below the minimum %d", d, (int)f->lo);
		if ((f->range & SC_HI) && d > f->hi)
			return fail(w, SCHEMA_PROPERTY,
			    "%.15g is above the maximum %d", d, (int)f->hi);
		return SCHEMA_OK;
	default:
		break;
	}
	if (!(fabs(d) <= SCHEMA_NUM_MAX))	/* NaN and infinities too */
		return fail(w, SCHEMA_PROPERTY, "%.15g is outside %g to %g", d,
		    -SCHEMA_NUM_MAX, SCHEMA_NUM_MAX);
	switch (f->kind) {
	case SK_TENTHS: {
		/* What ocpp-rpc does too: exact multipleOf would refuse 0.3
		 * (0.3 / 0.1 = 2.9999999999999996). */
		double q10 = d / 0.1;
		if (!(fabs(round(q10) - q10) < 1e-6))
			return fail(w, SCHEMA_PROPERTY,
			    "%.15g is not a multiple of 0.1", d);
		return SCHEMA_OK;
	}
	default:			/* SK_NUM */
		return SCHEMA_OK;
	}
}

/* A property's value against f: the value itself or, for lists, an array
 * of them. */
static int
check_field(struct walk *w, const struct sc_field *f, const cJSON *v)
{
	int i = 0, n;

	if (!(f->flags & SC_LIST))
		return check_value(w, f, v);
	if (!cJSON_IsArray(v))
		return fail(w, SCHEMA_TYPE, "expected an array, got %s",
		    json_type_name(v));
	n = cJSON_GetArraySize(v);
	if (n < f->min_items)
		return fail(w, SCHEMA_OCCURRENCE,
		    "%d items, fewer than the minimum %u", n,
		    (unsigned)f->min_items);
	if (f->max_items > 0 && n > f->max_items)
		return fail(w, SCHEMA_OCCURRENCE,
		    "%d items, more than the maximum %u", n,
		    (unsigned)f->max_items);
	for (const cJSON *e = v->child; e != NULL; e = e->next, i++) {
		size_t mark = push(w, NULL, i);
		int rc = check_value(w, f, e);
		if (rc != SCHEMA_OK)
			return rc;
		pop(w, mark);
	}
	return SCHEMA_OK;
}

static const struct sc_field *
find_field(const struct sc_field *fields, const char *name)
{
	for (const struct sc_field *f = fields; f->name != NULL; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

static int
check_object(struct walk *w, const struct sc_field *fields, const cJSON *obj)
{
	const struct sc_field *f;
	size_t mark;
	int rc;

	for (f = fields; f->name != NULL; f++) {
		if ((f->flags & SC_REQ) &&
		    cJSON_GetObjectItemCaseSensitive(obj, f->name) == NULL) {
			push(w, f->name, 0);
			return fail(w, SCHEMA_OCCURRENCE,
			    "required field missing");
		}
	}
	bool open = f->flags & SC_OPEN;		/* f is the END row */

	/* Every member, duplicates included: whichever of two equal keys a
	 * reader picks, it has been checked. */
	for (const cJSON *c = obj->child; c != NULL; c = c->next) {
		const char *name = c->string != NULL ? c->string : "";
		mark = push(w, name, 0);
		if ((f = find_field(fields, name)) != NULL)
			rc = check_field(w, f, c);
		else if (open)
			rc = SCHEMA_OK;
		else if (w->v201 && strcmp(name, "customData") == 0)
			rc = check_field(w, &customdata_field, c);
		else
			rc = fail(w, SCHEMA_PROPERTY, "unknown property");
		if (rc != SCHEMA_OK)
			return rc;
		pop(w, mark);
	}
	return SCHEMA_OK;
}

/* ---------------------------------------------------------------- API */

static const struct sc_message *
find_message(enum ocpp_version v, const char *action)
{
	const struct sc_message *m;
	size_t n;

	switch (v) {
	case OCPP_V16:
		m = msgs16;
		n = sizeof(msgs16) / sizeof(msgs16[0]);
		break;
	case OCPP_V201:
		m = msgs201;
		n = sizeof(msgs201) / sizeof(msgs201[0]);
		break;
	default:
		return NULL;
	}
	if (action == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].action, action) == 0)
			return &m[i];
	return NULL;
}

int
schema_validate(enum ocpp_version v, const char *action,
    enum schema_kind kind, const cJSON *payload, struct schema_error *err)
{
	struct walk w = { .v201 = v == OCPP_V201, .err = err };
	const struct sc_message *m;
	char q[48];

	if (err != NULL) {
		err->path[0] = '\0';
		err->description[0] = '\0';
	}
	if ((m = find_message(v, action)) == NULL)
		return fail(&w, SCHEMA_UNKNOWN, "unknown action \"%s\"",
		    quote(action != NULL ? action : "", q, sizeof(q)));
	if (!cJSON_IsObject(payload))
		return fail(&w, SCHEMA_FORMAT, "payload is not a JSON object");
	return check_object(&w, kind == SCHEMA_REQUEST ? m->req : m->conf,
	    payload);
}

/* Every OCPP 2.1 action, sorted (strcmp) for bsearch. 2.1 has no message
 * tables yet; 1.6 and 2.0.1 answer from theirs. */
static const char *const actions21[] = {
	"AFRRSignal", "AdjustPeriodicEventStream", "Authorize", "BatterySwap",
	"BootNotification", "CancelReservation", "CertificateSigned",
	"ChangeAvailability", "ChangeTransactionTariff", "ClearCache",
	"ClearChargingProfile", "ClearDERControl", "ClearDisplayMessage",
	"ClearTariffs", "ClearVariableMonitoring", "ClearedChargingLimit",
	"ClosePeriodicEventStream", "CostUpdated", "CustomerInformation",
	"DataTransfer", "DeleteCertificate", "FirmwareStatusNotification",
	"Get15118EVCertificate", "GetBaseReport", "GetCertificateChainStatus",
	"GetCertificateStatus", "GetChargingProfiles", "GetCompositeSchedule",
	"GetDERControl", "GetDisplayMessages", "GetInstalledCertificateIds",
	"GetLocalListVersion", "GetLog", "GetMonitoringReport",
	"GetPeriodicEventStream", "GetReport", "GetTariffs",
	"GetTransactionStatus", "GetVariables", "Heartbeat",
	"InstallCertificate", "LogStatusNotification", "MeterValues",
	"NotifyAllowedEnergyTransfer", "NotifyChargingLimit",
	"NotifyCustomerInformation", "NotifyDERAlarm", "NotifyDERStartStop",
	"NotifyDisplayMessages", "NotifyEVChargingNeeds",
	"NotifyEVChargingSchedule", "NotifyEvent", "NotifyMonitoringReport",
	"NotifyPeriodicEventStream", "NotifyPriorityCharging", "NotifyReport",
	"NotifySettlement", "NotifyWebPaymentStarted",
	"OpenPeriodicEventStream", "PublishFirmware",
	"PublishFirmwareStatusNotification", "PullDynamicScheduleUpdate",
	"ReportChargingProfiles", "ReportDERControl", "RequestBatterySwap",
	"RequestStartTransaction", "RequestStopTransaction",
	"ReservationStatusUpdate", "ReserveNow", "Reset",
	"SecurityEventNotification", "SendLocalList", "SetChargingProfile",
	"SetDERControl", "SetDefaultTariff", "SetDisplayMessage",
	"SetMonitoringBase", "SetMonitoringLevel", "SetNetworkProfile",
	"SetVariableMonitoring", "SetVariables", "SignCertificate",
	"StatusNotification", "TransactionEvent", "TriggerMessage",
	"UnlockConnector", "UnpublishFirmware", "UpdateDynamicSchedule",
	"UpdateFirmware", "UsePriorityCharging", "VatNumberValidation",
};

static int
cmp_action(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

bool
schema_has_action(enum ocpp_version v, const char *action)
{
	if (v == OCPP_V21)
		return action != NULL && bsearch(action, actions21,
		    sizeof actions21 / sizeof *actions21, sizeof *actions21,
		    cmp_action) != NULL;
	return find_message(v, action) != NULL;
}

enum ocpp_errcode
schema_errcode(int e)
{
	switch (e) {
	case SCHEMA_OCCURRENCE:
		return OCPP_ERR_OCCURRENCE;
	case SCHEMA_TYPE:
		return OCPP_ERR_TYPE;
	case SCHEMA_PROPERTY:
		return OCPP_ERR_PROPERTY;
	case SCHEMA_FORMAT:
		return OCPP_ERR_FORMAT;
	case SCHEMA_UNKNOWN:
		return OCPP_ERR_NOT_IMPLEMENTED;
	default:
		return OCPP_ERR_OTHER;
	}
}
